"""Rollup helpers shared by the test suites and the benchmarks (never used by the daemons).

- :func:`placeholder_header`: a well-formed batch header with made-up roots (for L1 contract
  tests that do not need real L2 blocks);
- :func:`deploy_test_rollup`: the rollup's L1 contracts on a ``TestSequencerSet`` (a test
  double with the real signature rule: one FROST signature under the signers' dealt key,
  :func:`tests.helpers.frost.dealt_key`) instead of the staking domain's SequencerSet. Only
  ``tests/devnet/test_outage_processes.py`` still uses it; every other suite, benchmark and
  demo runs on the production deployment (:mod:`tests.helpers.prod`);
- :class:`BatchAppender`: append a header signed by the set as its current sequencer, and
  move L1 time (shared by the test deployment and the production one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.chain.client import Chain
from offchain.common.hashing import keccak
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import DEFAULT_L2_CHAIN_ID
from tests.helpers.frost import dealt_key

# Labels hashed (with the batch index) into the made-up roots, in BatchHeader field order:
# tx_root, state_roots_root, final_state_root, withdrawal_root, data_hash.
ROOT_LABELS = ("txs%d", "mtsr%d", "final%d", "w%d", "data%d")


def placeholder_header(
    index: int, labels: Sequence[str] = ROOT_LABELS, **fields: Any
) -> BatchHeader:
    """A batch header with distinct made-up roots, for L1 contract tests and benchmarks.

    Args:
        index: batch index.
        labels: the five ``%d`` patterns hashed into the roots (see :data:`ROOT_LABELS`).
        fields: BatchHeader fields to override (defaults: blocks ``10*index`` ..+9, 4 txs,
            no deposits).

    Returns:
        The header.
    """
    tx, mtsr, final, withdrawals, data = (keccak(label.encode() % index) for label in labels)
    values: dict[str, Any] = dict(
        index=index,
        first_block=index * 10,
        l2_blocks=10,
        tx_count=4,
        deposit_count=0,
        deposit_hash=b"\x00" * 32,
        tx_root=tx,
        state_roots_root=mtsr,
        final_state_root=final,
        withdrawal_root=withdrawals,
        data_hash=data,
    )
    values.update(fields)
    return BatchHeader(**values)


class BatchAppender:
    """``append`` and ``warp`` over a deployment's ``chain``, ``sc``, ``current`` and ``sign``."""

    chain: Chain

    def sc(self, acct: LocalAccount) -> RollupL1:
        raise NotImplementedError

    def current(self) -> LocalAccount:
        raise NotImplementedError

    def sign(self, header: BatchHeader) -> list[bytes]:
        raise NotImplementedError

    def append(self, header: BatchHeader, by: LocalAccount | None = None) -> Any:
        """Append ``header`` (sent by ``by``, default the current sequencer), signed by the set."""
        by = by or self.current()
        return self.sc(by).append_batch(header, self.sign(header))

    def warp(self, seconds: int) -> None:
        """Move L1 time forward ``seconds`` and mine a block."""
        self.chain.rpc("evm_increaseTime", seconds)
        self.chain.rpc("evm_mine")


@dataclass
class TestRollupParams:
    """Parameters of :func:`deploy_test_rollup` (units in names; amounts in wei)."""

    __test__ = False  # not a pytest test class

    window_s: int
    da_window_s: int
    da_fee: int = 10**16
    stake: int = 10 * 10**18
    slash: int = 4 * 10**18
    l2_chain_id: int = DEFAULT_L2_CHAIN_ID
    force_window_s: int = 30
    freeze_after_s: int = 200


def deploy_test_rollup(
    chain: Chain, owner: LocalAccount, signers: Sequence[LocalAccount], p: TestRollupParams
) -> dict[str, str]:
    """Deploy the rollup's L1 contracts around a ``TestSequencerSet`` of ``signers``.

    Sequencer set (each signer staked ``p.stake``, the group key of :func:`dealt_key` of
    ``signers`` installed), StateCommitment (genesis = the empty
    ledger's root), L1Bridge, DataAvailabilityChallenge, FraudProver (both authorised to
    challenge and punish) and a TestToken.

    Args:
        chain: the L1.
        owner: deployer and owner of every contract.
        signers: the sequencer signers.
        p: windows, fees and stakes.

    Returns:
        Deployment keys -> addresses (``sequencer_set``, ``state_commitment``, ``l1_bridge``,
        ``da_challenge``, ``fraud_prover``, ``test_token``).
    """
    s = chain.sender(owner)
    seqset = s.deploy("TestSequencerSet")
    s.send(
        seqset.functions.setSigners([a.address for a in signers], p.stake),
        value=p.stake * len(signers),
    )
    # Like the real set, it takes batches only under a group key: the signers' dealt key.
    s.send(seqset.functions.setGroupKey(dealt_key(signers).x))
    sc = s.deploy(
        "StateCommitment",
        owner.address,
        seqset.address,
        State().root,
        p.window_s,
        p.freeze_after_s,
    )
    bridge = s.deploy("L1Bridge", sc.address, p.force_window_s)
    s.send(sc.functions.setBridge(bridge.address))
    s.send(seqset.functions.authorise(sc.address))
    da = s.deploy(
        "DataAvailabilityChallenge",
        owner.address,
        sc.address,
        seqset.address,
        p.da_window_s,
        p.da_fee,
        p.slash,
    )
    s.send(sc.functions.setChallenger(da.address, True))
    s.send(seqset.functions.authorise(da.address))
    fp = s.deploy("FraudProver", owner.address, sc.address, seqset.address, p.l2_chain_id, p.slash)
    s.send(sc.functions.setChallenger(fp.address, True))
    s.send(seqset.functions.authorise(fp.address))
    token = s.deploy("TestToken", "Test Token", "TT")
    return {
        "sequencer_set": seqset.address,
        "state_commitment": sc.address,
        "l1_bridge": bridge.address,
        "da_challenge": da.address,
        "fraud_prover": fp.address,
        "test_token": token.address,
    }
