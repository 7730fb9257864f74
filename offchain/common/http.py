"""Serve an ASGI app (FastAPI) with uvicorn in a background thread.

Every l2kit HTTP service (blob store, co-signer, sequencer daemon, rollup node RPC, EMETH
execution layer) runs through :class:`BackgroundServer`, so start-up, port checks, shutdown
and the request-body limit (:class:`BodyLimit`: HTTP 413 before any parsing) behave the same
everywhere.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import structlog
import uvicorn

from offchain.chain.anvil import free_port, port_in_use
from offchain.errors import ConfigError, L2KitError

log = structlog.get_logger("http")

# Largest request body any l2kit service reads by default (a JSON-RPC batch of 1,000 signed
# transactions is about 0.5 MiB); the blob store has its own, larger limit.
DEFAULT_MAX_BODY_BYTES = 4 << 20


def rest_error_body(limit: int) -> dict[str, Any]:
    """The 413 body of a REST service: ``{"error": {"code": "body_too_large", "message"}}``."""
    return {"error": {"code": "body_too_large", "message": f"request body over {limit} bytes"}}


def install_validation_handler(app: Any, status: int = 422, code: str = "invalid_request") -> None:
    """Answer a request that fails a route's pydantic model with ``status`` and the REST error
    shape, never echoing the input back (FastAPI's default echoes it, and an ``Infinity`` or
    ``NaN`` in it cannot be encoded again: a 500)."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    async def handler(request: Any, e: Exception) -> JSONResponse:
        errs: list[dict[str, Any]] = list(getattr(e, "errors", list)())
        msg = "; ".join(
            f"{'.'.join(str(x) for x in err.get('loc', ()))}: {err.get('msg')}" for err in errs
        )[:1000]
        log.info("request_refused", status=status, path=request.url.path, error=msg[:200])
        return JSONResponse({"error": {"code": code, "message": msg}}, status)

    app.add_exception_handler(RequestValidationError, handler)


class BodyLimit:
    """ASGI middleware: refuse a request body over ``max_bytes`` with HTTP 413, unparsed.

    A declared ``Content-Length`` over the limit is refused before reading anything; a body
    streamed without one is read up to the limit and refused as soon as it passes it. The
    body read is handed to the application unchanged. Each refusal is one log line.

    Args:
        app: the ASGI application.
        max_bytes: the limit.
        error_body: the JSON body of the 413 answer, given the limit.
    """

    def __init__(
        self,
        app: Any,
        max_bytes: int,
        error_body: Callable[[int], dict[str, Any]] = rest_error_body,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.error_body = error_body

    async def _refuse(self, scope: dict[str, Any], send: Any, size: str) -> None:
        log.info("request_refused", status=413, path=scope.get("path"), size=size,
                 limit=self.max_bytes)  # fmt: skip
        body = json.dumps(self.error_body(self.max_bytes)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")],
            }
        )  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length" and (not v.isdigit() or int(v) > self.max_bytes):
                await self._refuse(scope, send, v.decode("latin-1")[:20])
                return
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._refuse(scope, send, f">{self.max_bytes}")
                return
            chunks.append(chunk)
            more = bool(msg.get("more_body", False))
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # type: ignore[no-any-return]

        await self.app(scope, replay, send)


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread.

    Args:
        app: the ASGI application.
        host: interface to bind (loopback by default).
        port: TCP port (``None`` or 0: a free one, chosen at :meth:`start`).
        name: used for the thread and in error messages (e.g. ``"storage"``).
        error: the exception raised when the server does not come up.
        port_hint: how to fix a taken port (shown with the error).
        max_body_bytes: request bodies over this are refused with 413 before parsing
            (``None``: the app enforces its own limit, as the blob store does).
        error_body: the 413 JSON body, given the limit (default: the REST error shape).
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int | None = None,
        name: str = "http",
        error: type[L2KitError] = L2KitError,
        port_hint: str = "pick another --port",
        max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
        error_body: Callable[[int], dict[str, Any]] = rest_error_body,
    ) -> None:
        self.app = app if max_body_bytes is None else BodyLimit(app, max_body_bytes, error_body)
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
            # Clients (requests sessions, agents polling every tick) reuse pooled connections and
            # never close them when idle; uvicorn's default 5 s keep-alive closes them server-side,
            # and a request sent in the same instant gets ConnectionResetError. 75 s (as common
            # load balancers use) keeps that race to connections idle for over a minute.
            timeout_keep_alive=75,
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
