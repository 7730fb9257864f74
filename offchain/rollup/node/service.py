"""Wiring: one sequencer node process = node + producer + RPC server + deposit follower + batcher.

:class:`NodeService` builds every part from the L1 addresses, the signer key and the
config, starts them in order and stops them in reverse order (the producer seals what is
pending first), which is what ``l2kit rollup node run`` does until SIGTERM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from offchain.chain.client import Chain
from offchain.chain.networks import default_confirmations
from offchain.common.health import overall
from offchain.rollup.batcher.cosign import node_cosigner
from offchain.rollup.batcher.submitter import Batcher, Cosigned
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.tx import DEFAULT_L2_CHAIN_ID
from offchain.rollup.node.config import RollupNodeConfig
from offchain.rollup.node.deposits import DepositFollower
from offchain.rollup.node.errors import BatchError
from offchain.rollup.node.eth_rpc import TokenInfo
from offchain.rollup.node.execution import Executor
from offchain.rollup.node.l1view import L1BatchView
from offchain.rollup.node.node import SequencerNode
from offchain.rollup.node.peers import CurrentSequencer, PeerSet
from offchain.rollup.node.producer import BlockProducer
from offchain.rollup.node.rpc import HttpServer, RpcApi, create_app
from offchain.rollup.node.store import NodeStore
from offchain.staking.cosigner import create_router
from offchain.staking.frost.router import create_frost_router

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from offchain.deploy import Deployment
    from offchain.governance.client import Governance

log = structlog.get_logger("rollup.service")


@dataclass
class RollupContracts:
    """Where the rollup's L1 contracts are.

    Attributes:
        chain: the L1 connection.
        state_commitment: StateCommitment address.
        bridge: L1Bridge address.
        sequencer_set: SequencerSet (ISequencerSet) address.
        da_challenge: DataAvailabilityChallenge address, if deployed.
        fraud_prover: FraudProver address, if deployed.
        sequencer_set_artifact: artifact name of the sequencer set contract.
        from_block: first L1 block to scan for events.
    """

    chain: Chain
    state_commitment: str
    bridge: str
    sequencer_set: str
    da_challenge: str | None = None
    fraud_prover: str | None = None
    sequencer_set_artifact: str = "SequencerSet"
    from_block: int = 0
    locking_pool: str | None = None
    token: str | None = None
    governor: str | None = None
    timelock: str | None = None

    @classmethod
    def from_deployment(cls, chain: Chain, dep: Deployment) -> RollupContracts:
        a = dep.addresses
        return cls(
            chain,
            a["state_commitment"],
            a["l1_bridge"],
            a["sequencer_set"],
            a.get("da_challenge"),
            a.get("fraud_prover"),
            dep.contracts.get("sequencer_set", "SequencerSet"),
            locking_pool=a.get("locking_pool"),
            token=a.get("token"),
            governor=a.get("governor"),
            timelock=a.get("timelock"),
        )

    def l1(self, sender: Any = None) -> RollupL1:
        return RollupL1(
            self.chain,
            self.state_commitment,
            self.da_challenge,
            self.fraud_prover,
            sender,
            self.from_block,
        )

    def governance(self) -> Governance | None:
        """The Governor and Timelock, if deployed (agents' automatic proposals)."""
        if self.governor is None or self.timelock is None:
            return None
        from offchain.governance.client import Governance

        return Governance(
            self.chain,
            self.chain.contract("L2KitGovernor", self.governor),
            self.chain.contract("L2KitTimelock", self.timelock),
        )

    def bridge_contract(self) -> Any:
        return self.chain.contract("L1Bridge", self.bridge)

    def seqset(self) -> Any:
        return self.chain.contract(self.sequencer_set_artifact, self.sequencer_set)

    def deposit_hash(self, count: int) -> bytes:
        return bytes(self.bridge_contract().functions.depositHashAt(count).call())


class NodeService:
    """A whole sequencer node.

    Args:
        contracts: the L1 contracts.
        signer: this sequencer's signer account (signs blocks, co-signs, sends appendBatch).
        config: node/batcher parameters (``config.node.port`` must be set when peers know it).
        storage_url: the blob store.
        l2_chain_id: the L2 chain id.
        run_batcher: also run the batch submitter (and DA responder).
        current: who is current (default: the sequencer set on L1).
        rotation: also run the staking RotationFollower (heartbeats when current, reselect a
            silent sequencer, advance epochs); needs the LockingPool deployment.
        frost_keeper: also run the FROST key keeper over the node peers' ``/frost`` (the DKG
            when L1 has no group key, resharing on every change of the active set, recovery);
            default: with ``rotation``. Needs the LockingPool deployment and ``peers``.
        censorship_watch: also run the :class:`~offchain.rollup.node.censorship.CensorshipWatch`
            (report a current sequencer that leaves an expired forced tx behind); default: with
            ``rotation``.
    """

    def __init__(
        self,
        contracts: RollupContracts,
        signer: LocalAccount,
        config: RollupNodeConfig,
        storage_url: str,
        l2_chain_id: int = DEFAULT_L2_CHAIN_ID,
        run_batcher: bool = True,
        current: CurrentSequencer | None = None,
        rotation: bool = False,
        frost_keeper: bool | None = None,
        censorship_watch: bool | None = None,
    ) -> None:
        self.contracts = contracts
        self.rotation_enabled = rotation
        self.keeper_enabled = rotation if frost_keeper is None else frost_keeper
        self.watch_enabled = rotation if censorship_watch is None else censorship_watch
        self.rotation: Any = None
        self.censorship: Any = None
        self.signer = signer
        self.config = config
        self.storage_url = storage_url
        self.l2_chain_id = l2_chain_id
        self.run_batcher = run_batcher
        self._current = current
        self.node: SequencerNode | None = None
        self.producer: BlockProducer | None = None
        self.server: HttpServer | None = None
        self.api: RpcApi | None = None
        self.deposits: DepositFollower | None = None
        self.batcher: Batcher | None = None
        self.keeper: Any = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def executor_factory(self) -> Executor:
        return Executor(self.l2_chain_id, self.contracts.state_commitment)

    def start(self) -> NodeService:
        """Start every part; on failure stop what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from offchain.storage.client import BlobClient

        cfg = self.config.node
        c = self.contracts
        data_dir = Path(cfg.data_dir)
        store = NodeStore(data_dir / "node.db")
        current = self._current or CurrentSequencer.from_l1(c.seqset(), cfg.current_ttl_ms)
        current.follow(cfg.current_follow_ms)  # L1 followed in the background, not per seal
        peers = PeerSet(self.signer.address, cfg.peers, cfg.forward_timeout_s)
        confirmations = cfg.deposit_confirmations
        if confirmations is None:
            confirmations = default_confirmations(c.chain.chain_id)
        self.deposits = DepositFollower(
            c.bridge_contract(),
            store,
            from_block=c.from_block,
            confirmations=confirmations,
            poll_interval_ms=100,
            cursor_path=data_dir / "deposits.cursor.json",
        )
        self.deposits.poll()
        self.deposits.start()
        self.node = SequencerNode(
            cfg, bytes(self.signer.key), self.executor_factory, store, current, peers, self.deposits
        )
        self.node.l1_view = L1BatchView(c.l1().sc, confirmations)
        api = self.api = RpcApi(self.node, token_info=self._token_info)
        chain_id = c.chain.chain_id
        cosigner = node_cosigner(
            self.node,
            self.signer,
            chain_id,
            c.l1(),
            c.deposit_hash,
            data_dir / "cosigned.db",
            active_signers=self._active_signers,
        )
        self.frost = self._frost(data_dir)
        routers = [create_router(cosigner), create_frost_router(self.frost, cosigner)]
        l1_sender = c.chain.sender(self.signer)  # one nonce owner for every L1 write
        if self.run_batcher:
            blobs = BlobClient(self.storage_url, timeout_s=10)
            l1 = c.l1(l1_sender)
            self.batcher = Batcher(
                self.node,
                l1,
                c.bridge_contract(),
                blobs,
                self._cosigner(chain_id),
                self.config.batcher,
                spam=self._spam_watch(l1, l1_sender),
            )
            batcher = self.batcher
            api.proof_providers["withdrawal"] = lambda p: batcher.withdrawal_proof(p[0])
        self.server = HttpServer(create_app(api, self.health, routers), cfg.host, cfg.port).start()
        self.producer = BlockProducer(self.node).start()
        if self.batcher is not None:
            self.batcher.start()
        if self.rotation_enabled or self.keeper_enabled:
            self._start_rotation(l1_sender, current)
        if self.watch_enabled:
            from offchain.rollup.node.censorship import CensorshipWatch

            self.censorship = CensorshipWatch(
                c.chain.contract("StateCommitment", c.state_commitment),
                c.bridge_contract(),
                c.seqset(),
                l1_sender,
                self.signer.address,
            ).start()
        log.info(
            "node_started", address=self.node.address, url=self.server.url, head=self.node.head
        )

    def _token_info(self, token: str) -> TokenInfo:
        """ERC-20 metadata of an L1 token, read from L1 (``eth_call`` on its L2 address)."""
        erc20 = self.contracts.chain.contract("TestToken", token).functions
        return TokenInfo(
            str(erc20.name().call()), str(erc20.symbol().call()), int(erc20.decimals().call())
        )

    def _start_rotation(self, sender: Any, current: CurrentSequencer) -> None:
        """The staking daemons: the rotation follower and / or the FROST key keeper."""
        from offchain.errors import ConfigError
        from offchain.staking.contracts import StakingContracts
        from offchain.staking.rotation import RotationFollower

        c = self.contracts
        if not (c.locking_pool and c.token):
            raise ConfigError(
                "rotation and the key keeper need the staking contracts (locking_pool, token)"
            )
        sc = StakingContracts(
            c.chain,
            c.chain.contract("L2KitToken", c.token),
            c.chain.contract("LockingPool", c.locking_pool),
            c.seqset(),
        )
        if self.rotation_enabled:
            self.rotation = RotationFollower(
                sc, sender, on_change=lambda old, new: current.invalidate()
            ).start()
        if self.keeper_enabled and self.config.node.peers:
            from offchain.staking.frost.keeper import KeeperConfig, KeyKeeper

            assert self.server is not None
            peers = {s: u for s, u in self.config.node.peers.items()}
            peers[self.signer.address] = self.server.url
            self.keeper = KeyKeeper(self.frost, sc, sender, KeeperConfig(peers=peers)).start()

    def _frost(self, data_dir: Path) -> Any:
        from offchain.staking.frost.l1 import group_key_digest
        from offchain.staking.frost.participant import FrostParticipant
        from offchain.staking.frost.store import FrostStore

        seqset = self.contracts.seqset()
        chain = self.contracts.chain

        def key_digest(x: int) -> bytes:
            version = int(seqset.functions.groupKeyVersion().call())
            return group_key_digest(chain.chain_id, seqset.address, version, x)

        return FrostParticipant(
            self.signer.address,
            bytes(self.signer.key),
            FrostStore(data_dir / "frost.sqlite"),
            key_digest=key_digest,
            l1_group_x=lambda: int(seqset.functions.groupKeyX().call()),
        )

    def _spam_watch(self, l1: RollupL1, sender: Any) -> Any:
        """Seed §11.6.1's spam check for the batcher (None when off or without governance)."""
        c = self.contracts
        gov = c.governance()
        if not self.config.batcher.propose_spam_ban or gov is None or c.token is None:
            return None
        if l1.da is None:
            return None
        from offchain.governance.auto import AutoProposer
        from offchain.rollup.batcher.spam import SpamWatch

        return SpamWatch(
            l1,
            AutoProposer(gov, sender, f"batcher {self.signer.address}"),
            self.signer.address,
            c.token,
            self.config.batcher,
        )

    def _active_signers(self) -> list[str]:
        """``SequencerSet.activeSigners()`` now: the order of the absence bitmap."""
        return [str(a) for a in self.contracts.seqset().functions.activeSigners().call()]

    def _cosigner(self, chain_id: int) -> Any:
        from offchain.staking.frost.coordinator import FrostCoordinator, publics_of
        from offchain.staking.frost.signing import to_l1_signature
        from offchain.staking.frost.wire import element_of
        from offchain.staking.signatures import CosignRequest

        seqset = self.contracts.seqset()
        timeout = self.config.batcher.signature_timeout_s
        coordinator: list[FrostCoordinator] = []

        def cosign(header: BatchHeader, digest: bytes) -> Cosigned:
            req = CosignRequest(
                chain_id,
                self.contracts.state_commitment,
                header.index,
                header.hash(),
                header.to_json(),
            )
            group_x = int(seqset.functions.groupKeyX().call())
            ks = self.frost.store.keyset_of_key(group_x) if group_x else None
            if ks is not None:
                # One FROST signature: this node coordinates the round over its peers' /frost.
                if not coordinator:
                    assert self.server is not None
                    peers = {s: u for s, u in self.config.node.peers.items()}
                    peers[self.signer.address] = self.server.url
                    coordinator.append(FrostCoordinator(peers, timeout_s=timeout))
                # Its package holds every member that answers; the bitmap marks the others.
                read: list[list[str]] = []

                def active() -> list[str]:
                    read.append(self._active_signers())
                    return read[-1]

                sig, absent = coordinator[0].sign_batch(
                    ks.session,
                    req.to_json(),
                    ks.allocation,
                    ks.threshold,
                    element_of(ks.group_key, "group key"),
                    publics_of({str(i): v for i, v in ks.publics.items()}),
                    active,
                )
                if absent and self._active_signers() != read[-1]:
                    # L1 counts the bits in its activeSigners() order at append: sign again.
                    raise BatchError(
                        "the active set changed during the signing round", "signed again; retried"
                    )
                return Cosigned([to_l1_signature(sig)], absent)
            # Only the group key's FROST signature appends (an ECDSA list never does): wait.
            if group_x == 0:
                raise BatchError(
                    "no group key on L1 yet: the set signs no batch before its first key",
                    "the key keepers' DKG installs it at start; retried",
                )
            raise BatchError(
                f"this node holds no share of the group key {hex(group_x)} on L1 yet",
                "its key keeper reshares to it (or runs the recovery DKG); retried",
            )

        return cosign

    def daemons(self) -> list[Any]:
        """The daemon loops of this node (watched by the CLI for fatal errors)."""
        return [
            self.producer,
            self.deposits,
            self.batcher,
            self.rotation,
            self.keeper,
            self.censorship,
        ]

    def health(self) -> dict[str, Any]:
        """``/health``: every part's state; ``failing`` names the parts that are down."""
        parts: dict[str, Any] = {}
        if self.node is not None:
            parts["node"] = {"head": self.node.head, "address": self.node.address}
        if self.producer is not None:
            parts["producer"] = self.producer.health()
        if self.deposits is not None:
            parts["deposits"] = self.deposits.health()
        if self.batcher is not None:
            parts["batcher"] = self.batcher.health()
        if self.rotation is not None:
            parts["rotation"] = {"health": self.rotation.part_health().to_json()}
        if self.censorship is not None:
            parts["censorship"] = self.censorship.health()
        if self.keeper is not None:
            parts["frost_keeper"] = {
                "health": self.keeper.part_health().to_json(),
                "stats": dict(self.keeper.stats),
            }
        return overall(parts)[1]

    def stop(self) -> None:
        """Stop in reverse order; the producer seals what is pending. Safe to call twice."""
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None
        if self.rotation is not None:
            self.rotation.stop()
            self.rotation = None
        if self.censorship is not None:
            self.censorship.stop()
            self.censorship = None
        if self.batcher is not None:
            self.batcher.stop()
        if self.producer is not None:
            self.producer.stop()
        if self.server is not None:
            self.server.stop()
        if self.api is not None:
            self.api.close()
            self.api = None
        if self.node is not None:
            self.node.stop()
            self.node.store.close()
        elif self.deposits is not None:
            self.deposits.stop()
        self.batcher = self.producer = self.server = self.node = self.deposits = None  # type: ignore[assignment]
