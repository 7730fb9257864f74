"""The background loop of the rollup's batcher and verifier daemons.

A daemon calls ``tick()`` every ``config.poll_interval_ms`` (with ±20 % jitter) on a thread;
a failure is logged and retried, and after :attr:`PollingDaemon.MAX_FAILURES` failures in a
row the loop stops (circuit breaker; ``health()`` then reports it not alive).
"""

from __future__ import annotations

import random
import threading
from typing import Any, Self


class PollingDaemon:
    """Mixin: ``start``/``stop`` a polling thread around the subclass's ``tick()``.

    The subclass sets ``failures = 0``, ``last_error = ""``, ``_stop = threading.Event()``
    and ``_thread = None`` in its constructor, and has ``config.poll_interval_ms``.

    Attributes:
        log_event: prefix of the log events (``<log_event>_error``, ``<log_event>_stopped``).
    """

    MAX_FAILURES = 10
    log_event = "daemon"
    log: Any  # the subclass module's structlog logger
    config: Any
    failures: int
    last_error: str
    _stop: threading.Event
    _thread: threading.Thread | None

    def tick(self) -> Any:
        """One poll (implemented by the daemon)."""
        raise NotImplementedError

    def log_context(self) -> dict[str, Any]:
        """Extra fields for the loop's log events."""
        return {}

    def thread_name(self) -> str:
        return f"l2-{self.log_event}"

    def start(self) -> Self:
        """Run the loop on a daemon thread."""
        self._thread = threading.Thread(target=self._run, name=self.thread_name(), daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        ctx = self.log_context()
        while not self._stop.is_set():
            try:
                self.tick()
                self.failures = 0
            except Exception as e:  # noqa: BLE001 - logged and retried; circuit breaker below
                self.failures += 1
                self.last_error = str(e)
                self.log.error(
                    f"{self.log_event}_error", **ctx, error=str(e), failures=self.failures
                )
                if self.failures >= self.MAX_FAILURES:
                    self.log.error(
                        f"{self.log_event}_stopped",
                        **ctx,
                        reason=f"{self.MAX_FAILURES} consecutive failures",
                    )
                    return
            self._stop.wait(self.config.poll_interval_ms / 1000 * (0.8 + 0.4 * random.random()))

    def stop(self) -> None:
        """Stop the loop and wait for the thread (at most 15 s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
