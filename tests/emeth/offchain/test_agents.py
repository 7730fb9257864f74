"""Agent loop mechanics without a chain: retry forever, health, clean stop."""

from __future__ import annotations

import time

from offchain.chain.accounts import dev_account
from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.timeouts import TimeoutWatcher
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.runtime import wait_until


def test_agentKeepsRetryingAndReportsDownPastThreshold() -> None:
    client = ExecutionClient("http://127.0.0.1:9", timeout_s=0.5)  # nothing listens there
    w = TimeoutWatcher(
        client,
        dev_account(37),
        loop=LoopConfig(poll_interval_ms=10, max_failures=3, backoff_initial_ms=10,
                        backoff_max_ms=50),
    )  # fmt: skip
    w.start()
    deadline = time.monotonic() + 10
    while w.health()["failuresInRow"] < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    h = w.health()
    assert h["alive"] and not h["tripped"] and h["failuresInRow"] >= 5  # never gives up
    assert h["health"]["state"] == "down"
    assert "cannot reach the execution layer" in h["health"]["reason"]
    w.stop()


def test_stop_is_prompt() -> None:
    client = ExecutionClient("http://127.0.0.1:9", timeout_s=0.2)
    w = TimeoutWatcher(
        client, dev_account(37), loop=LoopConfig(poll_interval_ms=5000, max_failures=99)
    )
    w.start()
    # Its first tick failed: the loop now waits out its (long) pause when stop() is called.
    wait_until(lambda: w.failures_total >= 1, 10, "the first tick")
    t0 = time.monotonic()
    w.stop()
    assert time.monotonic() - t0 < 2 and not w.health()["alive"]
