"""Storage errors: each maps to one HTTP status and a stable error code."""

from __future__ import annotations

from offchain.errors import L2KitError


class StorageError(L2KitError):
    """A storage operation failed (also raised by :class:`BlobClient` for any HTTP failure).

    Attributes:
        code: stable machine-readable code (``blob_not_found``, ``bad_key``, ...).
        status: HTTP status the server answers with.
    """

    code = "storage_error"
    status = 500

    def __init__(
        self, message: str, hint: str | None = None, *, code: str | None = None, status: int = 0
    ) -> None:
        super().__init__(message, hint)
        if code:
            self.code = code
        if status:
            self.status = status


class BlobNotFound(StorageError, KeyError):
    """No blob with that key."""

    code = "blob_not_found"
    status = 404

    def __str__(self) -> str:  # KeyError would quote the message
        return L2KitError.__str__(self)


class BadKey(StorageError, ValueError):
    """The key is not ``0x`` followed by 64 hex digits."""

    code = "bad_key"
    status = 400


class BlobTooLarge(StorageError, ValueError):
    """The blob is over the size limit."""

    code = "blob_too_large"
    status = 413


class BlobCorrupt(StorageError):
    """The bytes on disk (or received) do not hash to their key."""

    code = "blob_corrupt"
    status = 500
