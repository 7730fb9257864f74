"""Blob-mode faults (docs/spec.md, "Blob-mode faults"): a sequencer that appends a Blobs-mode
batch whose blobs do not decode is proven on L1 with KZG openings through the point-evaluation
precompile (FraudProver.proveBlobFault) and slashed; honest blobs cannot be proven faulty, and a
wrong opening or versioned-hash list is refused with its custom error."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from web3.logs import DISCARD

from offchain.common.hashing import keccak
from offchain.rollup.l1.bindings import BatchStatus, DataMode
from offchain.rollup.ledger.blob_proof import (
    BlobFault,
    BlobFaultWitness,
    BlobOpening,
    fault_openings,
    find_fault,
    open_element,
)
from offchain.rollup.ledger.blobs import (
    BYTES_PER_BLOB,
    BlobSidecar,
    blobs_to_frame,
    frame_to_blobs,
    sidecar_of_blobs,
)
from offchain.rollup.ledger.compact import BatchDataError, compress, decompress
from tests.helpers.prod import assert_punished
from tests.rollup_l1.conftest import FRAUD_SLASH, Env

FRAME = compress(os.urandom(3000))  # incompressible: ~3 kB of frame, 98 elements


def _set_element(blob: bytes, j: int, value: bytes) -> bytes:
    return blob[: 32 * j] + value + blob[32 * j + 32 :]


def _payload_blobs(payload: bytes, k: int = 1) -> list[bytes]:
    """Blobs whose payloads are ``payload`` (then zeros): the element layout, no length rule."""
    data = payload.ljust(k * 31 * 4096, b"\x00")
    raw = b"".join(b"\x00" + data[i : i + 31] for i in range(0, len(data), 31))
    return [raw[b * BYTES_PER_BLOB : (b + 1) * BYTES_PER_BLOB] for b in range(k)]


def _frame_blobs(frame: bytes, k: int = 1) -> list[bytes]:
    return _payload_blobs(len(frame).to_bytes(4, "big") + frame, k)


BAD: dict[BlobFault, Callable[[], list[bytes]]] = {
    BlobFault.NON_CANONICAL_ELEMENT: lambda: [
        _set_element(frame_to_blobs(FRAME)[0], 7, b"\x01" + bytes(31))
    ],
    BlobFault.EMPTY_FRAME: lambda: _frame_blobs(b""),
    BlobFault.LENGTH_PAST_CAPACITY: lambda: _payload_blobs((31 * 4096).to_bytes(4, "big") + FRAME),
    BlobFault.BLOB_TOO_MANY: lambda: _frame_blobs(FRAME, k=2),
    BlobFault.BAD_FRAME_VERSION: lambda: _frame_blobs(b"\x02" + FRAME[1:]),
    BlobFault.NOT_ZSTD: lambda: _frame_blobs(FRAME[:1] + b"\x00" + FRAME[2:]),
    BlobFault.NONZERO_PADDING: lambda: [
        _set_element(frame_to_blobs(FRAME)[0], 4000, b"\x00" * 31 + b"\x01")
    ],
}


def _append_blobs(env: Env, sidecar: BlobSidecar) -> Any:
    env.sc(env.owner).set_data_mode(DataMode.BLOBS)
    seq = env.sc(env.current())
    h = env.header(seq.next_index(), data_hash=sidecar.data_hash)
    seq.append_batch(h, env.sign(h), blobs=sidecar)
    return h


@pytest.mark.parametrize("fault", list(BAD), ids=lambda f: f.name.lower())
def test_blobs_that_do_not_decode_are_proven_and_slashed(env: Env, fault: BlobFault) -> None:
    """Each decoder refusal visible in two field elements: the verifiers' decoder refuses the
    blobs, find_fault names the fault, proveBlobFault invalidates the batch and slashes."""
    blobs = BAD[fault]()
    with pytest.raises(BatchDataError):
        decompress(blobs_to_frame(blobs))
    sidecar = sidecar_of_blobs(blobs)
    h = _append_blobs(env, sidecar)
    seq_addr = env.current().address
    stake0 = env.stake(seq_addr)
    got, openings = fault_openings(sidecar.blobs, sidecar.commitments)
    assert got == fault
    challenger = env.signers[-1]
    prover = env.sc(challenger)
    rc = prover.prove_blob_fault(BlobFaultWitness(h, sidecar.versioned_hashes, openings))
    fp = env.contract("FraudProver", "fraud_prover")
    (ev,) = fp.events.BlobFaultProven().process_receipt(rc, errors=DISCARD)
    assert ev["args"]["fault"] == fault and ev["args"]["index"] == h.index
    (proven,) = fp.events.FraudProven().process_receipt(rc, errors=DISCARD)
    assert proven["args"]["sequencer"] == seq_addr
    # Committed in an earlier block (the binding's default): the reward is the prover's.
    assert proven["args"]["challenger"] == challenger.address
    assert env.sc(env.owner).batch_status(h.index) == BatchStatus.INVALID
    # The pool's books: slashed, the prover credited its share, kicked, the set rotated.
    paid = assert_punished(env, seq_addr, challenger.address, FRAUD_SLASH, stake0, rc)
    assert proven["args"]["reward"] == paid > 0
    print(f"proveBlobFault {fault.name}: {rc['gasUsed']} gas, {len(openings)} openings")


def test_honest_blobs_cannot_be_proven_faulty(env: Env, expect_revert: Any) -> None:
    """Blobs that decode: no fault found, and any opening (the frame's last element, padding)
    is NoFraud."""
    blobs = frame_to_blobs(FRAME)
    assert find_fault(blobs) == (BlobFault.NONE, 0, 0)
    sidecar = sidecar_of_blobs(blobs)
    h = _append_blobs(env, sidecar)
    prover = env.sc(env.signers[-1])
    c = sidecar.commitments
    last_frame_element = (4 + len(FRAME)) // 31
    for j in (0, last_frame_element, 4095):
        ops = [open_element(blobs, c, 0, 0), open_element(blobs, c, 0, j)]
        w = BlobFaultWitness(h, sidecar.versioned_hashes, ops)
        err = expect_revert("FraudProverNoFraud", prover.prove_blob_fault, w, commit=False)
        assert err.error_args == (h.index, h.tx_count)
    assert env.sc(env.owner).batch_status(h.index) == BatchStatus.PENDING


def test_wrong_witnesses_are_refused(env: Env, expect_revert: Any) -> None:
    """A claimed value the KZG proof does not open, an opening that does not start at element
    0 of blob 0, or versioned hashes that are not the header's: custom errors with values."""
    blobs = BAD[BlobFault.NONZERO_PADDING]()
    sidecar = sidecar_of_blobs(blobs)
    h = _append_blobs(env, sidecar)
    vh = sidecar.versioned_hashes
    c = sidecar.commitments
    prover = env.sc(env.signers[-1])
    first = open_element(blobs, c, 0, 0)
    honest = open_element(blobs, c, 0, 3999)  # a zero padding element
    lie = BlobOpening(0, 3999, b"\x00" * 31 + b"\x05", honest.commitment, honest.proof)

    def prove(hashes: list[bytes], ops: list[BlobOpening]) -> Any:
        return prover.prove_blob_fault(BlobFaultWitness(h, hashes, ops), commit=False)

    err = expect_revert("FraudProverBadBlobOpening", prove, vh, [first, lie])
    assert err.error_args == (h.index, 1, 0, 3999)
    err = expect_revert("FraudProverBadBlobOpening", prove, vh, [honest])
    assert err.error_args == (h.index, 0, 0, 0)
    other = [os.urandom(32)]
    err = expect_revert("FraudProverBadBlobHashes", prove, other, [first])
    assert err.error_args == (h.index, h.data_hash, keccak(other[0]))
    assert env.sc(env.owner).batch_status(h.index) == BatchStatus.PENDING
