"""The fraud-proof tests' L2: a :class:`~offchain.rollup.ledger.batch_builder.BatchBuilder`
bound to a deployment, appending each built batch signed by its sequencer set (the production
set's FROST group key: :class:`tests.helpers.prod.ProdRollup`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_builder import BatchBuilder, Item, tampered
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.fraud import FraudWitness
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import DEFAULT_L2_CHAIN_ID, Domain

__all__ = ["L2Sim", "tampered"]


class SimEnv(Protocol):
    """What the simulation needs of a deployment."""

    @property
    def addresses(self) -> dict[str, str]: ...

    def contract(self, name: str, key: str) -> Any: ...

    def append(self, header: BatchHeader) -> Any: ...


@dataclass
class L2Sim:
    env: SimEnv
    builder: BatchBuilder = field(init=False)

    def __post_init__(self) -> None:
        bridge = self.env.contract("L1Bridge", "l1_bridge")
        self.builder = BatchBuilder(
            Domain(DEFAULT_L2_CHAIN_ID, self.env.addresses["state_commitment"]),
            lambda i: bytes(bridge.functions.depositHash(i).call()),
            lambda n: bytes(bridge.functions.depositHashAt(n).call()),
        )

    @property
    def domain(self) -> Domain:
        return self.builder.domain

    @property
    def state(self) -> State:
        return self.builder.state

    @property
    def batches(self) -> list[Any]:
        return self.builder.batches

    def build(self, items: list[Item]) -> tuple[BatchData, State]:
        return self.builder.build(items)

    def commit(self, data: BatchData, pre: State, **overrides: Any) -> BatchHeader:
        header = self.builder.header(data, **overrides)
        self.env.append(header)
        self.builder.record(header, data, pre)
        return header

    def witness(self, index: int, step: int | None = None) -> FraudWitness:
        return self.builder.witness(index, step)
