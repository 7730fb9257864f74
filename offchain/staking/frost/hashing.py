"""Hash functions of FROST(secp256k1, SHA-256) (RFC 9591 section 6.5).

``H1``, ``H2``, ``H3`` hash to a scalar with ``hash_to_field`` of RFC 9380 (expand_message_xmd
with SHA-256, L = 48 bytes, reduced mod N) under the DSTs ``contextString || "rho"``,
``"chal"`` and ``"nonce"``; ``H4`` and ``H5`` are SHA-256 over ``contextString || "msg"`` /
``"com"`` prepended to the input. ``HDKG`` (the DKG's proof-of-knowledge challenge, as in the
Zcash Foundation's implementation) uses the DST ``contextString || "dkg"``.
"""

from __future__ import annotations

import hashlib

from offchain.staking.frost.group import N

CONTEXT = b"FROST-secp256k1-SHA256-v1"
_L = 48


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """RFC 9380 section 5.3.1 with SHA-256 (b_in_bytes 32, s_in_bytes 64)."""
    if len(dst) > 255:
        raise ValueError("DST longer than 255 bytes")
    ell = -(-len_in_bytes // 32)
    if ell > 255:
        raise ValueError("len_in_bytes too large")
    dst_prime = dst + bytes([len(dst)])
    msg_prime = bytes(64) + msg + len_in_bytes.to_bytes(2, "big") + b"\x00" + dst_prime
    b0 = hashlib.sha256(msg_prime).digest()
    b = [hashlib.sha256(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        prev = bytes(x ^ y for x, y in zip(b0, b[-1], strict=True))
        b.append(hashlib.sha256(prev + bytes([i]) + dst_prime).digest())
    return b"".join(b)[:len_in_bytes]


def hash_to_scalar(msg: bytes, dst: bytes) -> int:
    """``hash_to_field(msg, 1)`` over the scalar field (L = 48)."""
    return int.from_bytes(expand_message_xmd(msg, dst, _L), "big") % N


def h1(m: bytes) -> int:
    """Binding factor hash."""
    return hash_to_scalar(m, CONTEXT + b"rho")


def h2(m: bytes) -> int:
    """Challenge hash."""
    return hash_to_scalar(m, CONTEXT + b"chal")


def h3(m: bytes) -> int:
    """Nonce hash."""
    return hash_to_scalar(m, CONTEXT + b"nonce")


def h4(m: bytes) -> bytes:
    """Message hash."""
    return hashlib.sha256(CONTEXT + b"msg" + m).digest()


def h5(m: bytes) -> bytes:
    """Commitment-list hash."""
    return hashlib.sha256(CONTEXT + b"com" + m).digest()


def hdkg(m: bytes) -> int:
    """DKG proof-of-knowledge challenge hash."""
    return hash_to_scalar(m, CONTEXT + b"dkg")
