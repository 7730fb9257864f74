"""Fraud-proof witnesses for FraudProver.sol (seed 001 §11.4–11.5).

A verifier that finds a fraudulent step (``find_fraud``) builds a
:class:`FraudWitness`: the disputed batch header, the step's proofs and state witnesses
(:func:`build_fraud_proof`) and, for step 0 of a batch after the first, the previous batch's
final state root with its MTSR proof (the pre-state of step 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.common.merkle import MerkleTree
from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger.batch import ZERO32, BatchHeader
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.ledger import Ledger, StepTrace
from offchain.rollup.ledger.state import KeyWitness
from offchain.rollup.ledger.tx import (
    Deposit,
    Forced,
    decode_tx,
    deposit_hash,
    forced_item,
    tx_leaf_of_hash,
)

if TYPE_CHECKING:
    from offchain.rollup.ledger.state import State
    from offchain.rollup.ledger.tx import Domain


@dataclass(frozen=True)
class StepResult:
    """Honest execution of one step: status code, post-state root, withdrawal item."""

    status: str
    post_state_root: bytes
    withdrawal_item: bytes


def run_step(
    ledger: Ledger,
    data: bytes,
    fee_recipient: str,
    trace: StepTrace | None,
    deposit_hash_of: Callable[[int], bytes] | None,
    forced_matches: Callable[[int, bytes], bool] | None = None,
) -> StepResult:
    """Execute one encoded tx as L1 would; invalid ones leave the state unchanged.

    ``forced_matches(queueId, item)`` is the bridge's ``queueItemMatches`` (is ``item`` the
    forced tx queued at that position?).
    """
    st = ledger.state
    try:
        tx = decode_tx(data)
        if (
            isinstance(tx, Forced)
            and forced_matches is not None
            and tx.queue_id == st.next_deposit_id
            and not forced_matches(tx.queue_id, forced_item(tx))
        ):
            return StepResult("forced_mismatch", st.root, ZERO32)
        if (
            isinstance(tx, Deposit)
            and deposit_hash_of is not None
            and tx.deposit_id == st.next_deposit_id
            and deposit_hash_of(tx.deposit_id) != deposit_hash(tx)
        ):
            return StepResult("deposit_mismatch", st.root, ZERO32)
        _, _, wd = ledger._execute(tx, fee_recipient, trace)
    except TxRejected as e:
        return StepResult(e.code, st.root, ZERO32)
    ledger.tx_count += 1
    return StepResult("valid", st.root, wd.item if wd is not None else ZERO32)


def find_fraud(
    state: State,
    domain: Domain,
    batch: BatchData,
    deposit_hash_of: Callable[[int], bytes] | None = None,
    forced_matches: Callable[[int, bytes], bool] | None = None,
) -> int | None:
    """Re-execute ``batch`` from ``state`` (its pre-state) and find the first fraudulent step.

    A step is fraudulent if its tx is invalid, or its claimed post-state root or withdrawal
    item differs from honest execution. ``state`` is left unchanged.

    Args:
        state: the state before the batch (the previous batch's final state).
        domain: the L2 domain.
        batch: the batch as published (with the sequencer's claimed roots and items).
        deposit_hash_of: the L1 bridge's deposit hash by id (checks deposit contents).

    Returns:
        The index of the first fraudulent step, or None if the batch is honest.
    """
    ledger = Ledger(domain, state)
    cp = state.checkpoint()
    try:
        for i, data in enumerate(batch.tx_data):
            res = run_step(
                ledger, data, batch.fee_recipients[i], None, deposit_hash_of, forced_matches
            )
            if (
                res.status != "valid"
                or res.post_state_root != batch.post_roots[i]
                or res.withdrawal_item != batch.withdrawal_items[i]
            ):
                return i
        return None
    finally:
        state.rollback(cp)


@dataclass(frozen=True)
class FraudProof:
    """Everything L1 needs to re-execute step ``step`` of a batch (docs/spec.md).

    Claimed values are the sequencer's (from the batch data); ``expected`` values are what
    honest execution gives. The step is fraud iff ``expected_status != "valid"`` or an
    expected value differs from the claimed one.
    """

    step: int
    tx_data: bytes
    fee_recipient: str
    tx_proof: list[bytes]
    pre_state_root: bytes
    pre_root_proof: list[bytes] | None
    post_state_root: bytes
    post_root_proof: list[bytes]
    withdrawal_item: bytes
    withdrawal_proof: list[bytes]
    pre_tree_root: bytes
    pre_size: int
    pre_next_deposit_id: int
    witnesses: list[KeyWitness] = field(default_factory=list)
    expected_status: str = "valid"
    expected_post_state_root: bytes = ZERO32
    expected_withdrawal_item: bytes = ZERO32

    @property
    def is_fraud(self) -> bool:
        return (
            self.expected_status != "valid"
            or self.expected_post_state_root != self.post_state_root
            or self.expected_withdrawal_item != self.withdrawal_item
        )

    def pre_state_abi(self) -> tuple[bytes, int, int]:
        """``L2StateTransition.State`` tuple ``(treeRoot, size, nextDepositId)``."""
        return (self.pre_tree_root, self.pre_size, self.pre_next_deposit_id)

    def witnesses_abi(self) -> list[tuple[int, int, int, int, list[bytes], list[bytes]]]:
        """``StateTree.KeyWitness[]`` tuples."""
        return [w.to_abi() for w in self.witnesses]

    def to_abi(self) -> tuple[Any, ...]:
        """The ``L2StateTransition.StepProof`` tuple (for web3 calls)."""
        return (
            self.step,
            self.tx_data,
            self.fee_recipient,
            list(self.tx_proof),
            self.pre_state_root,
            list(self.pre_root_proof or []),
            self.post_state_root,
            list(self.post_root_proof),
            self.withdrawal_item,
            list(self.withdrawal_proof),
            self.pre_state_abi(),
            self.witnesses_abi(),
        )


#: ABI type strings of the Solidity structs, for eth_abi.
STATE_ABI = "(bytes32,uint256,uint256)"
KEY_WITNESS_ABI = "(uint256,uint256,uint256,uint256,bytes32[],bytes32[])"
BATCH_REF_ABI = "(bytes32,bytes32,bytes32,uint256,bytes32)"
STEP_PROOF_ABI = (
    f"(uint256,bytes,address,bytes32[],bytes32,bytes32[],bytes32,bytes32[],bytes32,bytes32[],"
    f"{STATE_ABI},{KEY_WITNESS_ABI}[])"
)


def batch_ref(
    batch: BatchData, prev_final_state_root: bytes
) -> tuple[bytes, bytes, bytes, int, bytes]:
    """The ``L2StateTransition.BatchRef`` tuple of a batch whose pre-state root is
    ``prev_final_state_root``."""
    r = batch.roots()
    return (r.mttbr, r.mtsr, r.withdrawal_root, len(batch), prev_final_state_root)


def build_fraud_proof(
    state: State,
    domain: Domain,
    batch: BatchData,
    step: int,
    deposit_hash_of: Callable[[int], bytes] | None = None,
    forced_matches: Callable[[int, bytes], bool] | None = None,
) -> FraudProof:
    """Witness for L1 re-execution of ``step`` of ``batch`` (from the batch's pre-state).

    Steps before ``step`` are executed honestly (they must match the claims: use
    :func:`find_fraud` to pick the first divergent step). ``state`` is left unchanged.

    Args:
        state: the state before the batch.
        domain: the L2 domain.
        batch: the batch as published.
        step: the disputed step.
        deposit_hash_of: the L1 bridge's deposit hash by id.
        forced_matches: the L1 bridge's ``queueItemMatches(queueId, item)``.

    Raises:
        IndexError: if ``step`` is not in the batch.
    """
    if not 0 <= step < len(batch):
        raise IndexError(f"step {step} not in a batch of {len(batch)} txs")
    ledger = Ledger(domain, state)
    cp = state.checkpoint()
    try:
        for i in range(step):
            run_step(
                ledger,
                batch.tx_data[i],
                batch.fee_recipients[i],
                None,
                deposit_hash_of,
                forced_matches,
            )
        pre_root = state.root
        pre = (state.tree_root, state.size, state.next_deposit_id)
        trace = StepTrace()
        res = run_step(
            ledger,
            batch.tx_data[step],
            batch.fee_recipients[step],
            trace,
            deposit_hash_of,
            forced_matches,
        )
    finally:
        state.rollback(cp)
    tx_leaves = [
        tx_leaf_of_hash(keccak(d), f)
        for d, f in zip(batch.tx_data, batch.fee_recipients, strict=True)
    ]
    mtsr_tree = merkle.MerkleTree(batch.post_roots)
    return FraudProof(
        step=step,
        tx_data=batch.tx_data[step],
        fee_recipient=batch.fee_recipients[step],
        tx_proof=merkle.MerkleTree(tx_leaves).proof(step),
        pre_state_root=pre_root,
        pre_root_proof=mtsr_tree.proof(step - 1) if step > 0 else None,
        post_state_root=batch.post_roots[step],
        post_root_proof=mtsr_tree.proof(step),
        withdrawal_item=batch.withdrawal_items[step],
        withdrawal_proof=merkle.MerkleTree(batch.withdrawal_items).proof(step),
        pre_tree_root=pre[0],
        pre_size=pre[1],
        pre_next_deposit_id=pre[2],
        witnesses=trace.witnesses,
        expected_status=res.status,
        expected_post_state_root=res.post_state_root,
        expected_withdrawal_item=res.withdrawal_item,
    )


#: Placeholder previous header (ignored by the contract unless step 0 of a batch > 0).
EMPTY_HEADER = BatchHeader(0, 0, 0, 0, 0, ZERO32, ZERO32, ZERO32, ZERO32, ZERO32, ZERO32)


@dataclass(frozen=True)
class FraudWitness:
    """Arguments of ``FraudProver.proveFraud(header, prev, stepProof)``.

    Attributes:
        header: the disputed batch.
        step: the step's proofs and state witnesses (from ``ledger.build_fraud_proof``).
        prev_header: the previous batch (only for step 0 of a batch > 0).
        prev_final_state_root: last MTSR leaf of the previous batch.
        prev_proof: its MTSR proof.
    """

    header: BatchHeader
    step: FraudProof
    prev_header: BatchHeader | None = None
    prev_final_state_root: bytes = ZERO32
    prev_proof: list[bytes] = field(default_factory=list)

    def as_args(self) -> tuple[Any, ...]:
        """The three Solidity arguments as web3.py tuples."""
        prev = (self.prev_header or EMPTY_HEADER).as_tuple()
        return (
            self.header.as_tuple(),
            (prev, self.prev_final_state_root, list(self.prev_proof)),
            self.step.to_abi(),
        )


@dataclass(frozen=True)
class SummaryWitness:
    """Arguments of ``FraudProver.proveBadSummary(header, finalState, proof)``.

    Attributes:
        header: the disputed batch.
        final_state: ``(treeRoot, size, nextDepositId)`` of the last MTSR leaf.
        proof: MTSR proof of the last leaf.
    """

    header: BatchHeader
    final_state: tuple[bytes, int, int]
    proof: list[bytes]

    def as_args(self) -> tuple[Any, ...]:
        return (self.header.as_tuple(), self.final_state, list(self.proof))


def build_witness(
    header: BatchHeader,
    batch: BatchData,
    pre_state: State,
    domain: Domain,
    step: int,
    prev_header: BatchHeader | None = None,
    prev_post_roots: Sequence[bytes] | None = None,
    deposit_hash_of: Callable[[int], bytes] | None = None,
    forced_matches: Callable[[int, bytes], bool] | None = None,
) -> FraudWitness:
    """The witness proving step ``step`` of ``batch`` (committed as ``header``).

    Args:
        header: the batch's header as committed on L1.
        batch: the batch data (the sequencer's claims).
        pre_state: the L2 state before the batch (left unchanged).
        domain: the L2 EIP-712 domain (chain id, StateCommitment address).
        step: the disputed step (e.g. from ``ledger.find_fraud``).
        prev_header: the previous batch's header (required for step 0 of a batch > 0).
        prev_post_roots: the previous batch's post-state roots (same condition).
        deposit_hash_of: the L1 bridge's ``depositHash(id)``.
        forced_matches: the L1 bridge's ``queueItemMatches(queueId, item)``.

    Raises:
        ValueError: step 0 of a batch > 0 without the previous batch.
    """
    proof = build_fraud_proof(pre_state, domain, batch, step, deposit_hash_of, forced_matches)
    if step != 0 or header.index == 0:
        return FraudWitness(header, proof)
    if prev_header is None or not prev_post_roots:
        raise ValueError("step 0 of a batch after the first needs the previous batch")
    tree = MerkleTree(list(prev_post_roots))
    last = len(prev_post_roots) - 1
    return FraudWitness(header, proof, prev_header, prev_post_roots[last], tree.proof(last))


def build_summary_witness(
    header: BatchHeader, batch: BatchData, final_state: tuple[bytes, int, int]
) -> SummaryWitness:
    """The witness that the header's summary (final root, deposit count) is not its own MTSR's.

    Args:
        header: the batch's header as committed on L1.
        batch: the batch data (post-state roots).
        final_state: decomposition ``(treeRoot, size, nextDepositId)`` of the last post root.
    """
    tree = MerkleTree(list(batch.post_roots))
    return SummaryWitness(header, final_state, tree.proof(len(batch.post_roots) - 1))
