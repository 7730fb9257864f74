"""Run several sequencer daemons as separate processes (devnet, failover tests, bench).

Each member is ``l2kit sequencer run --dev-account N`` in its own process, so stopping one
(SIGKILL) is a real crash: its heartbeats stop and the others must reselect on L1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import requests

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.staking.errors import StakingError


@dataclass
class Member:
    """One daemon process."""

    dev_index: int
    address: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class SequencerCluster:
    """Sequencer daemons for dev accounts ``dev_indices`` against ``rpc_url``/``deployment``.

    Args:
        rpc_url: L1 RPC.
        deployment: deployment file path.
        data_dir: per-member data dirs and logs go here.
        dev_indices: Anvil dev accounts (signers) to run.
        poll_ms: rotation poll interval of each daemon.
        frost: pass every member's URL to every member (``--peer``): the daemons generate and
            reshare the FROST key themselves.
        later: members to start later with :meth:`start_member`.
    """

    rpc_url: str
    deployment: Path
    data_dir: Path
    dev_indices: list[int] = field(default_factory=lambda: [1, 2, 3, 4])
    poll_ms: int = 200
    frost: bool = False
    later: list[int] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)

    def start(self, timeout_s: float = 60.0) -> SequencerCluster:
        """Start every member and wait until each answers ``/health`` with its follower running.

        Members in ``later`` get a port (and, with ``frost``, a ``--peer`` entry in everyone's
        list) but are started by :meth:`start_member` (e.g. once they have locked stake).

        Raises:
            StakingError: a member exited or did not come up within ``timeout_s``.
        """
        self._ports = {i: free_port() for i in [*self.dev_indices, *self.later]}
        self._peer_args: list[str] = []
        if self.frost:
            for i, p in self._ports.items():
                self._peer_args += ["--peer", f"{dev_account(i).address}=http://127.0.0.1:{p}"]
        for i in self.dev_indices:
            self._spawn(i)
        deadline = time.monotonic() + timeout_s
        for m in list(self.members.values()):
            self._wait_up(m, deadline)
        return self

    def start_member(self, dev_index: int, timeout_s: float = 60.0) -> Member:
        """Start a member of ``later`` and wait until it is up."""
        m = self._spawn(dev_index)
        self._wait_up(m, time.monotonic() + timeout_s)
        return m

    def _spawn(self, i: int) -> Member:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        addr = dev_account(i).address
        port = self._ports[i]
        d = self.data_dir / f"seq{i}"
        d.mkdir(parents=True, exist_ok=True)
        log_path = d / "daemon.log"
        cmd = [
            sys.executable, "-m", "offchain.cli", "sequencer", "run",
            "--dev-account", str(i), "--rpc-url", self.rpc_url,
            "--deployment", str(self.deployment), "--port", str(port),
            "--data-dir", str(d), "--poll-ms", str(self.poll_ms), *self._peer_args,
        ]  # fmt: skip
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        m = Member(i, addr, port, proc, log_path)
        self.members[addr] = m
        return m

    def _wait_up(self, m: Member, deadline: float) -> None:
        while True:
            if not m.alive():
                self.stop()
                raise StakingError(f"sequencer daemon dev#{m.dev_index} exited: {self.tail(m)}")
            try:
                h = requests.get(f"{m.url}/health", timeout=1).json()
                if h.get("running") and h.get("state"):
                    return
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise StakingError(f"sequencer daemon dev#{m.dev_index} did not come up")
            time.sleep(0.1)

    def tail(self, m: Member, lines: int = 5) -> str:
        try:
            return " | ".join(m.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "?"

    def kill(self, address: str) -> float:
        """SIGKILL the member whose signer is ``address``; returns the time of the kill."""
        m = self.members[address]
        m.proc.send_signal(signal.SIGKILL)
        t = time.perf_counter()
        m.proc.wait(timeout=10)
        return t

    def stop(self) -> None:
        """SIGTERM every member (SIGKILL after 10 s). Safe to call twice."""
        for m in self.members.values():
            if m.alive():
                m.proc.send_signal(signal.SIGTERM)
        for m in self.members.values():
            try:
                m.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait()

    def __enter__(self) -> SequencerCluster:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def wait_for_new_current(sset: object, old: str, timeout_s: float, poll_s: float = 0.05) -> str:
    """Poll ``SequencerSet.currentSequencer()`` until it is not ``old``.

    Raises:
        StakingError: still ``old`` after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cur = str(sset.functions.currentSequencer().call())  # type: ignore[attr-defined]
        if cur != old:
            return cur
        time.sleep(poll_s)
    raise StakingError(f"{old} is still the current sequencer after {timeout_s}s")
