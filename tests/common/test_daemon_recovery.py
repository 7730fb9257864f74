"""Attack: a dependency of an agent goes away and comes back (a real storage service process
thread on a fixed port, stopped and restarted). The agent must resume by itself."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from offchain.chain.anvil import free_port
from offchain.common.daemon import Daemon, LoopConfig
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
        time.sleep(2.0)
        before = len(agent.stored)
        server = StorageServer(tmp_path / "blobs", port=port).start()
        back_at = time.monotonic()
        assert _wait(lambda: len(agent.stored) > before, 10), "agent did not resume"
        assert time.monotonic() - back_at <= 10
        assert agent.alive
        # nothing done twice: every stored key is distinct (one blob per successful tick)
        assert len(set(agent.stored)) == len(agent.stored)
    finally:
        agent.stop()
        server.stop()
