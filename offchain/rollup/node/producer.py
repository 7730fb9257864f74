"""The block producer: while this node is current, seal pending transactions into blocks.

A block is sealed every ``block_time_ms`` (when something is pending, or a new L1
deposit arrived) or as soon as ``max_block_txs`` are pending. An error is logged and
retried on the next tick; after ``max_failures`` in a row the producer stops (circuit
breaker) and reports it in :meth:`BlockProducer.health`.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import structlog

from offchain.rollup.node.node import SequencerNode

log = structlog.get_logger("rollup.producer")


class BlockProducer:
    """Background thread driving :meth:`SequencerNode.seal_block`.

    Args:
        node: the node it seals for.
        tick_ms: how often it checks (a fraction of the block time).
        max_failures: consecutive failures before it gives up.
    """

    def __init__(self, node: SequencerNode, tick_ms: int = 10, max_failures: int = 3) -> None:
        self.node = node
        self.tick_s = tick_ms / 1000
        self.max_failures = max_failures
        self.failures = 0
        self.last_error = ""
        self.blocks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_seal = time.monotonic()

    def start(self) -> BlockProducer:
        self._thread = threading.Thread(target=self._run, name="l2-producer", daemon=True)
        self._thread.start()
        return self

    def _due(self) -> bool:
        n = self.node
        if n.seal_due():
            return True
        # An idle chain still picks up new L1 deposits once per block time.
        idle_ms = (time.monotonic() - self._last_seal) * 1000
        return idle_ms >= n.config.block_time_ms and n.deposits.get(n.next_deposit_id) is not None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
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
                self.failures = 0
            except Exception as e:  # noqa: BLE001 - logged, retried, circuit-broken
                self.failures += 1
                self.last_error = str(e)
                log.error("producer_error", error=str(e), failures=self.failures)
                if self.failures >= self.max_failures:
                    log.error("producer_stopped", reason="too many consecutive failures")
                    return
            self._stop.wait(self.tick_s * (0.8 + 0.4 * random.random()))

    def health(self) -> dict[str, Any]:
        alive = self._thread is not None and self._thread.is_alive()
        return {
            "alive": alive,
            "blocks": self.blocks,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    def stop(self) -> None:
        """Stop the loop and seal what is pending (clean SIGTERM stop)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            if self.node.is_current():
                self.node.seal_block(include_deposits=False)
        except Exception as e:  # noqa: BLE001 - best effort on shutdown
            log.warning("final_seal_failed", error=str(e))
