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

import threading
import time
from pathlib import Path
from typing import Any

import requests
import uvicorn
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, generate_latest

from offchain.chain.anvil import free_port, port_in_use
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
    """The storage service in a background thread (uvicorn).

    Args:
        data_dir: where blobs are kept (survives restarts).
        host: interface to listen on.
        port: TCP port (``None``: a free one).
        max_bytes: largest blob accepted (413 above it).
        startup_timeout_s: how long :meth:`start` waits for ``/health``.
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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> StorageServer:
        """Start serving and wait until ``/health`` answers.

        Returns:
            self.

        Raises:
            ConfigError: the port is taken.
            StorageError: the server did not come up in time.
        """
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port, self.host):
            raise ConfigError(
                f"storage port {self.port} is already in use",
                "stop what listens there or pick another port (--storage-port / --port)",
            )
        store = BlobStore(self.data_dir, self.max_bytes)
        config = uvicorn.Config(
            create_app(store),
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="l2kit-storage", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        with requests.Session() as s:
            while True:
                try:
                    if s.get(f"{self.url}/health", timeout=1).ok:
                        return self
                except requests.RequestException:
                    pass
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    self.stop()
                    raise StorageError(
                        f"storage service did not start on {self.url}",
                        "check that the port is free and the data dir is writable",
                    )
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server and wait for its thread (at most 10 s). Safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> StorageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
