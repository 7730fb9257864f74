"""Serve an ASGI app (FastAPI) with uvicorn in a background thread.

Every l2kit HTTP service (blob store, co-signer, sequencer daemon, rollup node RPC, EMETH
execution layer) runs through :class:`BackgroundServer`, so start-up, port checks and
shutdown behave the same everywhere.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from offchain.chain.anvil import free_port, port_in_use
from offchain.errors import ConfigError, L2KitError


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread.

    Args:
        app: the ASGI application.
        host: interface to bind (loopback by default).
        port: TCP port (``None`` or 0: a free one, chosen at :meth:`start`).
        name: used for the thread and in error messages (e.g. ``"storage"``).
        error: the exception raised when the server does not come up.
        port_hint: how to fix a taken port (shown with the error).
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int | None = None,
        name: str = "http",
        error: type[L2KitError] = L2KitError,
        port_hint: str = "pick another --port",
    ) -> None:
        self.app = app
        self.host = host
        self.port = port or None
        self.name = name
        self.error = error
        self.port_hint = port_hint
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout_s: float = 10.0) -> Self:
        """Bind and serve; return once uvicorn accepts connections.

        Raises:
            ConfigError: the requested port is taken.
            L2KitError: (``error``) the server did not come up within ``timeout_s``.
        """
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port, self.host):
            raise ConfigError(f"{self.name} port {self.port} is already in use", self.port_hint)
        cfg = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(
            target=self._server.run, name=f"l2kit-{self.name}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise self.error(
                    f"{self.name} did not start on {self.url}",
                    "check that the port is free",
                )
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (at most 10 s). Safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
