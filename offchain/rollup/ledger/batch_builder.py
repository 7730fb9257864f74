"""Build batches (data + header) straight from the ledger, for L1 contract tests, benches and
demos that need real roots without running a node. A dishonest item is *included without
being applied* (what a faulty sequencer does: it claims the state did not change), and
:func:`tampered` replaces claims, so every provable fault can be produced on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from offchain.rollup.ledger.batch import ZERO32, BatchHeader
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.fraud import FraudWitness, build_witness, find_fraud
from offchain.rollup.ledger.ledger import Ledger
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import Domain, L2Tx, encode_tx

#: One batch item: (transaction or raw encoding, fee recipient, honest?).
Item = tuple[L2Tx | bytes, str, bool]


@dataclass
class BuiltBatch:
    """A batch as committed: its header, data and the state before it."""

    header: BatchHeader
    data: BatchData
    pre_state: State


@dataclass
class BatchBuilder:
    """An L2 state plus the batches built on it.

    Args:
        domain: the L2 domain (chain id, StateCommitment address).
        deposit_hash_of: the bridge's ``depositHash(id)`` (for fraud witnesses).
        deposit_hash_at: the bridge's ``depositHashAt(count)`` (rolling hash for headers).
    """

    domain: Domain
    deposit_hash_of: Callable[[int], bytes]
    deposit_hash_at: Callable[[int], bytes]
    state: State = field(default_factory=State)
    batches: list[BuiltBatch] = field(default_factory=list)

    def build(self, items: Sequence[Item]) -> tuple[BatchData, State]:
        """Execute the items on the current state (dishonest ones are included, not applied).

        Returns:
            The batch data and a copy of the state before the batch.

        Raises:
            TxRejected: an item marked honest is invalid.
        """
        pre = self.state.copy()
        ledger = Ledger(self.domain, self.state)
        txs: list[bytes] = []
        fees: list[str] = []
        roots: list[bytes] = []
        items_w: list[bytes] = []
        for tx, fee, honest in items:
            data = tx if isinstance(tx, bytes) else encode_tx(tx)
            item = ZERO32
            if honest:
                assert not isinstance(tx, bytes), "an honest item needs a decoded transaction"
                item = ledger.apply(tx, fee).withdrawal_item
            txs.append(data)
            fees.append(fee)
            roots.append(self.state.root)
            items_w.append(item)
        return BatchData(txs, fees, roots, items_w), pre

    def header(self, data: BatchData, **overrides: Any) -> BatchHeader:
        """The header of ``data`` as the next batch (fields overridable to forge a summary)."""
        roots = data.roots()
        count = self.state.next_deposit_id
        fields: dict[str, Any] = dict(
            index=len(self.batches),
            first_block=len(self.batches),
            l2_blocks=1,
            tx_count=len(data),
            deposit_count=count,
            deposit_hash=self.deposit_hash_at(count),
            tx_root=roots.mttbr,
            state_roots_root=roots.mtsr,
            final_state_root=data.final_state_root,
            withdrawal_root=roots.withdrawal_root,
            data_hash=data.data_hash,
        )
        fields.update(overrides)
        return BatchHeader(**fields)

    def record(self, header: BatchHeader, data: BatchData, pre: State) -> BuiltBatch:
        """Remember a batch that was appended on L1."""
        b = BuiltBatch(header, data, pre)
        self.batches.append(b)
        return b

    def witness(self, index: int, step: int | None = None) -> FraudWitness:
        """Fraud witness for ``step`` of batch ``index`` (default: first fraudulent step).

        Raises:
            ValueError: the ledger finds no fraud in the batch.
        """
        b = self.batches[index]
        if step is None:
            step = find_fraud(b.pre_state.copy(), self.domain, b.data, self.deposit_hash_of)
            if step is None:
                raise ValueError(f"batch {index} is honest: no fraudulent step")
        prev = self.batches[index - 1] if index > 0 else None
        return build_witness(
            b.header,
            b.data,
            b.pre_state.copy(),
            self.domain,
            step,
            prev.header if prev else None,
            prev.data.post_roots if prev else None,
            self.deposit_hash_of,
        )


def tampered(data: BatchData, **claims: Sequence[Any]) -> BatchData:
    """A copy of ``data`` with some claim lists replaced (e.g. ``post_roots=[...]``)."""
    return replace(data, **{k: list(v) for k, v in claims.items()})
