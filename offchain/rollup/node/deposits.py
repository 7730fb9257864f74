"""Follows the L1 bridge's deposit queue and hands deposits to the producer by id.

Matches ``event DepositQueued(uint256 indexed depositId, address indexed sender,
address indexed l2Recipient, address token, uint256 amount, bytes32 rollingHash)`` of
``contracts/bridge/L1Bridge.sol``. Each deposit becomes the L2 ``Deposit`` transaction
``(depositId, l1Sender, recipient, token, amount)`` (docs/spec.md). Deposits are kept in the
node's store; the foundation's log follower keeps the cursor (last block, recent hashes) in a
file, trails the L1 head by ``confirmations`` blocks and, after a reorg, forgets the orphaned
deposits and re-delivers the new ones (a re-delivered deposit id replaces the old content).

Forced transactions share the queue: ``event ForcedTxQueued(uint256 indexed queueId, address
indexed sender, uint256 deadline, bytes l2Tx)`` becomes the L2
``Forced`` transaction ``0x04 ‖ queueId ‖ l2Tx`` at its queue position.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import structlog

from offchain.chain.follower import FollowerConfig, LogEvent, LogFollower
from offchain.common.daemon import Daemon, LoopConfig
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.store import NodeStore

log = structlog.get_logger("rollup.deposits")


class DepositSource:
    """Where the producer gets L1 deposits (as encoded L2 deposit transactions) by id.

    The default has none; :class:`DepositFollower` follows the
    L1 bridge's DepositQueued events.
    """

    def get(self, deposit_id: int) -> bytes | None:
        """Encoded deposit transaction ``deposit_id``, or None if not (yet) seen on L1."""
        return None

    def take_reorged(self) -> int | None:
        """The lowest deposit id an L1 reorg removed since the last call, if any."""
        return None

    def put_back_reorged(self, deposit_id: int) -> None:
        return None

    def stop(self) -> None:
        return None


class DepositFollower(Daemon, DepositSource):
    """Follows ``DepositQueued`` logs of ``bridge`` into ``store`` (with :class:`LogFollower`).

    Args:
        bridge: the L1Bridge web3 contract.
        store: the node's store (deposits by id).
        from_block: first L1 block to scan on a fresh cursor (the deployment block).
        confirmations: L1 blocks to trail the head by.
        poll_interval_ms: time between polls.
        max_step: most L1 blocks scanned per poll.
        cursor_path: the follower's cursor file (``None``: memory only, rescans on restart).
    """

    name = "l2-deposits"

    def __init__(
        self,
        bridge: Any,
        store: NodeStore,
        from_block: int = 0,
        confirmations: int = 0,
        poll_interval_ms: int = 200,
        max_step: int = 2000,
        cursor_path: Path | None = None,
    ) -> None:
        # An RPC hiccup is retried with backoff, forever; 3 in a row report it down.
        super().__init__(LoopConfig(poll_interval_ms, jitter_pct=0, max_failures=3), log=log)
        self.bridge = bridge
        self.store = store
        self._cache: dict[int, bytes] = {}
        self._by_event: dict[str, int] = {}  # LogEvent.id -> deposit id (to undo on a reorg)
        self._reorged_from: int | None = None  # lowest deposit id a reorg removed
        self._lock = threading.Lock()
        for dep_id, raw in store.deposits():
            self._cache[dep_id] = raw
        cfg = FollowerConfig(
            confirmations=confirmations, max_block_step=max_step, start_block=from_block
        )
        # L1Bridge.sol: event DepositQueued(uint256 indexed depositId, address indexed sender,
        #     address indexed l2Recipient, address token, uint256 amount, bytes32 rollingHash)
        # L1Bridge.sol: event ForcedTxQueued(uint256 indexed queueId, address indexed sender,
        #     uint256 deadline, bytes l2Tx)
        self.follower = LogFollower(
            bridge.w3,
            [(bridge, "DepositQueued"), (bridge, "ForcedTxQueued")],
            self._on_log,
            cursor_path=cursor_path,
            config=cfg,
            on_reorg=self._on_reorg,
            name="deposits",
        )

    def _on_log(self, ev: LogEvent) -> None:
        a = ev.args
        if ev.event == "ForcedTxQueued":
            queue_id = int(a["queueId"])
            raw = bytes([ltx.KIND_FORCED]) + queue_id.to_bytes(32, "big") + bytes(a["l2Tx"])
        else:
            dep = ltx.Deposit(
                int(a["depositId"]),
                str(a["sender"]),
                str(a["l2Recipient"]),
                str(a["token"]),
                int(a["amount"]),
            )
            queue_id, raw = dep.deposit_id, ltx.encode_tx(dep)
        self.store.put_deposit(queue_id, raw)  # idempotent: re-delivery replaces
        with self._lock:
            self._cache[queue_id] = raw
            self._by_event[ev.id] = queue_id

    def _on_reorg(self, ancestor: int, orphaned: list[str]) -> None:
        """Forget deposits whose L1 block was reorged out (the re-delivery restores the rest),
        and remember the lowest such id: the producer rolls back the blocks that consumed it
        (:meth:`take_reorged`)."""
        dropped: list[int] = []
        with self._lock:
            for eid in orphaned:
                dep_id = self._by_event.pop(eid, None)
                if dep_id is not None:
                    self._cache.pop(dep_id, None)
                    dropped.append(dep_id)
            if dropped:
                low = min(dropped)
                self._reorged_from = (
                    low if self._reorged_from is None else min(low, self._reorged_from)
                )
        self.store.delete_deposits(dropped)
        log.warning("deposit_reorg", ancestor=ancestor, orphaned=len(orphaned), dropped=dropped)

    def take_reorged(self) -> int | None:
        """The lowest deposit id an L1 reorg removed since the last call (then cleared)."""
        with self._lock:
            out, self._reorged_from = self._reorged_from, None
            return out

    def put_back_reorged(self, deposit_id: int) -> None:
        """Keep ``deposit_id`` for a later :meth:`take_reorged` (not handled yet)."""
        with self._lock:
            cur = self._reorged_from
            self._reorged_from = deposit_id if cur is None else min(cur, deposit_id)

    @property
    def cursor(self) -> int:
        c = self.follower.cursor
        return int(c.block) if c is not None else -1

    def get(self, deposit_id: int) -> bytes | None:
        with self._lock:
            return self._cache.get(deposit_id)

    def poll(self) -> int:
        """Scan new confirmed L1 blocks (until caught up); returns the deposits delivered."""
        return self.follower.catch_up()

    def tick(self) -> int:
        n = self.poll()
        if n:
            log.info("deposits_seen", count=n, cursor=self.cursor)
        return n

    def health(self) -> dict[str, Any]:
        return {
            "health": self.part_health().to_json(),
            "cursor": self.cursor,
            "known": len(self._cache),
            "errors": self.failures_in_row,
        }

    def stop(self, timeout_s: float = 5.0) -> None:
        super().stop(timeout_s)
