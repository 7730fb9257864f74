"""Start Anvil on a free loopback port, wait until it answers, and always stop it."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import requests

from offchain.errors import ConfigError, ToolchainError
from offchain.paths import foundry_binary

DEV_MNEMONIC = "test test test test test test test test test test test junk"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def anvil_binary() -> Path:
    """Locate the Anvil binary (npm package first, then PATH).

    Raises:
        ToolchainError: if Anvil is not installed.
    """
    override = os.environ.get("L2KIT_ANVIL")
    if override:
        if not (Path(override).is_file() and os.access(override, os.X_OK)):
            raise ToolchainError(
                f"Anvil not found at L2KIT_ANVIL={override}",
                "unset L2KIT_ANVIL or point it at an anvil binary; `make setup` installs one",
            )
        return Path(override)
    p = foundry_binary("anvil")
    if p is not None and p.exists():
        return p
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ToolchainError(
        "Anvil not found", "run `make setup` (installs @foundry-rs/anvil from npm)"
    )


@dataclass
class Anvil:
    """A running Anvil process. Use as a context manager or call :meth:`start`/:meth:`stop`.

    Args:
        port: TCP port (default: a free one).
        chain_id: chain id.
        accounts: number of funded dev accounts (from :data:`DEV_MNEMONIC`).
        block_time_s: seconds between blocks (``None``: mine on every transaction only).
        mixed_mining: with ``block_time_s``, still mine each transaction at once (Anvil's
            ``--mixed-mining``); ``False``: transactions wait for the next interval block.
        extra_args: passed to anvil as they are.
    """

    port: int | None = None
    chain_id: int = 31337
    accounts: int = 40
    balance_eth: int = 100_000
    block_time_s: float | None = None
    mixed_mining: bool = True
    extra_args: list[str] = field(default_factory=list)
    startup_timeout_s: float = 20.0
    proc: subprocess.Popen[bytes] | None = None
    ready_s: float = 0.0
    _log: object | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Anvil:
        """Start Anvil and block until it answers ``eth_chainId``.

        Raises:
            ConfigError: if the requested port is taken.
            ToolchainError: if Anvil is missing or exits during start-up.
        """
        binary = anvil_binary()
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port):
            raise ConfigError(
                f"port {self.port} is already in use",
                "stop what listens there or pick another port",
            )
        cmd = [
            str(binary),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--balance", str(self.balance_eth),
            "--mnemonic", DEV_MNEMONIC,
        ]  # fmt: skip
        if self.block_time_s:
            cmd += ["--block-time", str(self.block_time_s)]
            if self.mixed_mining:
                cmd.append("--mixed-mining")
        cmd += self.extra_args
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._log = log
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        deadline = t0 + self.startup_timeout_s
        session = requests.Session()
        while True:
            if self.proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace").strip().splitlines()
                raise ToolchainError(f"anvil exited during start-up: {err[-1] if err else '?'}")
            try:
                r = session.post(
                    self.url,
                    json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                    timeout=1,
                )
                if r.ok:
                    break
            except requests.RequestException:
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise ToolchainError(f"anvil did not answer within {self.startup_timeout_s}s")
            time.sleep(0.02)
        self.ready_s = time.perf_counter() - t0
        return self

    def stop(self) -> None:
        """Stop Anvil (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            with contextlib.suppress(Exception):
                self._log.close()  # type: ignore[attr-defined]
            self._log = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_anvil(**kwargs: object) -> Iterator[Anvil]:
    """``with running_anvil() as a: ...`` starts Anvil and always stops it."""
    a = Anvil(**kwargs)  # type: ignore[arg-type]
    a.start()
    try:
        yield a
    finally:
        a.stop()
