"""Follow contract events on the L1: persisted cursor, confirmations, reorg handling.

A :class:`LogFollower` delivers every log of the subscribed events, in chain order, to a
handler. It trails the head by ``confirmations`` blocks, scans at most ``max_block_step``
blocks per poll, and saves its position (last processed block number and hash, plus the
hashes of recently processed blocks) in a cursor file after each step, so a restarted
follower resumes where it stopped.

Reorgs: before each step the follower checks that the block it last processed still has
the hash it recorded. If not, it walks back through its recorded hashes to the newest
block still on the chain (the common ancestor), tells the ``on_reorg`` callback which
deliveries were orphaned, and re-delivers the logs of every block after the ancestor.
Handlers must be idempotent: each :class:`LogEvent` carries a stable ``id``
(``blockHash:logIndex``) and ``tx_key`` (``txHash:logIndex``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import structlog
from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3.exceptions import BlockNotFound

from offchain.errors import ConfigError, L2KitError, RpcError

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

log = structlog.get_logger("l2kit.follower")


class FollowerError(L2KitError, RuntimeError):
    """The follower cannot continue (reorg deeper than its memory, circuit breaker open)."""


@dataclass
class FollowerConfig:
    """Knobs of :class:`LogFollower` (units in the names).

    Attributes:
        confirmations: process a block only once it has this many blocks on top of it.
        max_block_step: most blocks scanned by one ``eth_getLogs`` call.
        start_block: first block to scan when there is no cursor yet.
        poll_interval_ms: pause between polls in :meth:`LogFollower.run`.
        jitter_pct: random extra pause, in percent of ``poll_interval_ms``.
        max_failures: consecutive failed polls before :meth:`LogFollower.run` gives up.
        reorg_window: how many processed blocks' hashes the cursor remembers (deepest
            reorg that can be followed).
    """

    confirmations: int = 0
    max_block_step: int = 1000
    start_block: int = 0
    poll_interval_ms: int = 200
    jitter_pct: int = 20
    max_failures: int = 3
    reorg_window: int = 128


@dataclass(frozen=True)
class LogEvent:
    """One decoded log.

    Attributes:
        id: ``blockHash:logIndex``, unique on one chain view (stable across re-deliveries
            of the same block).
        tx_key: ``txHash:logIndex``.
        event: event name (e.g. ``Poked``).
        args: decoded event arguments.
    """

    id: str
    tx_key: str
    event: str
    args: dict[str, Any]
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


@dataclass
class Cursor:
    """Where a follower is: last processed block and recent block hashes (with delivered ids)."""

    block: int
    hash: str
    key: str = ""
    recent: list[dict[str, Any]] = field(default_factory=list)  # [{"n", "hash", "ids"}] ascending


class CursorFile:
    """A cursor persisted as JSON, written atomically (temp file, fsync, rename).

    Args:
        path: the file (its directory is created if missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> Cursor | None:
        """The saved cursor, or ``None`` if there is none yet.

        Raises:
            ConfigError: the file exists but is not a cursor.
        """
        try:
            data = json.loads(self.path.read_text())
            return Cursor(int(data["block"]), str(data["hash"]), str(data.get("key", "")),
                          list(data.get("recent", [])))  # fmt: skip
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ConfigError(
                f"malformed follower cursor {self.path}: {e}",
                "delete it to rescan from start_block",
            ) from e

    def save(self, cursor: Cursor) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(cursor.__dict__, separators=(",", ":"))
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class Subscription:
    """Events ``events`` of ``contract`` (all of its events if empty)."""

    contract: Contract
    events: tuple[str, ...] = ()


def _hex(v: Any) -> str:
    return HexBytes(v).to_0x_hex()


class LogFollower:
    """Deliver logs of the subscribed events to ``handler``, surviving restarts and reorgs.

    Args:
        w3: connected Web3.
        subscriptions: ``Subscription`` objects or ``(contract, "EventName")`` pairs.
        handler: called with each :class:`LogEvent`, in chain order; must be idempotent.
        cursor_path: JSON cursor file (``None``: keep the cursor in memory only).
        config: confirmations, step, polling and breaker settings.
        on_reorg: called as ``on_reorg(ancestor_block, orphaned_ids)`` before re-delivery.
        name: used in logs and :meth:`health`.
    """

    def __init__(
        self,
        w3: Web3,
        subscriptions: Sequence[Subscription | tuple[Contract, str]],
        handler: Callable[[LogEvent], Any],
        cursor_path: Path | None = None,
        config: FollowerConfig | None = None,
        on_reorg: Callable[[int, list[str]], Any] | None = None,
        name: str = "follower",
    ) -> None:
        self.w3 = w3
        self.handler = handler
        self.on_reorg = on_reorg
        self.config = config or FollowerConfig()
        self.name = name
        self._store = CursorFile(cursor_path) if cursor_path is not None else None
        # topic0 -> (contract, event name); the decoder for each subscribed event.
        self._decoders: dict[bytes, list[tuple[Contract, str]]] = {}
        addresses: set[str] = set()
        for sub in subscriptions:
            s = sub if isinstance(sub, Subscription) else Subscription(sub[0], (sub[1],))
            events: list[dict[str, Any]] = [
                dict(e) for e in s.contract.abi if e.get("type") == "event"
            ]
            wanted = set(s.events) or {e["name"] for e in events}
            unknown = wanted - {e["name"] for e in events}
            if unknown:
                raise ConfigError(f"contract {s.contract.address} has no event {sorted(unknown)}")
            for e in events:
                if e["name"] in wanted:
                    topic = event_abi_to_log_topic(e)  # type: ignore[arg-type]
                    self._decoders.setdefault(topic, []).append((s.contract, e["name"]))
            addresses.add(s.contract.address)
        self._addresses = sorted(addresses)
        self._topics = sorted(_hex(t) for t in self._decoders)
        self._key = ",".join(self._addresses) + "|" + ",".join(self._topics)
        self.cursor: Cursor | None = self._store.load() if self._store else None
        if self.cursor is not None and self.cursor.key and self.cursor.key != self._key:
            raise ConfigError(
                f"cursor {cursor_path} belongs to other contracts/events",
                "use one cursor file per follower",
            )
        self._lock = threading.Lock()
        self.stats: dict[str, Any] = {
            "delivered": 0,
            "reorgs": 0,
            "last_reorg_depth": 0,
            "polls": 0,
            "failures_in_row": 0,
            "tripped": False,
            "last_error": None,
            "head": None,
            "last_poll_at": None,
        }

    # ------------------------------------------------------------------ polling
    def poll(self) -> dict[str, int]:
        """Process at most one step of confirmed blocks (handling a reorg first if needed).

        Returns:
            ``{"from": first block scanned, "to": last block scanned, "delivered": n,
            "reorg_depth": blocks rolled back (0 if none), "lag": blocks behind the head}``.

        Raises:
            RpcError: the node cannot be reached.
            FollowerError: a reorg deeper than ``reorg_window``.
            Exception: whatever the handler raised (the step is retried on the next poll).
        """
        with self._lock:
            try:
                return self._poll()
            except requests.RequestException as e:
                raise RpcError(f"{self.name}: cannot reach the L1 RPC: {e}") from e

    def _poll(self) -> dict[str, int]:
        cfg = self.config
        head = int(self.w3.eth.block_number)
        self.stats["head"] = head
        self.stats["polls"] += 1
        self.stats["last_poll_at"] = time.time()
        safe = head - cfg.confirmations
        depth = self._check_reorg()
        start = self.cursor.block + 1 if self.cursor else cfg.start_block
        if safe < start:
            return {"from": start, "to": start - 1, "delivered": 0, "reorg_depth": depth,
                    "lag": max(0, head - start + 1)}  # fmt: skip
        end = min(safe, start + cfg.max_block_step - 1)
        to_hash = _hex(self.w3.eth.get_block(end)["hash"])
        logs = self.w3.eth.get_logs(
            {
                "fromBlock": start,
                "toBlock": end,
                "address": self._addresses,  # type: ignore[typeddict-item]
                "topics": [self._topics],  # type: ignore[list-item]
            }
        )
        # A reorg while we read would mix two chains: re-check the end block, retry later.
        if _hex(self.w3.eth.get_block(end)["hash"]) != to_hash or any(
            int(lg["blockNumber"]) == end and _hex(lg["blockHash"]) != to_hash for lg in logs
        ):
            log.warning("chain moved during the scan; retrying", follower=self.name, block=end)
            return {"from": start, "to": start - 1, "delivered": 0, "reorg_depth": depth,
                    "lag": head - start + 1}  # fmt: skip
        ids_by_block: dict[int, tuple[str, list[str]]] = {}
        delivered = 0
        for lg in sorted(logs, key=lambda x: (int(x["blockNumber"]), int(x["logIndex"]))):
            ev = self._decode(lg)
            if ev is None:
                continue
            self.handler(ev)
            delivered += 1
            self.stats["delivered"] += 1
            ids_by_block.setdefault(ev.block_number, (ev.block_hash, []))[1].append(ev.id)
        self._advance(end, to_hash, ids_by_block)
        return {"from": start, "to": end, "delivered": delivered, "reorg_depth": depth,
                "lag": head - end}  # fmt: skip

    def _decode(self, lg: Any) -> LogEvent | None:
        topics = lg.get("topics") or []
        if not topics:
            return None
        for contract, name in self._decoders.get(bytes(HexBytes(topics[0])), []):
            if contract.address.lower() != str(lg["address"]).lower():
                continue
            d = contract.events[name]().process_log(lg)
            bh, th, li = _hex(lg["blockHash"]), _hex(lg["transactionHash"]), int(lg["logIndex"])
            return LogEvent(
                id=f"{bh}:{li}",
                tx_key=f"{th}:{li}",
                event=name,
                args=dict(d["args"]),
                address=str(lg["address"]),
                block_number=int(lg["blockNumber"]),
                block_hash=bh,
                tx_hash=th,
                log_index=li,
            )
        return None

    def _advance(self, end: int, end_hash: str, ids: dict[int, tuple[str, list[str]]]) -> None:
        recent = list(self.cursor.recent) if self.cursor else []
        for n in sorted(ids):
            if n != end:
                recent.append({"n": n, "hash": ids[n][0], "ids": ids[n][1]})
        recent.append({"n": end, "hash": end_hash, "ids": ids.get(end, ("", []))[1]})
        self.cursor = Cursor(end, end_hash, self._key, recent[-self.config.reorg_window :])
        if self._store:
            self._store.save(self.cursor)

    def _hash_at(self, n: int) -> str | None:
        """Hash of block ``n`` on the node's chain, or ``None`` if the chain is shorter."""
        try:
            return _hex(self.w3.eth.get_block(n)["hash"])
        except BlockNotFound:
            return None

    def _check_reorg(self) -> int:
        """If the last processed block was replaced, roll back to the common ancestor.

        Returns:
            The number of blocks rolled back (0: no reorg).
        """
        cur = self.cursor
        if cur is None:
            return 0
        if self._hash_at(cur.block) == cur.hash:
            return 0
        # Walk back through what we recorded; the newest block still on the chain is the
        # common ancestor (everything below it is canonical too: hashes chain).
        orphaned: list[str] = []
        ancestor: dict[str, Any] | None = None
        kept: list[dict[str, Any]] = []
        for i in range(len(cur.recent) - 1, -1, -1):
            entry = cur.recent[i]
            if self._hash_at(int(entry["n"])) == entry["hash"]:
                ancestor = entry
                kept = cur.recent[: i + 1]
                break
            orphaned = list(entry.get("ids", [])) + orphaned
        if ancestor is None:
            oldest = cur.recent[0]["n"] if cur.recent else cur.block
            raise FollowerError(
                f"{self.name}: reorg deeper than the {len(cur.recent)} recorded blocks "
                f"(back past block {oldest})",
                "raise reorg_window or confirmations, or delete the cursor to rescan",
            )
        depth = cur.block - int(ancestor["n"])
        self.stats["reorgs"] += 1
        self.stats["last_reorg_depth"] = depth
        log.warning("reorg", follower=self.name, ancestor=ancestor["n"], depth=depth,
                    orphaned=len(orphaned))  # fmt: skip
        if self.on_reorg is not None:
            self.on_reorg(int(ancestor["n"]), orphaned)
        self.cursor = Cursor(int(ancestor["n"]), str(ancestor["hash"]), self._key, kept)
        if self._store:
            self._store.save(self.cursor)
        return depth

    def catch_up(self, max_polls: int = 1000) -> int:
        """Poll until the confirmed head is processed; return the number of logs delivered."""
        total = 0
        for _ in range(max_polls):
            r = self.poll()
            total += r["delivered"]
            if r["lag"] <= self.config.confirmations:
                return total
        return total

    # --------------------------------------------------------------------- loop
    async def run(self, stop_event: asyncio.Event | threading.Event) -> None:
        """Poll until ``stop_event`` is set, pausing ``poll_interval_ms`` (+ jitter) between polls.

        A failed poll is logged and retried on the next tick; after ``max_failures`` failures
        in a row the circuit breaker opens and the loop stops.

        Raises:
            FollowerError: the circuit breaker opened (``health()["tripped"]`` is true).
        """
        cfg = self.config
        while not stop_event.is_set():
            try:
                result = await asyncio.to_thread(self.poll)
                self.stats["failures_in_row"] = 0
                busy = result["lag"] > cfg.confirmations  # more to do: poll again at once
            except Exception as e:  # noqa: BLE001 - every failure counts towards the breaker
                self.stats["failures_in_row"] += 1
                self.stats["last_error"] = f"{type(e).__name__}: {e}"
                log.error("poll failed", follower=self.name, error=self.stats["last_error"],
                          failures=self.stats["failures_in_row"])  # fmt: skip
                if self.stats["failures_in_row"] >= cfg.max_failures:
                    self.stats["tripped"] = True
                    raise FollowerError(
                        f"{self.name}: stopped after {cfg.max_failures} failed polls in a row: "
                        f"{self.stats['last_error']}",
                        "check the L1 RPC and the handler, then restart",
                    ) from e
                busy = False
            if busy:
                await asyncio.sleep(0)
                continue
            pause = cfg.poll_interval_ms / 1000 * (1 + random.random() * cfg.jitter_pct / 100)
            await _wait(stop_event, pause)

    def health(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of the follower's state."""
        cur = self.cursor
        head = self.stats["head"]
        return {
            "name": self.name,
            "ok": not self.stats["tripped"],
            "cursor_block": cur.block if cur else None,
            "cursor_hash": cur.hash if cur else None,
            "head": head,
            "lag_blocks": (head - cur.block) if (cur and head is not None) else None,
            "confirmations": self.config.confirmations,
            "contracts": list(self._addresses),
            **{k: v for k, v in self.stats.items() if k != "head"},
        }


async def _wait(stop_event: asyncio.Event | threading.Event, seconds: float) -> None:
    if isinstance(stop_event, asyncio.Event):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=seconds)
        return
    deadline = time.monotonic() + seconds
    while not stop_event.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


__all__ = [
    "Cursor",
    "CursorFile",
    "FollowerConfig",
    "FollowerError",
    "LogEvent",
    "LogFollower",
    "Subscription",
]
