"""keccak256, using the fast C implementation (safe-pysha3) on the hot path."""

from __future__ import annotations

from functools import lru_cache

import sha3  # type: ignore[import-not-found]  # safe-pysha3: ~6x faster than pycryptodome


def keccak(data: bytes | bytearray) -> bytes:
    """keccak256 (Ethereum's, not NIST SHA3-256) of ``data``."""
    return sha3.keccak_256(data).digest()  # type: ignore[no-any-return]


def keccak_pair(a: bytes, b: bytes) -> bytes:
    """keccak256(a ‖ b) for two 32-byte words."""
    h = sha3.keccak_256(a)
    h.update(b)
    return h.digest()  # type: ignore[no-any-return]


@lru_cache(maxsize=1 << 16)
def eip55(raw: bytes) -> str:
    """EIP-55 checksummed hex of a 20-byte address (cached: the same accounts recur on the
    hot path, and each computation is a keccak plus 40 characters of Python)."""
    low = raw.hex()
    h = keccak(low.encode()).hex()
    return "0x" + "".join(c.upper() if h[i] in "89abcdef" else c for i, c in enumerate(low))
