"""Blobs on disk, content-addressed by keccak256.

Layout: ``<data_dir>/<k[0:2]>/<k[2:4]>/<k>`` where ``k`` is the 64-hex-digit key, so no
directory grows beyond a few thousand entries. Writes go to ``<data_dir>/tmp`` first and
are moved into place with an atomic rename, so a crash never leaves a partial blob under
its key. Reads re-hash the bytes: a corrupt file is moved aside and reported.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from offchain.common.hashing import keccak
from offchain.storage.errors import BadKey, BlobCorrupt, BlobNotFound, BlobTooLarge

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
_KEY = re.compile(r"^0x[0-9a-f]{64}$")


def blob_key(data: bytes) -> str:
    """The key of ``data``: ``0x`` + keccak256 hex (lowercase)."""
    return "0x" + keccak(data).hex()


def parse_key(key: str) -> str:
    """Normalise ``key`` to lowercase ``0x`` + 64 hex digits.

    Raises:
        BadKey: anything else.
    """
    k = key.strip().lower()
    if not k.startswith("0x"):
        k = "0x" + k
    if not _KEY.match(k):
        raise BadKey(
            f"malformed blob key {key[:80]!r}", "a key is 0x followed by 64 hex digits (keccak256)"
        )
    return k


class BlobStore:
    """A directory of blobs.

    Args:
        data_dir: where blobs live (created if missing).
        max_bytes: largest blob accepted by :meth:`put`.
    """

    def __init__(self, data_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.data_dir = Path(data_dir)
        self.max_bytes = max_bytes
        self._tmp = self.data_dir / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        for stale in self._tmp.glob("put-*"):  # left by a crash mid-write; never under a key
            stale.unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        """Where the blob ``key`` is (or would be) stored."""
        k = parse_key(key)[2:]
        return self.data_dir / k[0:2] / k[2:4] / k

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its key.

        Raises:
            BlobTooLarge: over ``max_bytes``.
        """
        if len(data) > self.max_bytes:
            raise BlobTooLarge(
                f"blob of {len(data)} bytes is over the limit of {self.max_bytes} bytes",
                "split the data or raise the storage service's --max-bytes",
            )
        key = blob_key(data)
        dest = self.path(key)
        if dest.exists():
            return key
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        """The bytes of blob ``key``, checked against the key.

        Raises:
            BadKey: malformed key.
            BlobNotFound: no such blob.
            BlobCorrupt: the file does not hash to its key (it is moved aside).
        """
        k = parse_key(key)
        p = self.path(k)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {k}", "put it first, or check the key") from None
        if blob_key(data) != k:
            os.replace(p, p.with_suffix(".corrupt"))
            raise BlobCorrupt(f"blob {k} is corrupt on disk (moved aside)", "put it again")
        return data

    def has(self, key: str) -> bool:
        """True when blob ``key`` is stored (raises :class:`BadKey` on a malformed key)."""
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        """Size in bytes of blob ``key``.

        Raises:
            BlobNotFound: no such blob.
        """
        k = parse_key(key)
        try:
            return self.path(k).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {k}") from None
