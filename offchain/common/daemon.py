"""The one loop every long-lived agent runs: rollup batcher, verifier, block producer and
deposit follower, the sequencer set's rotation follower, and each EMETH agent.

A :class:`Daemon` calls its ``tick()`` every ``poll_interval_ms`` (± ``jitter_pct``) on a
thread. A failure is logged and retried on the next tick; after ``max_failures`` failures in a
row the circuit breaker opens and the loop stops (``max_failures = 0``: it never opens).
Subclasses keep their own ``health()`` and read the loop's state from :meth:`loop_state`.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

import structlog


@dataclass
class LoopConfig:
    """Polling knobs of one daemon (units in names).

    Attributes:
        poll_interval_ms: pause between two ticks.
        jitter_pct: random ± spread of the pause, in percent of it.
        max_failures: failed ticks in a row that open the circuit breaker (0: never).
    """

    poll_interval_ms: int = 200
    jitter_pct: int = 25
    max_failures: int = 3


class Daemon:
    """Base class of a polling agent: ``start``/``stop`` a thread around ``tick()``.

    Args:
        loop: polling knobs.
        name: name in logs, health and the thread name (default: the class's ``name``).
        log: structlog logger to use (default: one bound to ``daemon=name``).

    Attributes:
        retry_on: exception types a tick may raise and the loop retries; any other one ends
            the thread at once (a bug, not a transient error).
    """

    name = "daemon"
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __init__(
        self, loop: LoopConfig | None = None, name: str | None = None, log: Any = None
    ) -> None:
        self.loop = loop or LoopConfig()
        if name:
            self.name = name
        self.log = log if log is not None else structlog.get_logger("daemon").bind(daemon=self.name)
        self.ticks = 0
        self.failures_in_row = 0
        self.last_error: str | None = None
        self.last_tick_at: float | None = None
        self.tripped = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------- subclass hooks
    def tick(self) -> Any:
        """One poll (implemented by the agent)."""
        raise NotImplementedError

    def busy(self, out: Any) -> bool:
        """True when the tick that returned ``out`` did work: poll again without pausing."""
        return False

    def on_tick(self, out: Any) -> None:
        """Called after each successful tick with its result (counters, logs)."""

    def thread_name(self) -> str:
        return self.name

    # ------------------------------------------------------------------- the loop
    def step(self) -> Any:
        """Run one tick with the loop's failure bookkeeping; None when it failed."""
        try:
            out = self.tick()
        except self.retry_on as e:
            self.failures_in_row += 1
            self.last_error = f"{type(e).__name__}: {e}"
            self.log.warning("tick_failed", error=self.last_error, in_row=self.failures_in_row)
            if 0 < self.loop.max_failures <= self.failures_in_row:
                self.tripped = True
                self.log.error("circuit_open", failures=self.failures_in_row)
            return None
        self.failures_in_row = 0
        self.ticks += 1
        self.last_tick_at = time.time()
        self.on_tick(out)
        return out

    def pause_s(self) -> float:
        """The next pause: ``poll_interval_ms`` ± ``jitter_pct``."""
        base = self.loop.poll_interval_ms / 1000
        jitter = base * self.loop.jitter_pct / 100
        return max(0.0, base + random.uniform(-jitter, jitter))

    def run(self, stop: threading.Event | None = None) -> None:
        """Tick until ``stop`` (or :meth:`stop`) is set or the circuit breaker opens."""
        stop = stop or self._stop
        while not stop.is_set() and not self._stop.is_set() and not self.tripped:
            out = self.step()
            if out is not None and self.busy(out):
                continue  # more work may be waiting: poll again at once
            stop.wait(self.pause_s())

    def start(self) -> Self:
        """Run the loop on a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=self.thread_name(), daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the loop to stop and wait for its thread (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def loop_state(self) -> dict[str, Any]:
        """The loop's part of ``health()``: alive, breaker, ticks, failures, last error."""
        return {
            "alive": self.alive,
            "tripped": self.tripped,
            "ticks": self.ticks,
            "failuresInRow": self.failures_in_row,
            "lastError": self.last_error,
            "lastTickAt": self.last_tick_at,
        }
