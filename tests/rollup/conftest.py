"""Fixtures for the rollup daemons: the production contracts on Anvil, a real blob store, real
nodes.

Both fixtures are the production deployment (``deploy_all``: the real LockingPool,
SequencerSet, rollup, bridge and governance), once per module, and start the storage service.
``rollup_env``: 4 sequencers, the windows these tests were written for (:func:`rollup_config`),
a group key dealt by stake and installed by the set with the ECDSA approvals of more than 2/3
of the stake (:func:`tests.helpers.prod.install_key`); each node gets its shares in its FROST
store and every batch carries one FROST signature. The rollup contracts' admin is handed by the
Timelock to ``env.owner`` (dev account 0). ``prod_env``: 4 and (slow) 21 sequencers with the
devnet windows and no key yet: the nodes run a DKG over their own ``/frost`` as soon as they
start and the set installs the key with their approvals. ``start_nodes`` starts full
sequencer nodes (node + producer + RPC + deposit follower + batcher) wired as peers; they are
stopped before the chain snapshot is reverted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import Deposit
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.chain.client import Chain
from offchain.chain.networks import default_confirmations
from offchain.config import L2KitConfig
from offchain.deploy import deploy_all
from offchain.rollup.batcher.faults import Fault
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client
from offchain.rollup.node.config import BatcherConfig, NodeConfig, RollupNodeConfig, VerifierConfig
from offchain.rollup.node.service import NodeService, RollupContracts
from offchain.rollup.verifier.daemon import Outcome, Verifier
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import group_key_digest
from offchain.staking.frost.wire import element_of
from offchain.storage.client import BlobClient
from offchain.storage.server import StorageServer
from tests.helpers.da import warm_blob_checks
from tests.helpers.frost import allocation_from_l1, as_timelock
from tests.helpers.prod import (
    WINDOWED_DA_FEE_WEI,
    ProdRollup,
    deploy_prod,
    prod_config,
    windowed_config,
)
from tests.helpers.waits import poll_until

WINDOW_S = 30
DA_WINDOW_S = 10
DA_FEE = WINDOWED_DA_FEE_WEI
FORCE_WINDOW_S = 30
FREEZE_AFTER_S = 200
N_SEQUENCERS = 4
# Handed from the Timelock to ``RollupEnv.owner`` in ``rollup_env``.
ADMIN_KEYS = ("state_commitment", "da_challenge", "fraud_prover")


def rollup_config(n: int = N_SEQUENCERS) -> L2KitConfig:
    """:func:`tests.helpers.prod.windowed_config` of ``n`` with the windows these tests were
    written for (challenge 30 s, data 10 s, forced inclusion 30 s, freeze 200 s)."""
    return windowed_config(
        n,
        challenge_s=WINDOW_S,
        da_s=DA_WINDOW_S,
        force_s=FORCE_WINDOW_S,
        freeze_after_s=FREEZE_AFTER_S,
    )


_P = rollup_config().rollup.effective(31337)
SLASH = _P.da_slash_amount  # the DA challenge's slash (staking tokens)
FRAUD_SLASH = _P.fraud_slash_amount


class ConfirmedBridge(BridgeClient):
    """A user's bridge whose deposits are then buried under the local devnet's default
    deposit confirmations (``offchain.chain.networks``): this Anvil mines only on
    transactions, so the test mines the blocks a node waits for (``evm_mine``)."""

    def _bury(self) -> None:
        for _ in range(default_confirmations(self.chain.chain_id)):
            self.chain.rpc("evm_mine")

    def deposit_eth(self, l2_recipient: str, amount_wei: int) -> Deposit:
        dep = super().deposit_eth(l2_recipient, amount_wei)
        self._bury()
        return dep

    def force_tx(self, l2_tx: bytes) -> tuple[int, int, bytes]:
        out = super().force_tx(l2_tx)
        self._bury()
        return out

    def deposit_erc20(
        self, token: str, l2_recipient: str, amount: int, approve: bool = True
    ) -> Deposit:
        dep = super().deposit_erc20(token, l2_recipient, amount, approve)
        self._bury()
        return dep


class ConfirmingVerifier(Verifier):
    """A verifier on an Anvil that mines only on transactions: before each check, the test
    mines the blocks its confirmations wait for, when a batch is appended but not yet that
    deep (``evm_mine``; no block is mined while nothing waits)."""

    def tick(self) -> list[Outcome]:
        chain = self.contracts.chain
        head = int(chain.w3.eth.block_number)
        sc = self.l1.sc.functions
        safe = max(0, head - self.confirmations)
        if int(sc.nextIndex().call()) > int(sc.nextIndex().call(block_identifier=safe)):
            for _ in range(self.confirmations):
                chain.rpc("evm_mine")
        return super().tick()


@dataclass
class RollupEnv:
    """Deployed contracts + storage; helpers to start nodes and act as users."""

    chain: Chain
    owner: LocalAccount
    signers: list[LocalAccount]
    addresses: dict[str, str]
    storage_url: str
    tmp: Path
    prod: ProdRollup
    services: list[NodeService] = field(default_factory=list)
    verifiers: list[Verifier] = field(default_factory=list)

    @property
    def contracts(self) -> RollupContracts:
        return RollupContracts.from_deployment(self.chain, self.prod.dep)

    @property
    def window_s(self) -> int:
        return self.prod.params.challenge_window_s

    @property
    def da_window_s(self) -> int:
        return self.prod.params.da_window_s

    def stake(self, signer: str) -> int:
        """``signer``'s stake on the LockingPool (wei of the staking token)."""
        return self.prod.stake(signer)

    def stake_at_deploy(self, signer: str) -> int:
        """``signer``'s stake right after the deployment."""
        pool = self.prod.c("locking_pool").functions
        return int(pool.sequencer(signer).call(block_identifier=self.prod.dep.block)[2])

    def collude_shares(self) -> list[KeyShare]:
        """A threshold of the group key's shares (what a colluding majority holds): the
        installed key's (``rollup_env``), or gathered from the running nodes (after their DKG)."""
        return self.colluding("withhold").collude_shares or []

    def sign(self, header: Any) -> list[bytes]:
        """The set's one FROST signature of ``header`` (a colluding majority's shares)."""
        from offchain.staking.frost.l1 import l1_signature

        return [l1_signature(self.collude_shares(), self.l1().digest(header))]

    def colluding(self, mode: str, **kw: Any) -> Fault:
        """A fault in ``mode`` signed by a colluding majority: a threshold of the installed
        key's shares, or of the group key's shares gathered from the running nodes."""
        x = int(self.seqset().functions.groupKeyX().call())
        if self.prod.key is not None and self.prod.key.x == x:
            return Fault(mode, collude_shares=self.prod.key.threshold_shares(), **kw)
        shares: dict[int, KeyShare] = {}
        threshold = 0
        for svc in self.services:
            ks = svc.frost.store.keyset_of_key(x)
            if ks is None:
                continue
            pk = element_of(ks.group_key, "group key")
            threshold = ks.threshold
            shares.update({i: KeyShare(i, v, pk) for i, v in ks.secrets.items()})
        assert threshold and len(shares) >= threshold, f"{len(shares)} shares of {threshold}"
        chosen = [shares[i] for i in sorted(shares)[:threshold]]
        return Fault(mode, collude_shares=chosen, **kw)

    def install_group_key(self, nodes: list[NodeService]) -> int:
        """A DKG over ``nodes``' ``/frost`` for the active set's allocation, installed on the
        set with the members' ECDSA approvals (what the key keepers do). Returns the key's x."""
        from offchain.staking.frost.coordinator import FrostCoordinator

        c = self.prod
        alloc = allocation_from_l1(c.c("locking_pool"))
        coord = FrostCoordinator({n.signer.address: n.url for n in nodes}, timeout_s=60)
        session = f"dkg-{len(self.services)}-{int(self.chain.w3.eth.block_number)}"
        res = coord.keygen(session, alloc.identifiers, alloc.threshold)
        x = int(res["group_x"], 16)
        sset = self.seqset()
        version = int(sset.functions.groupKeyVersion().call())
        digest = group_key_digest(self.chain.chain_id, sset.address, version, x)
        approvals = coord.approvals(session, x, list(alloc.identifiers), digest)
        self.chain.sender(self.owner).send(
            sset.functions.installGroupKey(x, int(res["group_y"], 16), approvals)
        )
        return x

    def l1(self, acct: LocalAccount | None = None) -> RollupL1:
        return self.contracts.l1(self.chain.sender(acct) if acct else None)

    def bridge(self, acct: LocalAccount) -> BridgeClient:
        """``acct``'s bridge; each deposit is followed by the blocks that confirm it."""
        return ConfirmedBridge(self.chain, self.addresses["l1_bridge"], self.chain.sender(acct))

    def seqset(self) -> Any:
        return self.chain.contract("SequencerSet", self.addresses["sequencer_set"])

    def govern(self, call: Any) -> None:
        """Send ``call`` from the Timelock (a governance action; impersonated on Anvil)."""
        as_timelock(self.chain, self.prod.dep, call)

    @property
    def domain(self) -> ltx.Domain:
        return ltx.Domain(
            ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(self.addresses["state_commitment"])
        )

    def start_nodes(
        self,
        signers: list[LocalAccount],
        batcher: BatcherConfig | None = None,
        block_time_ms: int = 100,
        deposit_confirmations: int | None = None,
        censorship_watch: bool = False,
        frost_keeper: bool = False,
    ) -> list[NodeService]:
        ports = {s.address.lower(): free_port() for s in signers}
        peers = {s: f"http://127.0.0.1:{p}/" for s, p in ports.items()}
        out = []
        extra: dict[str, Any] = (
            {"deposit_confirmations": deposit_confirmations}
            if deposit_confirmations is not None
            else {}
        )
        key = self.prod.key
        for s in signers:
            d = Path(tempfile.mkdtemp(dir=self.tmp))
            if key is not None:
                key.give_share(s.address, d)  # the installed key (on L1 since deployment)
            cfg = RollupNodeConfig(
                node=NodeConfig(
                    port=ports[s.address.lower()],
                    data_dir=str(d),
                    block_time_ms=block_time_ms,
                    peers=peers,
                    **extra,
                ),
                batcher=batcher
                or BatcherConfig(max_batch_txs=50, batch_timeout_ms=500, poll_interval_ms=100),
            )
            svc = NodeService(
                self.contracts,
                s,
                cfg,
                self.storage_url,
                censorship_watch=censorship_watch,
                frost_keeper=frost_keeper,
            ).start()
            self.services.append(svc)
            out.append(svc)
        if not int(self.seqset().functions.groupKeyX().call()):
            self.install_group_key(out)  # prod_env: no key yet, the nodes' DKG
        return out

    def stop_nodes(self) -> None:
        while self.verifiers:
            self.verifiers.pop().stop()
        while self.services:
            self.services.pop().stop()

    def start_verifier(
        self,
        account: LocalAccount,
        storage_url: str | None = None,
        snapshot_dir: Path | None = None,
        run: bool = False,
        data_dir: Path | None = None,
    ) -> Verifier:
        """A verifier; ``storage_url`` defaults to the live blob store (a dead URL: "down")."""
        d = data_dir or Path(tempfile.mkdtemp(dir=self.tmp))
        cfg = VerifierConfig(
            data_dir=str(d), snapshot_dir=str(snapshot_dir or d / "snap"), poll_interval_ms=100
        )
        v = ConfirmingVerifier(
            self.contracts, account, BlobClient(storage_url or self.storage_url, timeout_s=2), cfg
        )
        self.verifiers.append(v)
        return v.start() if run else v

    def warp(self, seconds: int) -> None:
        self.chain.rpc("evm_increaseTime", seconds)
        self.chain.rpc("evm_mine")


def deploy_rollup(
    chain: Chain, n: int = N_SEQUENCERS, config: L2KitConfig | None = None
) -> ProdRollup:
    """``deploy_all`` with ``n`` sequencers and these tests' windows (``config``, default
    :func:`rollup_config`), a group key installed by the set, and the rollup contracts' admin
    handed by the Timelock to dev account 0."""
    prod = deploy_prod(chain, n, config or rollup_config(n))
    for key in ADMIN_KEYS:
        as_timelock(
            chain, prod.dep, prod.c(key).functions.transferOwnership(dev_account(0).address)
        )
    return prod


def signers_of(prod: ProdRollup) -> list[LocalAccount]:
    """The sequencers: the current one first, then the others by address."""
    current = prod.current()
    rest = sorted(
        (a for a in prod.keys.values() if a.address != current.address),
        key=lambda a: int(a.address, 16),
    )
    return [current, *rest]


def with_storage(prod: ProdRollup) -> Iterator[tuple[ProdRollup, str, Path]]:
    """``prod`` with a running blob store and a scratch directory (a module fixture's body)."""
    with tempfile.TemporaryDirectory(prefix="l2kit-rollup-") as tmp:
        storage = StorageServer(Path(tmp) / "blobs").start()
        try:
            yield prod, storage.url, Path(tmp)
        finally:
            storage.stop()


@pytest.fixture(scope="module")
def rollup_base(chain: Chain) -> Iterator[tuple[ProdRollup, str, Path]]:
    yield from with_storage(deploy_rollup(chain))


@pytest.fixture(scope="module")
def blob_ready(chain: Chain) -> None:
    """For modules whose nodes answer Storage-mode data requests (blob transactions) within
    the 10 s data window: Anvil's first blob transaction loads its KZG settings first."""
    warm_blob_checks(chain)


def env_of(chain: Chain, base: tuple[ProdRollup, str, Path]) -> Iterator[RollupEnv]:
    """A :class:`RollupEnv` over a module's deployment; its nodes are stopped afterwards."""
    prod, url, tmp = base
    env = RollupEnv(chain, dev_account(0), signers_of(prod), prod.addresses, url, tmp, prod)
    try:
        yield env
    finally:
        env.stop_nodes()


@pytest.fixture
def rollup_env(chain: Chain, rollup_base: Any) -> Iterator[RollupEnv]:
    """The production deployment's rollup with a key installed: ``signers[0]`` is current."""
    yield from env_of(chain, rollup_base)


@pytest.fixture(
    scope="module", params=[4, pytest.param(21, marks=pytest.mark.slow)], ids=lambda n: f"{n}seq"
)
def prod_base(
    chain: Chain, request: pytest.FixtureRequest
) -> Iterator[tuple[ProdRollup, str, Path]]:
    """``deploy_all`` with 4 / 21 sequencers (no group key yet: the nodes' DKG installs it)."""
    cfg = prod_config(int(request.param))
    dep = deploy_all(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
    keys = {str(a.address): a for a in map(dev_account, cfg.staking.devnet_sequencer_accounts)}
    prod = ProdRollup(chain, dep, cfg, [], keys)
    with tempfile.TemporaryDirectory(prefix="l2kit-prod-") as tmp:
        storage = StorageServer(Path(tmp) / "blobs").start()
        try:
            yield prod, storage.url, Path(tmp)
        finally:
            storage.stop()


@pytest.fixture
def prod_env(chain: Chain, prod_base: Any) -> Iterator[RollupEnv]:
    """The production deployment's rollup: ``signers[0]`` is the current sequencer."""
    prod, url, tmp = prod_base
    current = prod.current()
    signers = [current, *(a for a in prod.keys.values() if a.address != current.address)]
    env = RollupEnv(chain, dev_account(0), signers, prod.addresses, url, tmp, prod)
    try:
        yield env
    finally:
        env.stop_nodes()


def wait_until(cond: Callable[[], Any], timeout_s: float = 20.0, what: str = "condition") -> Any:
    """Poll ``cond`` until truthy (returns it) or fail the test after ``timeout_s``; an error
    ``cond`` raises means "not yet" (the last one is reported)."""
    return poll_until(cond, timeout_s, what, ignore=Exception)


def client(svc: NodeService) -> L2Client:
    return L2Client(svc.url)
