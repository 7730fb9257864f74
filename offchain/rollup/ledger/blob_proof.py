"""Blob-mode faults and their KZG proofs (docs/spec.md, "Blob-mode faults").

The blobs of a Blobs-mode batch must decode (:func:`~offchain.rollup.ledger.blobs.blobs_to_frame`
then :func:`~offchain.rollup.ledger.compact.decompress`). The refusals visible in at most two
field elements (element 0 of blob 0, which holds ``len:u32 ‖ frame[0..26]``, and one more) are
provable on L1 with ``FraudProver.proveBlobFault``: each element is opened against its blob's
versioned hash with a KZG proof checked by the point-evaluation precompile. :func:`find_fault`
is the exact twin of ``FraudProver._blobFault``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import ckzg

from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.blobs import (
    BYTES_PER_BLOB,
    FIELD_ELEMENTS_PER_BLOB,
    PAYLOAD_BYTES_PER_BLOB,
    trusted_setup,
)
from offchain.rollup.ledger.compact import FRAME_VERSION, ZSTD_MAGIC

#: BLS12-381 scalar field modulus.
BLS_MODULUS = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: Primitive 4096th root of unity: ``7^((r-1)/4096) mod r`` (``BlobOpening.ROOT_OF_UNITY``).
ROOT_OF_UNITY = pow(7, (BLS_MODULUS - 1) // FIELD_ELEMENTS_PER_BLOB, BLS_MODULUS)


class BlobFault(IntEnum):
    """``FraudProver.BlobFault``: why a batch's blobs do not decode."""

    NONE = 0
    NON_CANONICAL_ELEMENT = 1
    EMPTY_FRAME = 2
    LENGTH_PAST_CAPACITY = 3
    BLOB_TOO_MANY = 4
    BAD_FRAME_VERSION = 5
    NOT_ZSTD = 6
    NONZERO_PADDING = 7


@dataclass(frozen=True)
class BlobOpening:
    """``BlobOpening.Opening``: element ``element`` of blob ``blob`` is ``y`` (KZG-proven)."""

    blob: int
    element: int
    y: bytes
    commitment: bytes
    proof: bytes

    def as_arg(self) -> tuple[int, int, bytes, bytes, bytes]:
        return (self.blob, self.element, self.y, self.commitment, self.proof)


@dataclass(frozen=True)
class BlobFaultWitness:
    """The arguments of ``FraudProver.proveBlobFault`` before the challenger."""

    header: BatchHeader
    versioned_hashes: list[bytes]
    openings: list[BlobOpening]

    def as_args(self) -> list[Any]:
        return [
            self.header.as_tuple(),
            list(self.versioned_hashes),
            [o.as_arg() for o in self.openings],
        ]


def domain_point(element: int) -> int:
    """``ω^bitrev12(element)``: where the blob polynomial takes element ``element``'s value."""
    rev = int(format(element, "012b")[::-1], 2)
    return pow(ROOT_OF_UNITY, rev, BLS_MODULUS)


def open_element(
    blobs: Sequence[bytes], commitments: Sequence[bytes], b: int, j: int
) -> BlobOpening:
    """The KZG opening of element ``j`` of blob ``b`` (~0.1 s)."""
    proof, y = ckzg.compute_kzg_proof(
        blobs[b], domain_point(j).to_bytes(32, "big"), trusted_setup()
    )
    assert bytes(y) == blobs[b][32 * j : 32 * j + 32]
    return BlobOpening(b, j, bytes(y), bytes(commitments[b]), bytes(proof))


def fault_of(k: int, first: bytes, b: int, j: int, y: bytes) -> BlobFault:
    """The refusal shown by element 0 of blob 0 (``first``) of ``k`` blobs and element ``j`` of
    blob ``b`` (``y``); :data:`BlobFault.NONE` if these two show none."""
    if first[0] or y[0]:
        return BlobFault.NON_CANONICAL_ELEMENT
    n = int.from_bytes(first[1:5], "big")
    if n == 0:
        return BlobFault.EMPTY_FRAME
    if 4 + n > k * PAYLOAD_BYTES_PER_BLOB:
        return BlobFault.LENGTH_PAST_CAPACITY
    if 4 + n <= (k - 1) * PAYLOAD_BYTES_PER_BLOB:
        return BlobFault.BLOB_TOO_MANY
    if first[5] != FRAME_VERSION:
        return BlobFault.BAD_FRAME_VERSION
    if n < 5 or first[6:10] != ZSTD_MAGIC:
        return BlobFault.NOT_ZSTD
    start = 31 * (b * FIELD_ELEMENTS_PER_BLOB + j)
    keep = max(0, 4 + n - start)
    if keep < 31 and any(y[1 + keep :]):
        return BlobFault.NONZERO_PADDING
    return BlobFault.NONE


def find_fault(blobs: Sequence[bytes]) -> tuple[BlobFault, int, int]:
    """The first provable fault of ``blobs`` and the element (blob, index) that shows it
    (``(NONE, 0, 0)`` when none is provable: the blobs decode, or their fault is inside the
    Zstandard stream, which only a data request settles)."""
    if not blobs or any(len(x) != BYTES_PER_BLOB for x in blobs):
        raise ValueError("not blobs")
    first = blobs[0][:32]
    for b, blob in enumerate(blobs):  # element (0, 0) first: it shows every length fault
        for j in range(FIELD_ELEMENTS_PER_BLOB):
            f = fault_of(len(blobs), first, b, j, blob[32 * j : 32 * j + 32])
            if f != BlobFault.NONE:
                return f, b, j
    return BlobFault.NONE, 0, 0


def fault_openings(
    blobs: Sequence[bytes], commitments: Sequence[bytes] | None = None
) -> tuple[BlobFault, list[BlobOpening]]:
    """The openings ``FraudProver.proveBlobFault`` needs for the first provable fault of
    ``blobs`` (element 0 of blob 0, then the showing element unless it is that one); an empty
    list when none is provable. ``commitments`` are recomputed when not given."""
    fault, b, j = find_fault(blobs)
    if fault == BlobFault.NONE:
        return fault, []
    if commitments is None:
        ts = trusted_setup()
        commitments = [bytes(ckzg.blob_to_kzg_commitment(x, ts)) for x in blobs]
    openings = [open_element(blobs, commitments, 0, 0)]
    if (b, j) != (0, 0):
        openings.append(open_element(blobs, commitments, b, j))
    return fault, openings
