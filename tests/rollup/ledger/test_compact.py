"""Compact batch data (docs/spec.md, "Compact batch data"): every batch round-trips byte for
byte, and no input, however broken, does anything but raise BatchDataError."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.common.hashing import keccak
from offchain.rollup.ledger.batch_data import BatchData, decode_batch_data, decode_packed
from offchain.rollup.ledger.compact import BatchDataError, compress, decompress
from offchain.rollup.ledger.ledger import Ledger
from offchain.rollup.ledger.tx import (
    ETH,
    Deposit,
    address_of_key,
    encode_tx,
    sign_transfer,
    sign_withdraw,
    to_checksum,
)
from offchain.rollup.ledger.vectors import VECTOR_DOMAIN

SEQ = to_checksum("0x" + "5e" * 20)
KEY_A = keccak(b"compact a")
KEY_B = keccak(b"compact b")


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


def _honest() -> BatchData:
    """Deposit, transfer, withdraw, with the roots and items honest execution gives."""
    a, b = address_of_key(KEY_A), address_of_key(KEY_B)
    led = Ledger(VECTOR_DOMAIN)
    txs = [
        Deposit(0, a, a, ETH, 10**18),
        sign_transfer(KEY_A, VECTOR_DOMAIN, b, ETH, 5, 1, 0),
        sign_withdraw(KEY_A, VECTOR_DOMAIN, a, ETH, 7, 0, 1),
    ]
    fees = [SEQ if i else "0x" + "00" * 20 for i in range(3)]
    receipts = [led.apply(t, f) for t, f in zip(txs, fees, strict=True)]
    return BatchData.from_receipts(txs, receipts)


def _forged() -> BatchData:
    """A sequencer's forgery: malformed encodings, a fake withdrawal item on a transfer,
    dirty address words (not canonical), several fee recipients."""
    h = _honest()
    dirty = bytearray(h.tx_data[1])
    dirty[1] = 0xAB  # nonzero high byte in the `from` word
    return BatchData(
        [*h.tx_data, b"", b"\x07hello", bytes(dirty), h.tx_data[0][:-1]],
        [*h.fee_recipients, SEQ, to_checksum("0x" + "11" * 20), to_checksum("0x" + "11" * 20), SEQ],
        [*h.post_roots, keccak(b"x"), keccak(b"y"), keccak(b"z"), keccak(b"w")],
        [
            h.withdrawal_items[0],
            keccak(b"fake"),
            h.withdrawal_items[2],
            b"\x00" * 32,
            b"\x00" * 32,
            keccak(b"fake2"),
            b"\x00" * 32,
        ],
    )


@pytest.mark.parametrize("make", [_honest, _forged])
def test_round_trip_keeps_every_byte_and_root(make: Any) -> None:
    """The frame decodes to exactly the arrays encoded: same encodings, claims and roots."""
    data = make()
    back = decode_batch_data(data.encode())
    assert back == data
    assert back.roots() == data.roots()
    assert decode_packed(data.packed()) == data


def test_packed_is_smaller_than_abi() -> None:
    """Packing drops ABI padding: a transfer's 289-byte encoding packs to ~150 bytes."""
    data = _honest()
    assert len(data.packed()) < len(data.abi_encode()) / 2


def test_vectors_decode(vectors: dict[str, Any]) -> None:
    """tests/vectors/ledger.json: the pinned packed bytes are what the encoder produces, and the
    pinned frame decodes to them; the data hash is the frame's keccak."""
    vb = vectors["batch"]
    packed, frame = _b(vb["packed"]), _b(vb["frame"])
    assert decompress(frame) == packed
    data = decode_packed(packed)
    assert data.packed() == packed
    assert len(data) == vb["txCount"]
    r = data.roots()
    assert (r.mttbr, r.mtsr, r.withdrawal_root) == (
        _b(vb["mttbr"]),
        _b(vb["mtsr"]),
        _b(vb["withdrawalRoot"]),
    )
    assert keccak(frame) == _b(vb["dataHash"])


def test_truncated_frame_is_a_clear_error() -> None:
    """Every prefix of a frame is refused with BatchDataError (never another exception)."""
    frame = _forged().encode()
    for cut in range(len(frame)):
        with pytest.raises(BatchDataError):
            decode_batch_data(frame[:cut])


def test_corrupt_frame_is_a_clear_error() -> None:
    """Any flipped byte is refused (the zstd frame carries a checksum)."""
    frame = _honest().encode()
    rng = random.Random(3)
    for i in range(len(frame)):
        bad = bytearray(frame)
        bad[i] ^= 1 << rng.randrange(8)
        with pytest.raises(BatchDataError):
            decode_batch_data(bytes(bad))


def test_frame_with_trailing_bytes_or_unknown_version_is_refused() -> None:
    frame = _honest().encode()
    with pytest.raises(BatchDataError, match="trailing"):
        decode_batch_data(frame + b"\x00")
    with pytest.raises(BatchDataError, match="version 0x02"):
        decode_batch_data(b"\x02" + frame[1:])
    with pytest.raises(BatchDataError, match="empty"):
        decode_batch_data(b"")
    # A zstd skippable frame (magic 0x184D2A50) in front: not the one standard frame.
    skippable = bytes.fromhex("502a4d18") + (0).to_bytes(4, "little")
    with pytest.raises(BatchDataError, match="not a Zstandard frame"):
        decode_batch_data(frame[:1] + skippable + frame[1:])


def test_truncated_packed_is_a_clear_error() -> None:
    """The packed form is bounds-checked too (a sequencer may compress garbage)."""
    packed = _forged().packed()
    for cut in range(len(packed)):
        with pytest.raises(BatchDataError):
            decode_batch_data(compress(packed[:cut]))
    with pytest.raises(BatchDataError, match="trailing"):
        decode_batch_data(compress(packed + b"\x00"))


def test_non_canonical_packed_forms_are_refused() -> None:
    """One batch has one packed form: non-minimal integers, raw-wrapped canonical encodings,
    zero or unordered withdrawal entries and bad run lengths are refused."""
    h = _honest()
    packed = h.packed()
    # Deposit entry: kind 0x00 then U(depositId) = 0x00 (id 0). A non-minimal U(0) = 01 00:
    at = 4 + 1
    assert packed[at] == 0
    with pytest.raises(BatchDataError):
        decode_packed(packed[:at] + b"\x01\x00" + packed[at + 1 :])
    # The canonical transfer wrapped as raw.
    raw = BatchData([h.tx_data[1]], [SEQ], [h.post_roots[1]], [b"\x00" * 32])
    p = raw.packed()
    first_len = len(p) - 4 - (4 + 24) - 32 - 4
    wrapped = (
        p[:4] + b"\xff" + len(h.tx_data[1]).to_bytes(4, "big") + h.tx_data[1] + p[4 + first_len :]
    )
    with pytest.raises(BatchDataError, match="raw entry holds a canonical"):
        decode_packed(wrapped)
    # A zero withdrawal item listed explicitly.
    tail = (1).to_bytes(4, "big") + (0).to_bytes(4, "big") + b"\x00" * 32
    with pytest.raises(BatchDataError, match="withdrawal entry"):
        decode_packed(p[:-4] + tail)
    # A fee-recipient run longer than the batch.
    bad_runs = bytearray(p)
    runs_at = 4 + first_len
    bad_runs[runs_at + 4 : runs_at + 8] = (2).to_bytes(4, "big")
    with pytest.raises(BatchDataError, match="run of 2"):
        decode_packed(bytes(bad_runs))
    # A tx count the bytes cannot hold.
    with pytest.raises(BatchDataError, match="does not fit"):
        decode_packed((2**32 - 1).to_bytes(4, "big") + p[4:])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(blob: bytes) -> None:
    """Garbage, as a frame or as packed bytes, only ever raises BatchDataError."""
    for frame in (blob, b"\x01" + blob, compress(blob)):
        with contextlib.suppress(BatchDataError):
            decode_batch_data(frame)


def test_every_transaction_kind_packs() -> None:
    """Canonical deposits and user transactions take the packed path (not raw)."""
    h = _honest()
    for t in h.tx_data:
        one = BatchData([t], [SEQ], [b"\x01" * 32], [b"\x00" * 32])
        assert len(one.packed()) < len(t)
    assert encode_tx(h.txs[1]) == h.tx_data[1]
