"""HTTP client of the storage service; every answer is checked against its key."""

from __future__ import annotations

from typing import Any

import requests

from offchain.common.session import http_session
from offchain.storage.errors import (
    BadKey,
    BlobCorrupt,
    BlobNotFound,
    BlobTooLarge,
    StorageError,
)
from offchain.storage.store import blob_key, parse_key

_BY_CODE: dict[str, type[StorageError]] = {
    "blob_not_found": BlobNotFound,
    "bad_key": BadKey,
    "blob_too_large": BlobTooLarge,
    "blob_corrupt": BlobCorrupt,
}


class BlobClient:
    """Put and get blobs on a storage service.

    Args:
        url: base URL of the service, e.g. ``http://127.0.0.1:8600``.
        timeout_s: per-request timeout.
    """

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = http_session()

    def _request(self, method: str, path: str, **kw: Any) -> requests.Response:
        try:
            return self._http.request(method, self.url + path, timeout=self.timeout_s, **kw)
        except requests.RequestException as e:
            raise StorageError(
                f"cannot reach the storage service at {self.url}: {type(e).__name__}",
                "is it running? start it with `l2kit storage serve` or `l2kit devnet up`",
            ) from e

    @staticmethod
    def _raise(resp: requests.Response, what: str) -> None:
        try:
            err = resp.json()["error"]
            code, message = str(err["code"]), str(err["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", resp.text[:200] or resp.reason
        cls = _BY_CODE.get(code, StorageError)
        raise cls(
            f"{what}: {message} (HTTP {resp.status_code})", code=code, status=resp.status_code
        )

    def put(self, data: bytes) -> str:
        """Store ``data``; return its key (``0x`` + keccak256).

        Raises:
            BlobTooLarge: over the service's limit.
            StorageError: unreachable, or the service answered with another key.
        """
        resp = self._request(
            "PUT", "/blobs", data=data, headers={"content-type": "application/octet-stream"}
        )
        if resp.status_code != 201:
            self._raise(resp, "put failed")
        key = str(resp.json()["key"])
        if key != blob_key(data):
            raise BlobCorrupt(f"storage answered key {key} for data hashing to {blob_key(data)}")
        return key

    def get(self, key: str) -> bytes:
        """The bytes of blob ``key``, checked to hash to it.

        Raises:
            BadKey: malformed key (checked before any request).
            BlobNotFound: the service does not have it.
            BlobCorrupt: the bytes received do not hash to ``key``.
            StorageError: unreachable or another failure.
        """
        k = parse_key(key)
        resp = self._request("GET", f"/blobs/{k}")
        if resp.status_code != 200:
            self._raise(resp, f"get {k} failed")
        data = resp.content
        if blob_key(data) != k:
            raise BlobCorrupt(f"storage returned bytes for {k} that hash to {blob_key(data)}")
        return data

    def has(self, key: str) -> bool:
        """True when the service holds blob ``key``.

        Raises:
            BadKey: malformed key.
            StorageError: unreachable or another failure.
        """
        k = parse_key(key)
        resp = self._request("HEAD", f"/blobs/{k}")
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise StorageError(f"has {k} failed (HTTP {resp.status_code})", status=resp.status_code)

    def health(self) -> dict[str, Any]:
        """The service's ``/health`` answer.

        Raises:
            StorageError: unreachable or unhealthy.
        """
        resp = self._request("GET", "/health")
        if resp.status_code != 200:
            self._raise(resp, "health failed")
        out: dict[str, Any] = resp.json()
        return out

    def close(self) -> None:
        self._http.close()
