"""Fraud-proof witnesses for FraudProver.sol (seed 001 §11.4–11.5).

A verifier that finds a fraudulent step (``offchain.rollup.ledger.ledger.find_fraud``) builds a
:class:`FraudWitness`: the disputed batch header, the step's proofs and state witnesses
(``ledger.build_fraud_proof``) and, for step 0 of a batch after the first, the previous batch's
final state root with its MTSR proof (the pre-state of step 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from offchain.common.merkle import MerkleTree
from offchain.rollup.ledger.batch import ZERO32, BatchHeader
from offchain.rollup.ledger.ledger import BatchData, FraudProof, build_fraud_proof

if TYPE_CHECKING:
    from offchain.rollup.ledger.state import State
    from offchain.rollup.ledger.tx import Domain

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

    Raises:
        ValueError: step 0 of a batch > 0 without the previous batch.
    """
    proof = build_fraud_proof(pre_state, domain, batch, step, deposit_hash_of)
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
