"""A small L2 for the fraud-proof tests: the real ledger executes honest transactions; a
faulty sequencer can include invalid ones (claiming an unchanged state) or forge claims."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from offchain.rollup.batch import BatchHeader
from offchain.rollup.fraud import FraudWitness, build_witness
from offchain.rollup.ledger import BatchData, Ledger, find_fraud
from offchain.rollup.state import State
from offchain.rollup.tx import Domain, L2Tx, encode_tx
from tests.rollup_l1.conftest import L2_CHAIN_ID, Env

ZERO = b"\x00" * 32


@dataclass
class Committed:
    header: BatchHeader
    data: BatchData
    pre_state: State


@dataclass
class L2Sim:
    env: Env
    state: State = field(default_factory=State)
    batches: list[Committed] = field(default_factory=list)

    @property
    def domain(self) -> Domain:
        return Domain(L2_CHAIN_ID, self.env.addresses["state_commitment"])

    def deposit_hash_of(self, i: int) -> bytes:
        return bytes(self.env.contract("L1Bridge", "l1_bridge").functions.depositHash(i).call())

    def build(self, items: list[tuple[L2Tx | bytes, str, bool]]) -> tuple[BatchData, State]:
        """Execute ``(tx, fee_recipient, honest)`` items; a dishonest item is included without
        being applied (the faulty sequencer claims the state is unchanged). Returns the batch
        data and the state before it; ``self.state`` moves to after it."""
        pre = self.state.copy()
        ledger = Ledger(self.domain, self.state)
        txs, fees, roots, items_w = [], [], [], []
        for tx, fee, honest in items:
            data = tx if isinstance(tx, bytes) else encode_tx(tx)
            item = ZERO
            if honest:
                r = ledger.apply(tx, fee)  # type: ignore[arg-type]
                item = r.withdrawal_item
            txs.append(data)
            fees.append(fee)
            roots.append(self.state.root)
            items_w.append(item)
        return BatchData(txs, fees, roots, items_w), pre

    def commit(self, data: BatchData, pre: State, **overrides: Any) -> BatchHeader:
        roots = data.roots()
        count = self.state.next_deposit_id
        bridge = self.env.contract("L1Bridge", "l1_bridge")
        fields: dict[str, Any] = dict(
            index=len(self.batches),
            first_block=len(self.batches),
            l2_blocks=1,
            tx_count=len(data),
            deposit_count=count,
            deposit_hash=bytes(bridge.functions.depositHashAt(count).call()),
            tx_root=roots.mttbr,
            state_roots_root=roots.mtsr,
            final_state_root=data.final_state_root,
            withdrawal_root=roots.withdrawal_root,
            data_hash=data.data_hash,
        )
        fields.update(overrides)
        header = BatchHeader(**fields)
        self.env.append(header)
        self.batches.append(Committed(header, data, pre))
        return header

    def witness(self, index: int, step: int | None = None) -> FraudWitness:
        """Witness for ``step`` (default: the first fraudulent step found by the ledger)."""
        c = self.batches[index]
        if step is None:
            step = find_fraud(c.pre_state.copy(), self.domain, c.data, self.deposit_hash_of)
            assert step is not None, "the ledger finds no fraud in this batch"
        prev = self.batches[index - 1] if index > 0 else None
        return build_witness(
            c.header,
            c.data,
            c.pre_state.copy(),
            self.domain,
            step,
            prev.header if prev else None,
            prev.data.post_roots if prev else None,
            self.deposit_hash_of,
        )


def tampered(data: BatchData, **kw: Any) -> BatchData:
    return replace(data, **{k: list(v) for k, v in kw.items()})
