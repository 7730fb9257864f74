"""The one loop every long-lived agent runs: rollup batcher, verifier, block producer and
deposit follower, the sequencer set's rotation follower, and each EMETH agent.

A :class:`Daemon` calls its ``tick()`` every ``poll_interval_ms`` (± ``jitter_pct``) on a
thread. A failed tick is retried with exponential backoff and jitter (tenacity: ``backoff_
initial_ms`` doubling up to ``backoff_max_ms``, plus up to ``backoff_initial_ms`` of random
jitter) **forever**: a dependency that comes back (L1 node, storage, execution layer, peer)
is used again without a restart. Only a :class:`~offchain.errors.FatalError` (an error a
restart cannot fix: bad config, wrong chain) or an exception outside ``retry_on`` (a bug)
ends the loop; ``fatal`` then says why and the process running it exits non-zero.

Health is a state machine per loop (:mod:`offchain.common.health`): ``ok``; ``degraded``
while ticks fail fewer than ``max_failures`` times in a row; ``down`` once they fail
``max_failures`` times in a row, when the loop ended, or when it is **stalled**: a tick has
been running, or work has been waiting (``self.waiting``, set by the agent) with no
progress, for more than ``stall_after_s``.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

import structlog
import tenacity

from offchain.common.health import HealthTracker, PartHealth, State
from offchain.errors import FatalError


@dataclass
class LoopConfig:
    """Polling knobs of one daemon (units in names).

    Attributes:
        poll_interval_ms: pause between two ticks.
        jitter_pct: random ± spread of the pause, in percent of it.
        max_failures: failed ticks in a row after which health reports the loop ``down``
            (0: never). The loop keeps retrying: it never gives up on a transient error.
        backoff_initial_ms: first pause after a failed tick (doubles on each failure).
        backoff_max_ms: longest pause between two failed ticks (so a dependency that comes
            back is used again within about this long).
        stall_after_s: a tick running, or work waiting with no progress, for longer than
            this reports the loop ``down`` (0: no stall detection).
    """

    poll_interval_ms: int = 200
    jitter_pct: int = 25
    max_failures: int = 3
    backoff_initial_ms: int = 200
    backoff_max_ms: int = 5000
    stall_after_s: float = 0.0


class Daemon:
    """Base class of a polling agent: ``start``/``stop`` a thread around ``tick()``.

    Args:
        loop: polling knobs.
        name: name in logs, health and the thread name (default: the class's ``name``).
        log: structlog logger to use (default: one bound to ``daemon=name``).

    Attributes:
        retry_on: exception types a tick may raise and the loop retries; any other one ends
            the thread at once (a bug, not a transient error). A ``FatalError`` always ends it.
        waiting: set by the agent's tick: a description of work waiting for it (e.g. ``"3
            blocks unbatched"``), or None. Work waiting with no progress is a stall.
        fatal: why the loop ended on its own (None while it runs or after a clean stop).
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
        self.failures_total = 0
        self.last_error: str | None = None
        self.last_tick_at: float | None = None
        self.last_progress_at = time.time()
        self.waiting: str | None = None
        self.fatal: str | None = None
        self._tick_started: float | None = None
        self._health = HealthTracker()
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
    @property
    def tripped(self) -> bool:
        """True when the loop ended on its own (fatal error or bug), not by :meth:`stop`."""
        return self.fatal is not None

    def _attempt(self) -> Any:
        """One tick with the failure bookkeeping; re-raises what the tick raised."""
        self._tick_started = time.time()
        try:
            out = self.tick()
        except BaseException as e:
            self.failures_in_row += 1
            self.failures_total += 1
            self.last_error = f"{type(e).__name__}: {e}"[:300]
            self.log.warning("tick_failed", error=self.last_error, in_row=self.failures_in_row)
            raise
        finally:
            self._tick_started = None
        self.failures_in_row = 0
        self.ticks += 1
        now = time.time()
        self.last_tick_at = now
        if self.waiting is None or self.busy(out):
            self.last_progress_at = now
        self.on_tick(out)
        return out

    def step(self) -> Any:
        """Run one tick (tests call this); None when it failed with a retryable error.

        Raises:
            FatalError: the tick hit an error a restart cannot fix.
        """
        try:
            return self._attempt()
        except FatalError:
            raise
        except self.retry_on:
            return None

    def _transient(self, e: BaseException) -> bool:
        return isinstance(e, self.retry_on) and not isinstance(e, FatalError)

    def _retrying(self) -> tenacity.Retrying:
        c = self.loop
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(self._transient),
            wait=tenacity.wait_exponential(
                multiplier=c.backoff_initial_ms / 1000, max=c.backoff_max_ms / 1000
            )
            + tenacity.wait_random(0, c.backoff_initial_ms / 1000),
            stop=tenacity.stop_when_event_set(self._stop),  # never gives up on its own
            sleep=self._sleep,
            reraise=True,
        )

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)  # a stop request cuts a backoff pause short

    def pause_s(self) -> float:
        """The next pause: ``poll_interval_ms`` ± ``jitter_pct``."""
        base = self.loop.poll_interval_ms / 1000
        jitter = base * self.loop.jitter_pct / 100
        return max(0.0, base + random.uniform(-jitter, jitter))

    def run(self, stop: threading.Event | None = None) -> None:
        """Tick until ``stop`` (or :meth:`stop`) is set, or a fatal error / bug ends it."""
        if stop is not None:
            self._stop = stop
        retrying = self._retrying()
        while not self._stop.is_set():
            try:
                out = retrying(self._attempt)
            except FatalError as e:
                self.fatal = f"{type(e).__name__}: {e}"
                self.log.error("fatal_error", error=self.fatal)
                return
            except BaseException as e:
                if self._stop.is_set():
                    return  # stopped while retrying
                self.fatal = f"bug: {type(e).__name__}: {e}"
                self.log.exception("loop_crashed", error=self.fatal)
                return
            if out is not None and self.busy(out):
                continue  # more work may be waiting: poll again at once
            self._stop.wait(self.pause_s())

    def start(self) -> Self:
        """Run the loop on a daemon thread."""
        self._stop.clear()
        self.fatal = None
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

    # ------------------------------------------------------------------ health
    def part_health(self) -> PartHealth:
        """This loop's state (see the module docstring)."""
        c = self.loop
        now = time.time()
        h = self._health
        if self.fatal is not None:
            return h.set(State.DOWN, f"stopped: {self.fatal}")
        if self._thread is not None and not self._thread.is_alive():
            return h.set(State.DOWN, "stopped")
        if self.failures_in_row and 0 < c.max_failures <= self.failures_in_row:
            return h.set(State.DOWN, f"{self.failures_in_row} failures in a row: {self.last_error}")
        started = self._tick_started
        if c.stall_after_s and started is not None and now - started > c.stall_after_s:
            return h.set(State.DOWN, f"stalled: one tick running for over {c.stall_after_s:g}s")
        if c.stall_after_s and self.waiting and now - self.last_progress_at > c.stall_after_s:
            return h.set(
                State.DOWN,
                f"stalled: {self.waiting}, no progress for over {c.stall_after_s:g}s",
            )
        if self.failures_in_row:
            return h.set(State.DEGRADED, self.last_error)
        return h.set(State.OK)

    def health_doc(self) -> dict[str, Any]:
        """A health document of the loop alone (agents extend :meth:`loop_state`)."""
        return {"name": self.name, **self.loop_state()}

    def loop_state(self) -> dict[str, Any]:
        """The loop's part of ``health()``: state, alive, ticks, failures, last error."""
        return {
            "health": self.part_health().to_json(),
            "alive": self.alive,
            "tripped": self.tripped,
            "fatal": self.fatal,
            "ticks": self.ticks,
            "failuresInRow": self.failures_in_row,
            "failuresTotal": self.failures_total,
            "lastError": self.last_error,
            "lastTickAt": self.last_tick_at,
            "waiting": self.waiting,
        }
