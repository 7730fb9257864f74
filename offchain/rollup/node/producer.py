"""The block producer: while this node is current, seal pending transactions into blocks.

A block is sealed every ``block_time_ms`` (when something is pending, or a new L1
deposit arrived) or as soon as ``max_block_txs`` are pending. An error is logged and
retried on the next tick; after ``max_failures`` in a row the producer stops (circuit
breaker) and reports it in :meth:`BlockProducer.health`.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from offchain.common.daemon import Daemon, LoopConfig
from offchain.rollup.node.node import SequencerNode

log = structlog.get_logger("rollup.producer")


class BlockProducer(Daemon):
    """Background thread driving :meth:`SequencerNode.seal_block`.

    Args:
        node: the node it seals for.
        tick_ms: how often it checks (a fraction of the block time).
        max_failures: consecutive failures before it gives up.
    """

    name = "l2-producer"

    def __init__(self, node: SequencerNode, tick_ms: int = 10, max_failures: int = 3) -> None:
        super().__init__(LoopConfig(tick_ms, jitter_pct=20, max_failures=max_failures), log=log)
        self.node = node
        self.blocks = 0
        self._last_seal = time.monotonic()

    def _due(self) -> bool:
        n = self.node
        if n.seal_due():
            return True
        # An idle chain still picks up new L1 deposits once per block time.
        idle_ms = (time.monotonic() - self._last_seal) * 1000
        return idle_ms >= n.config.block_time_ms and n.deposits.get(n.next_deposit_id) is not None

    def tick(self) -> None:
        if self.node.is_current():
            if self._due():
                b = self.node.seal_block()
                self._last_seal = time.monotonic()
                if b is not None:
                    self.blocks += 1
        else:
            if self.node.reclaim_due:  # rotated out: blocks sealed as L1 rotated?
                self.node.reclaim_orphaned_blocks()
            if len(self.node.mempool) or self.node._handoff:
                self.node.handoff_pending()  # rotated out with unsealed transactions

    def health(self) -> dict[str, Any]:
        return {
            "health": self.part_health().to_json(),
            "alive": self.alive,
            "blocks": self.blocks,
            "failures": self.failures_in_row,
            "last_error": self.last_error or "",
        }

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loop and seal what is pending (clean SIGTERM stop)."""
        super().stop(timeout_s)
        try:
            if self.node.is_current():
                self.node.seal_block(include_deposits=False)
        except Exception as e:  # noqa: BLE001 - best effort on shutdown
            log.warning("final_seal_failed", error=str(e))
