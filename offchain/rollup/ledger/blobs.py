"""A batch data frame in EIP-4844 blobs (docs/spec.md, "Data availability modes").

A blob is 4096 field elements of 32 bytes; each element carries 31 bytes of payload after a
zero byte (so it is always below the BLS12-381 scalar modulus). The payload of a batch's blobs,
concatenated in blob order, is ``len:u32 ‖ frame ‖ zero padding``. The header commits
``dataHash = keccak256(versionedHash_0 ‖ … ‖ versionedHash_{k-1})``, and each versioned hash is
``0x01 ‖ sha256(kzgCommitment)[1:]``: a blob is checked against its hash by recomputing its KZG
commitment (``ckzg`` with the Ethereum trusted setup eth-account bundles).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import ckzg

from offchain.common.hashing import keccak
from offchain.rollup.ledger.compact import BatchDataError

FIELD_ELEMENTS_PER_BLOB = 4096
BYTES_PER_BLOB = 32 * FIELD_ELEMENTS_PER_BLOB
#: Payload bytes one blob carries (31 per field element).
PAYLOAD_BYTES_PER_BLOB = 31 * FIELD_ELEMENTS_PER_BLOB
#: Most blobs one transaction may carry (EIP-7594 per-transaction limit; eth-account's too).
MAX_BLOBS_PER_TX = 6
#: Gas of blob data per blob (EIP-4844 GAS_PER_BLOB).
BLOB_GAS_PER_BLOB = 2**17
VERSIONED_HASH_VERSION_KZG = 0x01


_SETUP_LOCK = threading.Lock()


@cache
def _load_setup() -> Any:
    from eth_account.typed_transactions.base import TRUSTED_SETUP

    return ckzg.load_trusted_setup(TRUSTED_SETUP, 0)


def trusted_setup() -> Any:
    """The Ethereum KZG trusted setup (loaded once per process: ~5-15 s; threads that ask
    while it loads wait for that one load)."""
    with _SETUP_LOCK:
        return _load_setup()


def preload_trusted_setup() -> threading.Thread:
    """Load :func:`trusted_setup` in a background thread (a daemon that builds or co-signs
    Storage- or Blobs-mode batches needs it for its first batch: loaded at start, that batch
    does not wait for it, nor a peer's co-signing request time out on it)."""
    t = threading.Thread(target=trusted_setup, name="kzg-setup", daemon=True)
    t.start()
    return t


def blobs_needed(frame_len: int) -> int:
    """How many blobs a frame of ``frame_len`` bytes takes (its 4-byte length included)."""
    return max(1, -(-(4 + frame_len) // PAYLOAD_BYTES_PER_BLOB))


def frame_to_blobs(frame: bytes, max_blobs: int = MAX_BLOBS_PER_TX) -> list[bytes]:
    """Split a frame into blobs (the last one zero-padded).

    Args:
        max_blobs: most blobs allowed (one transaction's by default; a Storage-mode data
            answer spreads its blobs over several transactions).

    Raises:
        BatchDataError: the frame needs more than ``max_blobs`` blobs.
    """
    k = blobs_needed(len(frame))
    if k > max_blobs:
        raise BatchDataError(
            f"frame of {len(frame)} bytes needs {k} blobs, at most {max_blobs} allowed"
        )
    payload = (len(frame).to_bytes(4, "big") + frame).ljust(k * PAYLOAD_BYTES_PER_BLOB, b"\x00")
    out = []
    for b in range(k):
        chunk = payload[b * PAYLOAD_BYTES_PER_BLOB : (b + 1) * PAYLOAD_BYTES_PER_BLOB]
        out.append(
            b"".join(b"\x00" + chunk[i : i + 31] for i in range(0, PAYLOAD_BYTES_PER_BLOB, 31))
        )
    return out


def blobs_to_frame(blobs: Sequence[bytes]) -> bytes:
    """Inverse of :func:`frame_to_blobs` (only its canonical output is accepted).

    Raises:
        BatchDataError: no blob, a blob of the wrong size, an element whose first byte is not
            zero, a length past the blobs' capacity, or nonzero padding.
    """
    if not blobs:
        raise BatchDataError("no blobs")
    parts: list[bytes] = []
    for n, blob in enumerate(blobs):
        if len(blob) != BYTES_PER_BLOB:
            raise BatchDataError(f"blob {n} has {len(blob)} bytes, expected {BYTES_PER_BLOB}")
        if any(blob[i] for i in range(0, BYTES_PER_BLOB, 32)):
            raise BatchDataError(f"blob {n}: a field element's first byte is not zero")
        parts.extend(blob[i + 1 : i + 32] for i in range(0, BYTES_PER_BLOB, 32))
    payload = b"".join(parts)
    size = int.from_bytes(payload[:4], "big")
    if 4 + size > len(payload):
        raise BatchDataError(
            f"blob payload claims a {size}-byte frame, {len(blobs)} blob(s) hold {len(payload) - 4}"
        )
    if blobs_needed(size) != len(blobs) or any(payload[4 + size :]):
        raise BatchDataError("blob payload padding is not zero, or a blob too many")
    return payload[4 : 4 + size]


def versioned_hash(commitment: bytes) -> bytes:
    """``0x01 ‖ sha256(commitment)[1:]`` (EIP-4844 ``kzg_to_versioned_hash``)."""
    return bytes([VERSIONED_HASH_VERSION_KZG]) + hashlib.sha256(commitment).digest()[1:]


def blobs_hash(versioned_hashes: Sequence[bytes]) -> bytes:
    """The header's ``dataHash`` in Blobs mode: keccak256 of the versioned hashes, concatenated."""
    return keccak(b"".join(versioned_hashes))


@dataclass(frozen=True)
class BlobSidecar:
    """The blobs of one transaction with their KZG commitments and proofs."""

    blobs: list[bytes]
    commitments: list[bytes]
    proofs: list[bytes]

    @property
    def versioned_hashes(self) -> list[bytes]:
        return [versioned_hash(c) for c in self.commitments]

    @property
    def data_hash(self) -> bytes:
        """:func:`blobs_hash` of this sidecar's versioned hashes."""
        return blobs_hash(self.versioned_hashes)


#: Most blobs a Storage-mode header may commit (DataAvailabilityChallenge.MAX_ANSWER_BLOBS).
MAX_ANSWER_BLOBS = 256


def answer_blobs(frame: bytes) -> list[bytes]:
    """The blobs a Storage-mode header commits for ``frame`` (``blobsHash``), any number up
    to :data:`MAX_ANSWER_BLOBS`; a data answer posts them :data:`MAX_BLOBS_PER_TX` per
    transaction (docs/spec.md, "Data-availability answer in blobs").

    Raises:
        BatchDataError: the frame needs more than :data:`MAX_ANSWER_BLOBS` blobs.
    """
    return frame_to_blobs(frame, MAX_ANSWER_BLOBS)


def commitment_hashes(blobs: Sequence[bytes]) -> list[bytes]:
    """The versioned hashes of ``blobs`` (KZG commitments only, no proofs: ~40 ms a blob)."""
    ts = trusted_setup()
    return [versioned_hash(bytes(ckzg.blob_to_kzg_commitment(b, ts))) for b in blobs]


def sidecar_of(frame: bytes) -> BlobSidecar:
    """Blobs, commitments and proofs carrying ``frame`` (~0.15 s per blob after setup)."""
    return sidecar_of_blobs(frame_to_blobs(frame))


def sidecar_of_blobs(blobs: Sequence[bytes]) -> BlobSidecar:
    """Commitments and proofs for ``blobs`` as they are (also blobs that do not decode)."""
    ts = trusted_setup()
    blobs = list(blobs)
    commitments = [bytes(ckzg.blob_to_kzg_commitment(b, ts)) for b in blobs]
    proofs = [
        bytes(ckzg.compute_blob_kzg_proof(b, c, ts))
        for b, c in zip(blobs, commitments, strict=True)
    ]
    return BlobSidecar(blobs, commitments, proofs)


def check_blobs(blobs: Sequence[bytes], hashes: Sequence[bytes]) -> None:
    """Check each blob against its versioned hash by recomputing its KZG commitment.

    Raises:
        BatchDataError: counts differ, or a blob's commitment does not hash to its hash.
    """
    if len(blobs) != len(hashes):
        raise BatchDataError(f"{len(blobs)} blobs for {len(hashes)} versioned hashes")
    ts = trusted_setup()
    for n, (b, h) in enumerate(zip(blobs, hashes, strict=True)):
        if len(b) != BYTES_PER_BLOB:
            raise BatchDataError(f"blob {n} has {len(b)} bytes, expected {BYTES_PER_BLOB}")
        try:
            c = bytes(ckzg.blob_to_kzg_commitment(b, ts))
        except (RuntimeError, ValueError) as e:  # a field element over the modulus
            raise BatchDataError(f"blob {n} is not a valid blob: {e}") from None
        if versioned_hash(c) != h:
            raise BatchDataError(f"blob {n} does not match versioned hash 0x{h.hex()}")
