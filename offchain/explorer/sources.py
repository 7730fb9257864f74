"""The explorer's view of each source it reads: up, down (why, since when) or not configured.

Sources: ``l1`` (the L1 JSON-RPC), ``node`` (a rollup node's ``l2_*`` JSON-RPC), ``el`` (the
EMETH execution layer's HTTP API). Every page shows the ones that are not ``ok``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

OK, DOWN, OFF = "ok", "down", "off"
SOURCES: dict[str, str] = {
    "l1": "L1 RPC",
    "node": "rollup node RPC",
    "el": "EMETH execution layer",
}


@dataclass
class SourceState:
    """One source's health.

    Attributes:
        name: ``l1``, ``node`` or ``el``.
        url: where it is read ("" when not configured).
        state: ``ok``, ``down`` or ``off``.
        reason: the last error while down.
        since: when the current state began (unix seconds).
        last_ok_at: the last successful read (unix seconds), None if never.
    """

    name: str
    url: str
    state: str
    reason: str = ""
    since: float = 0.0
    last_ok_at: float | None = None

    @property
    def label(self) -> str:
        return SOURCES.get(self.name, self.name)


class SourceBoard:
    """Health of every source, updated by the indexer and read by the pages.

    Args:
        urls: source name -> URL ("" : not configured, state ``off``).
    """

    def __init__(self, urls: dict[str, str]) -> None:
        now = time.time()
        self._lock = threading.Lock()
        self._states = {
            n: SourceState(n, u, OK if u else OFF, "" if u else "not configured", now)
            for n, u in urls.items()
        }

    def ok(self, name: str) -> None:
        with self._lock:
            s = self._states[name]
            if s.state != OK:
                s.state, s.reason, s.since = OK, "", time.time()
            s.last_ok_at = time.time()

    def down(self, name: str, reason: str) -> None:
        with self._lock:
            s = self._states[name]
            if s.state != DOWN:
                s.state, s.since = DOWN, time.time()
            s.reason = reason[:300]

    def is_ok(self, name: str) -> bool:
        with self._lock:
            return self._states[name].state == OK

    def configured(self, name: str) -> bool:
        with self._lock:
            return self._states[name].state != OFF

    def all(self) -> list[SourceState]:
        with self._lock:
            return [SourceState(**asdict(s)) for s in self._states.values()]

    def to_json(self) -> dict[str, Any]:
        return {s.name: asdict(s) for s in self.all()}
