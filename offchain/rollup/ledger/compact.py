"""The compact batch data format (docs/spec.md, "Compact batch data").

A batch travels (blob store, EIP-4844 blobs, snapshots) as a **frame**: one version byte then
one Zstandard frame (RFC 8878, level 3, content size and checksum written) of the **packed**
batch. The packed form carries only what a verifier cannot recompute, with no ABI padding:
each transaction's fields at their natural width (integers with a length byte, no leading
zeros), fee recipients run-length encoded, the sequencer's claimed post-state roots (32 bytes
each, needed to point a fraud proof at the first wrong one) and only the nonzero withdrawal
items with their index. An encoding that is not canonical (a forged batch may hold a
malformed one) is carried raw, so every batch, honest or not, round-trips byte for byte and
keeps its MTTBR.

Decoding never trusts the input: a truncated, oversized or corrupt frame raises
:class:`BatchDataError` with what is wrong, never another exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import zstandard

from offchain.errors import L2KitError

#: Frame version byte: packed format v1 in one Zstandard frame (level 3, content size, checksum).
FRAME_VERSION = 0x01
#: The Zstandard frame magic number as it appears in the frame (RFC 8878, little endian).
ZSTD_MAGIC = bytes.fromhex("28b52ffd")
ZSTD_LEVEL = 3
#: Largest packed batch a frame may inflate to (bounds the work of a hostile frame).
MAX_PACKED_BYTES = 64 * 1024 * 1024

KIND_DEPOSIT = 0x00
KIND_TRANSFER = 0x01
KIND_WITHDRAW = 0x02
KIND_RAW = 0xFF
_DEPOSIT_LEN = 1 + 5 * 32
_USER_TX_LEN = 1 + 9 * 32
_ZERO12 = b"\x00" * 12
_ZERO32 = b"\x00" * 32


class BatchDataError(L2KitError, ValueError):
    """Batch data that does not decode: truncated, corrupt, or inconsistent.

    Args:
        message: one line saying what is wrong and where (byte offset).
    """


@dataclass(frozen=True)
class PackedBatch:
    """The four arrays of a batch, as the packed format carries them.

    Attributes:
        tx_data: canonical transaction encodings (docs/spec.md "Transactions"), or raw bytes.
        fee_recipients: 20-byte fee recipient per transaction.
        post_roots: claimed 32-byte state root after each transaction.
        withdrawal_items: claimed 32-byte withdrawal item per transaction.
    """

    tx_data: Sequence[bytes]
    fee_recipients: Sequence[bytes]
    post_roots: Sequence[bytes]
    withdrawal_items: Sequence[bytes]


# ----------------------------------------------------------------------------- encode


def _uint(word: bytes) -> bytes:
    """A 32-byte big-endian word as ``len ‖ minimal big-endian bytes``."""
    v = word.lstrip(b"\x00")
    return bytes([len(v)]) + v


def _is_addr_word(word: bytes) -> bool:
    return word[:12] == _ZERO12


def _pack_tx(t: bytes) -> bytes:
    """One transaction entry: packed canonical form, or ``0xff ‖ u32 len ‖ raw``."""
    if len(t) == _DEPOSIT_LEN and t[0] == KIND_DEPOSIT:
        w = [t[1 + 32 * i : 33 + 32 * i] for i in range(5)]
        if all(_is_addr_word(w[i]) for i in (1, 2, 3)):
            return b"".join((b"\x00", _uint(w[0]), w[1][12:], w[2][12:], w[3][12:], _uint(w[4])))
    elif len(t) == _USER_TX_LEN and t[0] in (KIND_TRANSFER, KIND_WITHDRAW):
        w = [t[1 + 32 * i : 33 + 32 * i] for i in range(9)]
        if all(_is_addr_word(w[i]) for i in (0, 1, 2)) and w[6][:31] == _ZERO32[:31]:
            return b"".join(
                (
                    t[0:1],
                    w[0][12:],
                    w[1][12:],
                    w[2][12:],
                    _uint(w[3]),
                    _uint(w[4]),
                    _uint(w[5]),
                    w[6][31:],
                    w[7],
                    w[8],
                )
            )
    return b"\xff" + len(t).to_bytes(4, "big") + t


def pack(batch: PackedBatch) -> bytes:
    """The packed (uncompressed) form of a batch (docs/spec.md, "Compact batch data").

    Raises:
        BatchDataError: the arrays differ in length or hold values of the wrong width.
    """
    n = len(batch.tx_data)
    if not (len(batch.fee_recipients) == len(batch.post_roots) == len(batch.withdrawal_items) == n):
        raise BatchDataError("batch arrays differ in length")
    if n >= 2**32:
        raise BatchDataError(f"batch holds {n} transactions, the format allows 2^32 - 1")
    out = [n.to_bytes(4, "big")]
    out.extend(_pack_tx(bytes(t)) for t in batch.tx_data)
    runs: list[tuple[int, bytes]] = []
    for f in batch.fee_recipients:
        if len(f) != 20:
            raise BatchDataError(f"fee recipient must be 20 bytes, got {len(f)}")
        if runs and runs[-1][1] == f:
            runs[-1] = (runs[-1][0] + 1, f)
        else:
            runs.append((1, bytes(f)))
    out.append(len(runs).to_bytes(4, "big"))
    out.extend(c.to_bytes(4, "big") + f for c, f in runs)
    for r in batch.post_roots:
        if len(r) != 32:
            raise BatchDataError(f"post-state root must be 32 bytes, got {len(r)}")
        out.append(bytes(r))
    items = [(i, bytes(w)) for i, w in enumerate(batch.withdrawal_items) if w != _ZERO32]
    if any(len(w) != 32 for _, w in items):
        raise BatchDataError("withdrawal item must be 32 bytes")
    out.append(len(items).to_bytes(4, "big"))
    out.extend(i.to_bytes(4, "big") + w for i, w in items)
    return b"".join(out)


def compress(packed: bytes) -> bytes:
    """The frame of a packed batch: ``0x01 ‖ zstd(packed, level 3)``."""
    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True, write_checksum=True)
    return bytes([FRAME_VERSION]) + cctx.compress(packed)


# ----------------------------------------------------------------------------- decode


class _Reader:
    """Bounds-checked reads over the packed bytes (every failure names its offset)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, k: int, what: str) -> bytes:
        if self.pos + k > len(self.data):
            raise BatchDataError(
                f"packed batch truncated at byte {self.pos}: {what} needs {k} bytes, "
                f"{len(self.data) - self.pos} left"
            )
        b = self.data[self.pos : self.pos + k]
        self.pos += k
        return b

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "big")

    def uint_word(self, what: str) -> bytes:
        """``len ‖ minimal bytes`` back to a 32-byte word (non-minimal forms are refused)."""
        at = self.pos
        k = self.take(1, what)[0]
        if k > 32:
            raise BatchDataError(f"byte {at}: {what} length {k} > 32")
        v = self.take(k, what)
        if k and v[0] == 0:
            raise BatchDataError(f"byte {at}: {what} has a leading zero byte (not minimal)")
        return v.rjust(32, b"\x00")


def _addr(r: _Reader, what: str) -> bytes:
    return _ZERO12 + r.take(20, what)


def _unpack_tx(r: _Reader) -> bytes:
    at = r.pos
    kind = r.take(1, "kind")[0]
    if kind == KIND_DEPOSIT:
        return b"".join(
            (
                b"\x00",
                r.uint_word("depositId"),
                _addr(r, "l1Sender"),
                _addr(r, "recipient"),
                _addr(r, "token"),
                r.uint_word("amount"),
            )
        )
    if kind in (KIND_TRANSFER, KIND_WITHDRAW):
        head = [_addr(r, "from"), _addr(r, "to"), _addr(r, "token")]
        ints = [r.uint_word("amount"), r.uint_word("fee"), r.uint_word("nonce")]
        v = _ZERO32[:31] + r.take(1, "v")
        return bytes([kind]) + b"".join(head + ints) + v + r.take(32, "r") + r.take(32, "s")
    if kind == KIND_RAW:
        k = r.u32("raw length")
        raw = r.take(k, "raw transaction")
        if _pack_tx(raw)[0] != KIND_RAW:
            raise BatchDataError(f"byte {at}: raw entry holds a canonical encoding")
        return raw
    raise BatchDataError(f"byte {at}: unknown transaction kind 0x{kind:02x}")


def unpack(packed: bytes) -> PackedBatch:
    """Inverse of :func:`pack`; only the canonical packed form is accepted.

    Raises:
        BatchDataError: truncated, trailing bytes, bad counts, non-minimal integers.
    """
    r = _Reader(packed)
    n = r.u32("txCount")
    # Each entry takes at least 1 byte, each root 32: refuse counts the input cannot hold.
    if n * 33 > len(packed):
        raise BatchDataError(f"txCount {n} does not fit in {len(packed)} bytes")
    txs = [_unpack_tx(r) for _ in range(n)]
    runs = r.u32("fee recipient runs")
    fees: list[bytes] = []
    for _ in range(runs):
        at = r.pos
        c = r.u32("run length")
        f = r.take(20, "fee recipient")
        if c == 0 or len(fees) + c > n:
            raise BatchDataError(f"byte {at}: fee recipient run of {c} overflows {n} txs")
        fees.extend([f] * c)
    if len(fees) != n:
        raise BatchDataError(f"fee recipient runs cover {len(fees)} of {n} txs")
    roots = [r.take(32, "post-state root") for _ in range(n)]
    k = r.u32("withdrawal item count")
    items = [_ZERO32] * n
    last = -1
    for _ in range(k):
        at = r.pos
        i = r.u32("withdrawal index")
        w = r.take(32, "withdrawal item")
        if i <= last or i >= n or w == _ZERO32:
            raise BatchDataError(
                f"byte {at}: withdrawal entry (index {i}) must be nonzero, ascending, < {n}"
            )
        items[i], last = w, i
    if r.pos != len(packed):
        raise BatchDataError(f"{len(packed) - r.pos} trailing bytes after the packed batch")
    return PackedBatch(txs, fees, roots, items)


def decompress(frame: bytes) -> bytes:
    """The packed batch inside a frame.

    Raises:
        BatchDataError: empty frame, unknown version, no Zstandard magic, a zstd frame that is
            corrupt, truncated, lacks its content size, claims more than
            :data:`MAX_PACKED_BYTES`, or is followed by trailing bytes.
    """
    if not frame:
        raise BatchDataError("empty batch data frame")
    if frame[0] != FRAME_VERSION:
        raise BatchDataError(
            f"unknown batch data frame version 0x{frame[0]:02x} (expected 0x{FRAME_VERSION:02x})"
        )
    body = frame[1:]
    if body[:4] != ZSTD_MAGIC:
        raise BatchDataError("the batch data frame is not a Zstandard frame (magic 28 b5 2f fd)")
    try:
        size = zstandard.frame_content_size(body)
    except zstandard.ZstdError as e:
        raise BatchDataError(f"corrupt zstd frame header in the batch data: {e}") from None
    if size < 0 or size > MAX_PACKED_BYTES:
        raise BatchDataError(
            f"zstd frame content size {size} missing or over {MAX_PACKED_BYTES} bytes"
        )
    d = zstandard.ZstdDecompressor().decompressobj()
    try:
        out = d.decompress(body)
    except zstandard.ZstdError as e:
        raise BatchDataError(f"corrupt zstd stream in the batch data frame: {e}") from None
    if not d.eof:
        raise BatchDataError("truncated zstd stream in the batch data frame")
    if d.unused_data:
        raise BatchDataError(f"{len(d.unused_data)} trailing bytes after the zstd frame")
    if len(out) != size:
        raise BatchDataError(f"zstd frame inflated to {len(out)} bytes, header says {size}")
    return out


#: Transactions per chunk of a chunked DA answer (``BatchChunks.CHUNK_TXS``).
CHUNK_TXS = 256


def pack_chunks(batch: PackedBatch) -> list[bytes]:
    """The packed chunks of a DA answer (docs/spec.md, "Data-availability answer in chunks"):
    chunk ``j`` is :func:`pack` of transactions ``256 j .. 256 (j+1) - 1``."""
    n = len(batch.tx_data)
    return [
        pack(
            PackedBatch(
                batch.tx_data[a : a + CHUNK_TXS],
                batch.fee_recipients[a : a + CHUNK_TXS],
                batch.post_roots[a : a + CHUNK_TXS],
                batch.withdrawal_items[a : a + CHUNK_TXS],
            )
        )
        for a in range(0, n, CHUNK_TXS)
    ]


def unpack_chunks(chunks: Sequence[bytes]) -> PackedBatch:
    """Inverse of :func:`pack_chunks` (chunks in order).

    Raises:
        BatchDataError: a chunk does not unpack, or a chunk other than the last is not full.
    """
    parts = [unpack(c) for c in chunks]
    if any(len(p.tx_data) != CHUNK_TXS for p in parts[:-1]) or not parts:
        raise BatchDataError("chunks other than the last must hold 256 transactions")
    return PackedBatch(
        [t for p in parts for t in p.tx_data],
        [f for p in parts for f in p.fee_recipients],
        [r for p in parts for r in p.post_roots],
        [w for p in parts for w in p.withdrawal_items],
    )
