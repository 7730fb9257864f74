"""The current sequencer's pending transactions: accepted, executed, not yet sealed in a block.

The node executes a submission as soon as it accepts it (so an invalid transaction is
refused at the RPC with the ledger's reason and never reaches a block); the mempool
keeps the executed ones, in execution order, until the producer seals them.
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.rollup.node.execution import Applied


@dataclass
class PendingTx:
    """One executed, unsealed transaction."""

    applied: Applied
    raw: bytes
    received_at: float

    @property
    def tx_hash(self) -> bytes:
        return self.applied.tx_hash


class Mempool:
    """Ordered pending transactions with duplicate detection; not thread-safe (the node locks).

    Args:
        max_size: how many unsealed transactions it holds at most.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._txs: list[PendingTx] = []
        self._hashes: dict[bytes, PendingTx] = {}
        self._by_sender: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._txs)

    def full(self) -> bool:
        return len(self._txs) >= self.max_size

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._hashes

    def add(self, tx: PendingTx) -> None:
        self._txs.append(tx)
        self._hashes[tx.tx_hash] = tx
        s = tx.applied.sender
        if s:
            self._by_sender[s] = self._by_sender.get(s, 0) + 1

    def get(self, tx_hash: bytes) -> PendingTx | None:
        return self._hashes.get(tx_hash)

    def pending_of(self, sender: str) -> int:
        """How many unsealed transactions ``sender`` (lower-case) has here."""
        return self._by_sender.get(sender, 0)

    def oldest_at(self) -> float | None:
        return self._txs[0].received_at if self._txs else None

    def take(self) -> list[PendingTx]:
        """Remove and return everything pending (the next block's transactions)."""
        out, self._txs = self._txs, []
        self._hashes.clear()
        self._by_sender.clear()
        return out
