"""The blob store over HTTP (FastAPI), runnable in a background thread.

Endpoints:

- ``PUT /blobs`` (raw body) -> ``201 {"key": "0x..", "size": n}``;
- ``GET /blobs/{key}`` -> the bytes (``application/octet-stream``);
- ``HEAD /blobs/{key}`` -> 200 with ``Content-Length``, or 404;
- ``GET /health`` -> ``{"status": "ok", ...}``; ``GET /metrics`` -> Prometheus text.

Errors are JSON ``{"error": {"code": "...", "message": "..."}}`` with status 400 (malformed
key), 404 (unknown key), 413 (over the size limit) or 500 (corrupt blob).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, generate_latest

from offchain.chain.anvil import port_in_use
from offchain.common.http import BackgroundServer
from offchain.errors import ConfigError
from offchain.storage.errors import BlobTooLarge, StorageError
from offchain.storage.store import DEFAULT_MAX_BYTES, BlobStore, parse_key


def _error(e: StorageError) -> JSONResponse:
    return JSONResponse({"error": {"code": e.code, "message": str(e)}}, status_code=e.status)


def create_app(store: BlobStore) -> FastAPI:
    """The FastAPI application serving ``store``.

    Args:
        store: the on-disk blob store (its ``max_bytes`` is the upload limit).

    Returns:
        The application (mount it or run it with uvicorn).
    """
    app = FastAPI(title="l2kit storage", docs_url=None, redoc_url=None, openapi_url=None)
    registry = CollectorRegistry()
    ops = Counter("l2kit_storage_requests", "requests by operation and outcome", ["op", "outcome"],
                  registry=registry)  # fmt: skip
    bytes_in = Counter("l2kit_storage_bytes_stored", "bytes of new blobs", registry=registry)
    started = time.time()

    @app.exception_handler(StorageError)
    async def _storage_error(request: Request, exc: StorageError) -> JSONResponse:
        ops.labels(request.method.lower(), exc.code).inc()
        return _error(exc)

    @app.put("/blobs", status_code=201)
    async def put_blob(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        too_large = BlobTooLarge(
            f"blob is over the limit of {store.max_bytes} bytes",
            "split the data or raise the storage service's --max-bytes",
        )
        if declared is not None and declared.isdigit() and int(declared) > store.max_bytes:
            raise too_large
        chunks: list[bytes] = []
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > store.max_bytes:
                raise too_large
            chunks.append(chunk)
        data = b"".join(chunks)
        key = await run_in_threadpool(store.put, data)  # disk I/O off the event loop
        bytes_in.inc(len(data))
        ops.labels("put", "ok").inc()
        return JSONResponse({"key": key, "size": len(data)}, status_code=201)

    @app.get("/blobs/{key}")
    def get_blob(key: str) -> Response:
        data = store.get(key)
        ops.labels("get", "ok").inc()
        return Response(
            data, media_type="application/octet-stream", headers={"x-blob-key": parse_key(key)}
        )

    @app.head("/blobs/{key}")
    def head_blob(key: str) -> Response:
        try:
            size = store.size(key)
        except StorageError as e:
            ops.labels("head", e.code).inc()
            return Response(status_code=e.status, headers={"x-error-code": e.code})
        ops.labels("head", "ok").inc()
        return Response(status_code=200, headers={"content-length": str(size)})

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "data_dir": str(store.data_dir),
            "max_bytes": store.max_bytes,
            "uptime_s": round(time.time() - started, 3),
        }

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": "no_such_endpoint", "message": f"no endpoint {request.url.path}"}},
            status_code=404,
        )

    return app


class StorageServer:
    """The storage service in a background thread (uvicorn, via :class:`BackgroundServer`).

    Args:
        data_dir: where blobs are kept (survives restarts).
        host: interface to listen on.
        port: TCP port (``None``: a free one).
        max_bytes: largest blob accepted (413 above it).
        startup_timeout_s: how long :meth:`start` waits for the server.
    """

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        startup_timeout_s: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self.startup_timeout_s = startup_timeout_s
        self._http: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> StorageServer:
        """Open the blob store and serve it.

        Returns:
            self.

        Raises:
            ConfigError: the port is taken.
            StorageError: the server did not come up in time.
        """
        if self.port is not None and port_in_use(self.port, self.host):
            raise ConfigError(
                f"storage port {self.port} is already in use",
                "stop what listens there or pick another port (--storage-port / --port)",
            )
        store = BlobStore(self.data_dir, self.max_bytes)
        self._http = BackgroundServer(
            create_app(store),
            self.host,
            self.port,
            name="storage service",
            error=StorageError,
            max_body_bytes=None,  # PUT /blobs enforces the store's own max_bytes (413)
        ).start(self.startup_timeout_s)
        self.port = self._http.port
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread (at most 10 s). Safe to call twice."""
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> StorageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
