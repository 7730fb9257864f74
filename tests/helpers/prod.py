"""The production deployment for tests: ``deploy_all`` (real LockingPool, SequencerSet,
governance) with ``n`` sequencers, and a model of what the real contracts do on a punishment.

- :func:`prod_config`: the devnet configuration with ``n`` locked sequencers (dev accounts that
  play no other role in the tests, varied stakes);
- :class:`ProdRollup`: the deployment, a FROST group key dealt and installed on the set with the
  ECDSA approvals of more than 2/3 of the stake (:func:`install_key`: the form the DKG produces,
  as :func:`offchain.staking.frost.l1.install_dealt_key`; :class:`InstalledKey` gives each
  node its share), and the L1 views the fault tests use (append a batch signed by the set, the
  current sequencer's account); :func:`deploy_prod` deploys it, :func:`keyed_rollup` keys an
  existing deployment (a :class:`offchain.devnet.Devnet`'s);
- :func:`expected_next`: the sequencer ``SequencerSet`` must rotate to after kicking one,
  computed from the pre-punishment state by an independent model of the draw;
- :func:`assert_slashed`: the LockingPool's books after a punishment, from the parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.common.hashing import keccak
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.l1.config import RollupParams
from offchain.rollup.ledger.batch import BatchHeader
from offchain.staking.frost.group import random_scalar
from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen
from offchain.staking.frost.l1 import group_key_digest, l1_signature, make_even
from offchain.staking.frost.store import FrostStore, KeySet
from offchain.staking.frost.weights import Allocation, allocate
from offchain.staking.frost.wire import element_hex
from offchain.staking.signatures import active_stakes, order_signatures, sign_digest, stake_quorum
from tests.helpers.rollup import BatchAppender

# Dev accounts free of every other role in the suites (deployer 0, voters 5-7, users 10-16,
# fee recipient 20, verifiers 30-36): the first ``n`` are the sequencers.
SEQUENCER_ACCOUNTS = (1, 2, 3, 4, 8, 9, 17, 18, 19, *range(21, 30), 37, 38, 39)
SET_SIZES = (4, 21)  # the devnet's set and the configured maximum (staking.max_sequencers)
KICKED = 3  # LockingPool.Status.Kicked
BPS = 10_000
ZERO = "0x" + "00" * 20


def prod_config(n: int) -> L2KitConfig:
    """The devnet configuration with ``n`` sequencers locked by ``deploy_all``.

    Four: the devnet's default stakes (20,000..50,000 tokens). More: stakes from the minimum
    lock up in steps of 5,000 tokens (1 or 2 FROST shares each).
    """
    if not 1 <= n <= len(SEQUENCER_ACCOUNTS):
        raise ValueError(f"{n} sequencers: between 1 and {len(SEQUENCER_ACCOUNTS)}")
    cfg = L2KitConfig()
    st = cfg.staking
    st.devnet_epoch_length_s = 600  # no epoch boundary inside a test unless it warps there
    # Windows that a loaded machine running 21 nodes does not outrun (tests warp past them).
    cfg.rollup.devnet_challenge_window_s = 120
    cfg.rollup.devnet_da_window_s = 60
    st.devnet_sequencer_accounts = list(SEQUENCER_ACCOUNTS[:n])
    if n != 4:
        st.devnet_stakes_tokens = [st.min_lock_tokens + 5_000 * (i % 5) for i in range(n)]
    return cfg


WINDOWED_DA_FEE_WEI = 10**16  # the flat data-request bond of windowed_config


def windowed_config(
    n: int, *, challenge_s: int, da_s: int, force_s: int = 30, freeze_after_s: int = 200
) -> L2KitConfig:
    """:func:`prod_config` of ``n`` with a suite's own windows (challenge, data, forced
    inclusion, freeze) and a flat data-request bond of 0.01 ETH (``da_fee_per_tx_wei`` 0)."""
    cfg = prod_config(n)
    r = cfg.rollup
    r.devnet_challenge_window_s = challenge_s
    r.devnet_da_window_s = da_s
    r.devnet_force_inclusion_window_s = force_s
    r.devnet_freeze_after_s = freeze_after_s
    r.da_fee_wei = WINDOWED_DA_FEE_WEI
    r.da_fee_per_tx_wei = 0
    return cfg


@dataclass(frozen=True)
class InstalledKey:
    """A group key dealt to the active set by stake (``weights.allocate``: 3 shares per
    member, apportioned by largest remainder) and installed on the SequencerSet: every share,
    for the nodes' FROST stores.

    Attributes:
        allocation: signer address -> identifiers, and the threshold.
        shares: every share, by identifier.
    """

    allocation: Allocation
    shares: list[KeyShare]

    @property
    def x(self) -> int:
        return int(self.shares[0].group_public_key.xy()[0])

    def threshold_shares(self) -> list[KeyShare]:
        """The lowest identifiers' shares, a threshold of them (a colluding majority)."""
        return self.shares[: self.allocation.threshold]

    def give_share(self, signer: str, data_dir: str | Path) -> None:
        """Store ``signer``'s shares in the node store at ``data_dir`` (``frost.sqlite``), as a
        finished key generation would (the node then signs batches over ``/frost``)."""
        ids = self.allocation.identifiers
        mine = next((v for a, v in ids.items() if a.lower() == signer.lower()), ())
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        store = FrostStore(Path(data_dir) / "frost.sqlite")
        try:
            store.save_keyset(
                KeySet(
                    "dealt-1",
                    hex(self.x),
                    element_hex(self.shares[0].group_public_key),
                    self.allocation.threshold,
                    {a: list(v) for a, v in ids.items()},
                    {s.identifier: element_hex(s.public) for s in self.shares},
                    {s.identifier: s.secret for s in self.shares if s.identifier in mine},
                )
            )
        finally:
            store.close()


def install_key(chain: Chain, seqset: Any, keys: Mapping[str, LocalAccount]) -> InstalledKey:
    """Deal a group key to the active set and install it through ``installGroupKey`` with the
    ECDSA approvals of the first signers (by address) holding more than 2/3 of the active stake
    (what the key keepers do after a DKG; sent by dev account 0)."""
    stakes = active_stakes(seqset)
    alloc = allocate(dict(stakes))
    dealt, _ = trusted_dealer_keygen(random_scalar(), alloc.total, alloc.threshold)
    pk, secrets = make_even(dealt[0].group_public_key, {d.identifier: d.secret for d in dealt})
    x, y = pk.xy()
    version = int(seqset.functions.groupKeyVersion().call())
    kd = group_key_digest(chain.chain_id, seqset.address, version, x)
    quorum = stake_quorum(stakes, sorted(keys, key=lambda a: int(a, 16)))
    approvals = order_signatures({a: sign_digest(keys[a], kd) for a in quorum})
    chain.sender(dev_account(0)).send(seqset.functions.installGroupKey(x, y, approvals))
    shares = [KeyShare(i, secrets[i], pk) for i in alloc.all_identifiers()]
    return InstalledKey(alloc, shares)


@dataclass
class ProdRollup(BatchAppender):
    """``deploy_all`` with a dealt FROST key on the set: the L1 the fault tests run against.

    Attributes:
        shares: a threshold of the group key's shares (what a colluding majority holds).
        keys: signer address -> account, for every sequencer locked at deployment.
        key: the installed key with every share (``None``: the nodes' DKG installs one).
    """

    chain: Chain
    dep: Deployment
    config: L2KitConfig
    shares: list[KeyShare]
    keys: dict[str, LocalAccount] = field(default_factory=dict)
    key: InstalledKey | None = None

    @property
    def addresses(self) -> dict[str, str]:
        return self.dep.addresses

    @property
    def params(self) -> RollupParams:
        return self.config.rollup.effective(self.chain.chain_id)

    def c(self, key: str) -> Any:
        """The deployed contract under ``key``."""
        return self.dep.contract(self.chain, key)

    def contract(self, name: str, key: str) -> Any:
        return self.chain.contract(name, self.addresses[key])

    def sc(self, acct: LocalAccount) -> RollupL1:
        return RollupL1.from_deployment(self.chain, self.dep, self.chain.sender(acct))

    def bridge(self, acct: LocalAccount) -> BridgeClient:
        return BridgeClient(self.chain, self.addresses["l1_bridge"], self.chain.sender(acct))

    def current(self) -> LocalAccount:
        return self.keys[self.c("sequencer_set").functions.currentSequencer().call()]

    def sign(self, header: BatchHeader) -> list[bytes]:
        """The set's one FROST signature over the header's batch digest."""
        return [l1_signature(self.shares, self.sc(self.current()).digest(header))]

    def stake(self, signer: str) -> int:
        return int(self.c("locking_pool").functions.sequencer(signer).call()[2])


def deploy_prod(chain: Chain, n: int, config: L2KitConfig | None = None) -> ProdRollup:
    """``deploy_all`` with ``n`` sequencers and a dealt group key installed by the set.

    Args:
        chain: the L1.
        n: the number of sequencers.
        config: the configuration (default :func:`prod_config` of ``n``; its staking
            accounts must be ``n`` of :data:`SEQUENCER_ACCOUNTS`).

    Raises:
        AssertionError: the set does not have the ``n`` active sequencers.
    """
    cfg = config or prod_config(n)
    dep = deploy_all(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
    return keyed_rollup(chain, dep, cfg)


def keyed_rollup(chain: Chain, dep: Deployment, config: L2KitConfig) -> ProdRollup:
    """A ``deploy_all`` deployment made with ``config`` (e.g. a :class:`offchain.devnet.Devnet`'s)
    with a dealt group key installed by the set (:func:`install_key`).

    Raises:
        AssertionError: the set's active sequencers are not the configured ones.
    """
    accounts = config.staking.devnet_sequencer_accounts
    keys = {str(a.address): a for a in map(dev_account, accounts)}
    seqset = dep.contract(chain, "sequencer_set")
    active = list(seqset.functions.activeSigners().call())
    assert sorted(active) == sorted(keys), f"{len(active)} active sequencers, wanted {len(keys)}"
    key = install_key(chain, seqset, keys)
    return ProdRollup(chain, dep, config, key.threshold_shares(), keys, key)


def expected_next(prod: ProdRollup, punished: str, rcpt: Any) -> str:
    """Who ``SequencerSet`` must draw when the punishment in ``rcpt`` kicked the current
    sequencer ``punished``: an independent model of ``LockingPool.kick`` + ``_rotate``.

    Inputs are the state before the transaction (block ``rcpt.blockNumber - 1``; Anvil mines
    one transaction per block): the draw set (``drawSet(drawCommitBlock())``), the epoch and
    round and the seed block. The model removes ``punished`` the way the pool does (the last
    member moves into its place), derives the seed ``keccak(abi.encode(h, epoch, round))``
    with ``h`` the seed block's hash (the previous block's while the seed block is not mined
    yet) and walks the cumulative stakes to ``seed % total``.
    """
    pre = int(rcpt["blockNumber"]) - 1
    sset = prod.c("sequencer_set").functions
    commit = int(sset.drawCommitBlock().call(block_identifier=pre))
    signers, weights = prod.c("locking_pool").functions.drawSet(commit).call(block_identifier=pre)
    signers, weights = list(signers), [int(w) for w in weights]
    pos = signers.index(punished)
    signers[pos], weights[pos] = signers[-1], weights[-1]
    signers.pop()
    weights.pop()
    info = sset.epochInfo().call(block_identifier=pre)
    epoch, round_, seed_block = int(info[0]), int(info[1]), int(info[6])
    at = seed_block if seed_block < int(rcpt["blockNumber"]) else int(rcpt["blockNumber"]) - 1
    h = bytes(prod.chain.w3.eth.get_block(at)["hash"])
    r = int.from_bytes(keccak(abi_encode(["bytes32", "uint256", "uint256"], [h, epoch, round_])))
    r %= sum(weights)
    for s, w in zip(signers, weights, strict=True):
        if r < w:
            return str(s)
        r -= w
    raise AssertionError("unreachable: r < total")


def assert_punished(
    prod: ProdRollup,
    seq: str,
    beneficiary: str | None,
    slash: int,
    stake0: int | None,
    rcpt: Any,
    rotated: bool = True,
) -> int:
    """``seq`` (stake ``stake0`` before; ``None``: read from the block before ``rcpt``) was
    slashed ``min(slash, stake0)`` in the punishment ``rcpt``: the beneficiary credited
    ``slashBeneficiaryBps`` of it (nothing without one), the rest queued for burning, the stake
    kicked out of the active set, and the set rotated to :func:`expected_next` (``rotated``;
    else ``seq`` was no longer current, and the punishment rotated nobody). Returns the
    amount credited.
    """
    pool = prod.c("locking_pool")
    if stake0 is None:
        pre = int(rcpt["blockNumber"]) - 1
        stake0 = int(pool.functions.sequencer(seq).call(block_identifier=pre)[2])
    slashed = min(slash, stake0)
    paid = slashed * prod.config.staking.slash_beneficiary_bps // BPS if beneficiary else 0
    (ev,) = pool.events.Slashed().process_receipt(rcpt, errors=DISCARD)
    assert ev.args.beneficiary == (beneficiary or ZERO), ev.args
    assert (ev.args.signer, ev.args.slashed, ev.args.paid, ev.args.burned) == (
        seq,
        slashed,
        paid,
        slashed - paid,
    ), ev.args
    assert prod.stake(seq) == stake0 - slashed  # nothing else moved it since (a later slash)
    assert pool.functions.statusOf(seq).call() == KICKED
    sset = prod.c("sequencer_set")
    assert seq not in sset.functions.activeSigners().call()
    if not rotated:
        assert not sset.events.SequencerRotated().process_receipt(rcpt, errors=DISCARD)
        assert sset.functions.currentSequencer().call() != seq
        return paid
    (rot,) = sset.events.SequencerRotated().process_receipt(rcpt, errors=DISCARD)
    nxt = expected_next(prod, seq, rcpt)
    assert (rot.args.previous, rot.args.next) == (seq, nxt), rot.args
    assert sset.functions.currentSequencer().call() == nxt
    return paid


def punishment_receipt(prod: ProdRollup, seq: str) -> Any:
    """The receipt of the (only) transaction in which the pool slashed ``seq``."""
    pool = prod.c("locking_pool")
    logs = pool.events.Slashed().get_logs(
        from_block=prod.dep.block, argument_filters={"signer": seq}
    )
    assert len(logs) == 1, f"{len(logs)} slashes of {seq}"
    return prod.chain.w3.eth.get_transaction_receipt(logs[0]["transactionHash"])
