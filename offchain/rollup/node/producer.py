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

    def undo_reorged_deposits(self) -> int | None:
        """Roll back the blocks that consumed a deposit an L1 reorg removed.

        The target is the last block before the first one that includes the lowest removed
        deposit (or the head, when only unsealed transactions consumed it); later user
        transactions are re-executed on that state, deposits re-included from what L1 holds
        now. A target under the last L1-batched block waits (the batcher first sees the batch
        that the same reorg removed). Returns the block rolled back to, if any.
        """
        n = self.node
        dep_id = n.deposits.take_reorged()
        if dep_id is None or n.next_deposit_id <= dep_id:
            return None  # never consumed
        target = n.head
        for number in range(n.head, 0, -1):
            b = n.store.block(number)
            if b is None or b.header.next_deposit_id <= dep_id:
                break
            target = number - 1  # block `number` consumed it (or a later one)
        if target < n.l1_floor:
            n.deposits.put_back_reorged(dep_id)
            log.warning("deposit_reorg_waits_for_l1", deposit=dep_id, target=target,
                        l1_floor=n.l1_floor)  # fmt: skip
            return None
        out = n.rollback_to(target, force=True)
        log.warning("rolled_back_after_deposit_reorg", deposit=dep_id, to_block=target, **out)
        return target

    def tick(self) -> None:
        self.undo_reorged_deposits()
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
