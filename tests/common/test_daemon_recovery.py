"""Attack: a dependency of an agent goes away and comes back (a real storage service process
thread on a fixed port, stopped and restarted). The agent must resume by itself."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from offchain.chain.anvil import free_port
from offchain.common.daemon import Daemon, LoopConfig
from offchain.common.health import overall
from offchain.errors import FatalError
from offchain.storage.client import BlobClient
from offchain.storage.server import StorageServer


class PutAgent(Daemon):
    """Stores one new blob per tick: its work needs the storage service."""

    name = "put-agent"

    def __init__(self, url: str, loop: LoopConfig) -> None:
        super().__init__(loop)
        self.blobs = BlobClient(url, timeout_s=0.5)
        self.stored: list[str] = []

    def tick(self) -> Any:
        key = self.blobs.put(f"blob {len(self.stored)}".encode())
        self.stored.append(key)
        return key


def _wait(cond: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


def test_agentResumesAfterStorageOutage(tmp_path: Path) -> None:
    port = free_port()
    server = StorageServer(tmp_path / "blobs", port=port).start()
    agent = PutAgent(server.url, LoopConfig(poll_interval_ms=50)).start()
    try:
        assert _wait(lambda: len(agent.stored) >= 2, 5)
        server.stop()  # outage: far more failures in a row than the breaker allows
        assert _wait(lambda: agent.part_health().state == "down", 5), "outage not reported"
        failed = agent.failures_total  # the outage lasts several more failed (backed-off) ticks
        assert _wait(lambda: agent.failures_total >= failed + 3, 10), "no retries in the outage"
        before = len(agent.stored)
        server = StorageServer(tmp_path / "blobs", port=port).start()
        back_at = time.monotonic()
        assert _wait(lambda: len(agent.stored) > before, 10), "agent did not resume"
        assert time.monotonic() - back_at <= 10
        assert agent.alive and agent.part_health().state == "ok"
        # nothing done twice: every stored key is distinct (one blob per successful tick)
        assert len(set(agent.stored)) == len(agent.stored)
    finally:
        agent.stop()
        server.stop()


class Scripted(Daemon):
    """A loop whose ticks do what the test says."""

    def __init__(self, loop: LoopConfig, fail: BaseException | None = None) -> None:
        super().__init__(loop, name="scripted")
        self.fail = fail
        self.hold_s = 0.0

    def tick(self) -> Any:
        if self.hold_s:
            time.sleep(self.hold_s)
        if self.fail is not None:
            raise self.fail
        return None


def test_fatalErrorEndsLoopAndIsReportedDown() -> None:
    d = Scripted(LoopConfig(poll_interval_ms=10), FatalError("wrong chain: id 5, expected 1"))
    d.start()
    assert _wait(lambda: not d.alive, 5)
    h = d.health_doc()
    assert h["tripped"] and "wrong chain" in h["fatal"]
    code, body = overall({"scripted": h})
    assert code == 503 and body["failing"] == [f"scripted: stopped: {h['fatal']}"]
    d.stop()


def test_stalledWorkIsReportedDown() -> None:
    d = Scripted(LoopConfig(poll_interval_ms=10, stall_after_s=0.3))
    d.waiting = "3 blocks unbatched"
    d.start()
    try:
        assert _wait(lambda: d.part_health().state == "down", 5)
        assert "stalled: 3 blocks unbatched" in str(d.part_health().reason)
        d.waiting = None  # work done: progress again
        assert _wait(lambda: d.part_health().state == "ok", 5)
        d.hold_s = 1.0  # one tick hangs (a transaction that never gets mined)
        assert _wait(lambda: "one tick running" in str(d.part_health().reason), 5)
    finally:
        d.hold_s = 0.0
        d.stop()


def test_transientFailureIsDegradedThenDownThenOk() -> None:
    d = Scripted(LoopConfig(poll_interval_ms=10, max_failures=3, backoff_initial_ms=20,
                            backoff_max_ms=100), RuntimeError("L1 RPC refused"))  # fmt: skip
    d.start()
    try:
        assert _wait(lambda: d.failures_in_row >= 1, 5)
        assert _wait(lambda: d.part_health().state == "down", 5)
        assert d.part_health().reason is not None and "L1 RPC refused" in d.part_health().reason
        d.fail = None
        assert _wait(lambda: d.part_health().state == "ok", 5)
        assert d.alive
    finally:
        d.stop()


def test_processWaitEndsWithFatalErrorOfALoop() -> None:
    """The CLI's wait (``wait_for_signal(daemons=...)``) ends with FatalError (exit code 3)
    once a watched loop stopped on an error a restart cannot fix."""
    import threading

    import pytest

    from offchain.cli_common import wait_for_signal

    d = Scripted(LoopConfig(poll_interval_ms=10), FatalError("wrong chain: id 5, expected 1"))
    d.start()
    try:
        with pytest.raises(FatalError) as ei:
            wait_for_signal(threading.Event(), daemons=lambda: [d])
        assert "wrong chain" in str(ei.value) and ei.value.exit_code == 3
    finally:
        d.stop()
