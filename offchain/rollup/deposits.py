"""Follows the L1 bridge's deposit queue and hands deposits to the producer by id.

Matches ``event DepositQueued(uint256 indexed depositId, address indexed sender,
address indexed l2Recipient, address token, uint256 amount, bytes32 rollingHash)`` of
``contracts/bridge/L1Bridge.sol``. Each deposit becomes the L2 ``Deposit`` transaction
``(depositId, l1Sender, recipient, token, amount)`` (docs/spec.md). Deposits are kept in the
node's store with the last L1 block scanned, so a restarted node does not rescan from
genesis; the follower trails the L1 head by ``confirmations`` blocks, and a deposit id seen
again after a reorg replaces the earlier content.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

from offchain.rollup import tx as ltx
from offchain.rollup.node import DepositSource
from offchain.rollup.store import NodeStore

log = structlog.get_logger("rollup.deposits")

CURSOR_KEY = "deposit_follower_block"


class DepositFollower(DepositSource):
    """Polls ``DepositQueued`` logs of ``bridge`` into ``store``.

    Args:
        bridge: the L1Bridge web3 contract.
        store: the node's store (deposits + cursor).
        from_block: first L1 block to scan on a fresh store (the deployment block).
        confirmations: L1 blocks to trail the head by.
        poll_interval_ms: time between polls.
        max_step: most L1 blocks scanned per poll.
    """

    def __init__(
        self,
        bridge: Any,
        store: NodeStore,
        from_block: int = 0,
        confirmations: int = 0,
        poll_interval_ms: int = 200,
        max_step: int = 2000,
    ) -> None:
        self.bridge = bridge
        self.store = store
        self.confirmations = confirmations
        self.poll_s = poll_interval_ms / 1000
        self.max_step = max_step
        self.errors = 0
        self._cache: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        cur = store.get_meta(CURSOR_KEY)
        self.cursor = int(cur) if cur is not None else from_block - 1
        for dep_id, raw in store.deposits():
            self._cache[dep_id] = raw

    def get(self, deposit_id: int) -> bytes | None:
        with self._lock:
            return self._cache.get(deposit_id)

    def poll(self) -> int:
        """Scan new confirmed L1 blocks; returns the number of deposits found."""
        w3 = self.bridge.w3
        head = int(w3.eth.block_number) - self.confirmations
        found = 0
        while self.cursor < head:
            start = self.cursor + 1
            end = min(head, start + self.max_step - 1)
            logs = self.bridge.events.DepositQueued().get_logs(from_block=start, to_block=end)
            for lg in logs:
                a = lg["args"]
                dep = ltx.Deposit(
                    int(a["depositId"]),
                    str(a["sender"]),
                    str(a["l2Recipient"]),
                    str(a["token"]),
                    int(a["amount"]),
                )
                raw = ltx.encode_tx(dep)
                self.store.put_deposit(dep.deposit_id, raw)
                with self._lock:
                    self._cache[dep.deposit_id] = raw
                found += 1
            self.cursor = end
            self.store.set_meta(CURSOR_KEY, str(end))
        return found

    def start(self) -> DepositFollower:
        self._thread = threading.Thread(target=self._run, name="l2-deposits", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.poll()
                if n:
                    log.info("deposits_seen", count=n, cursor=self.cursor)
                self.errors = 0
            except Exception as e:  # noqa: BLE001 - RPC hiccup: retry next tick
                self.errors += 1
                log.warning("deposit_poll_failed", error=str(e), errors=self.errors)
            self._stop.wait(self.poll_s)

    def health(self) -> dict[str, Any]:
        return {"cursor": self.cursor, "known": len(self._cache), "errors": self.errors}

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
