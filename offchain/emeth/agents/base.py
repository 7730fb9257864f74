"""What every EMETH agent shares: the polling loop, jitter, circuit breaker, health, logs.

An agent implements :meth:`Agent.tick` (one poll: look at the execution layer, act, return
a small dict of counters). :meth:`Agent.run` calls it every ``poll_interval_ms`` with random
jitter until stopped; an exception is logged and retried on the next tick, and after
``max_failures`` failures in a row the circuit breaker opens and the agent stops.
Actions are idempotent (stable ids, EIP-712 digests), so a restarted agent just polls again.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from offchain.emeth.errors import ExecutionLayerError

if TYPE_CHECKING:
    from offchain.emeth.execution.client import ExecutionClient
    from offchain.emeth.programs import ProgramRegistry
    from offchain.storage.client import BlobClient


@dataclass
class LoopConfig:
    """Polling knobs (units in names)."""

    poll_interval_ms: int = 200
    jitter_pct: int = 25
    max_failures: int = 3


class StateFile:
    """A small JSON document persisted atomically (write to a temp file, then rename)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {}
        if self.path is not None and self.path.exists():
            try:
                self.data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self.data = {}

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, sort_keys=True))
        os.replace(tmp, self.path)


class Agent:
    """Base class of a polling daemon.

    Args:
        name: agent name in logs and health.
        loop: polling knobs.
    """

    name = "agent"

    def __init__(self, loop: LoopConfig | None = None, name: str | None = None) -> None:
        self.loop = loop or LoopConfig()
        if name:
            self.name = name
        self.log = structlog.get_logger("emeth").bind(agent=self.name)
        self.ticks = 0
        self.failures_in_row = 0
        self.last_error: str | None = None
        self.last_tick_at: float | None = None
        self.totals: dict[str, int] = {}
        self.tripped = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> dict[str, int]:
        """One poll. Returns counters (e.g. ``{"verified": 2}``)."""
        raise NotImplementedError

    def step(self) -> dict[str, int]:
        """Run one tick with the failure bookkeeping of :meth:`run` (tests call this)."""
        try:
            out = self.tick()
        except Exception as e:  # noqa: BLE001 - the breaker decides what a failure means
            self.failures_in_row += 1
            self.last_error = f"{type(e).__name__}: {e}"
            self.log.warning("tick_failed", error=self.last_error, in_row=self.failures_in_row)
            if self.failures_in_row >= self.loop.max_failures:
                self.tripped = True
                self.log.error("circuit_open", failures=self.failures_in_row)
            return {}
        self.failures_in_row = 0
        self.ticks += 1
        self.last_tick_at = time.time()
        for k, v in out.items():
            self.totals[k] = self.totals.get(k, 0) + v
        if any(out.values()):
            self.log.info("tick", **out)
        return out

    def run(self, stop: threading.Event | None = None) -> None:
        """Poll until ``stop`` (or :meth:`stop`) is set or the circuit breaker opens."""
        stop = stop or self._stop
        self.log.info("started")
        while not stop.is_set() and not self._stop.is_set() and not self.tripped:
            out = self.step()
            if any(out.values()):
                continue  # more work may be waiting: poll again at once
            base = self.loop.poll_interval_ms / 1000
            jitter = base * self.loop.jitter_pct / 100
            stop.wait(max(0.0, base + random.uniform(-jitter, jitter)))
        self.log.info("stopped", tripped=self.tripped)

    def start(self) -> Agent:
        """Run in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"emeth-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the loop to stop and wait for it (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def health(self) -> dict[str, Any]:
        """Serializable state: alive, ticks, failures, last error, totals."""
        alive = self._thread is not None and self._thread.is_alive()
        return {
            "agent": self.name,
            "alive": alive,
            "tripped": self.tripped,
            "ticks": self.ticks,
            "failuresInRow": self.failures_in_row,
            "lastError": self.last_error,
            "lastTickAt": self.last_tick_at,
            "totals": dict(self.totals),
        }


class ActingAgent(Agent):
    """An agent that signs actions for the execution layer with its own key.

    Args:
        client: execution layer client.
        account: the agent's key.
        loop: polling knobs.
        name: agent name in logs and health (default: the class's ``name``).
    """

    def __init__(
        self,
        client: ExecutionClient,
        account: Any,
        loop: LoopConfig | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(loop, name)
        self.client = client
        self.account = account

    def try_act(self, action: str, msg: dict[str, Any]) -> bool:
        """Sign and send ``action``; False if the execution layer refused it (a lost race).

        Raises:
            Exception: any other failure (the loop's circuit breaker counts it).
        """
        try:
            self.client.act(action, msg, self.account)
        except Exception as e:
            if refused(e):
                return False
            raise
        return True


class ProgramAgent(ActingAgent):
    """An acting agent that runs programs over stored blobs (splitter, node, verifier, aggregator).

    Args:
        client: execution layer client.
        blobs: storage client.
        programs: program registry.
        account: the agent's key.
        loop: polling knobs.
        name: agent name in logs and health (default: the class's ``name``).
    """

    def __init__(
        self,
        client: ExecutionClient,
        blobs: BlobClient,
        programs: ProgramRegistry,
        account: Any,
        loop: LoopConfig | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(client, account, loop, name)
        self.blobs = blobs
        self.programs = programs


def refused(e: Exception, *codes: str) -> bool:
    """True when ``e`` is the execution layer refusing with one of ``codes`` (a lost race)."""
    return (
        isinstance(e, ExecutionLayerError)
        and e.status in (403, 404, 409)
        and (not codes or e.code in codes)
    )
