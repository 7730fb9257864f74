"""Agent loop mechanics without a chain: circuit breaker, health, clean stop."""

from __future__ import annotations

import time

from offchain.chain.accounts import dev_account
from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.timeouts import TimeoutWatcher
from offchain.emeth.execution.client import ExecutionClient


def test_circuit_breaker_opens_after_failures_in_a_row() -> None:
    client = ExecutionClient("http://127.0.0.1:9", timeout_s=0.5)  # nothing listens there
    w = TimeoutWatcher(
        client, dev_account(37), loop=LoopConfig(poll_interval_ms=10, max_failures=3)
    )
    w.start()
    deadline = time.monotonic() + 10
    while w.health()["alive"] and time.monotonic() < deadline:
        time.sleep(0.05)
    h = w.health()
    assert h["tripped"] and not h["alive"] and h["failuresInRow"] == 3
    assert "cannot reach the execution layer" in h["lastError"]
    w.stop()


def test_stop_is_prompt() -> None:
    client = ExecutionClient("http://127.0.0.1:9", timeout_s=0.2)
    w = TimeoutWatcher(
        client, dev_account(37), loop=LoopConfig(poll_interval_ms=5000, max_failures=99)
    )
    w.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    w.stop()
    assert time.monotonic() - t0 < 2 and not w.health()["alive"]
