"""Data availability modes on StateCommitment (docs/spec.md, "Data availability modes"): in Blobs
mode appendBatch takes only a type-3 transaction whose blobs are exactly the ones the signed
header commits; in Calldata mode only appendBatchWithData with the header's frame."""

from __future__ import annotations

from typing import Any

import pytest

from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.rollup.l1.bindings import DataMode
from offchain.rollup.ledger.blobs import (
    BLOB_GAS_PER_BLOB,
    PAYLOAD_BYTES_PER_BLOB,
    blobs_to_frame,
    sidecar_of,
)
from offchain.rollup.ledger.compact import BatchDataError
from offchain.rollup.verifier.sources import l1_frame, node_blobs
from tests.helpers.beacon import AnvilBeacon
from tests.rollup_l1.conftest import Env
from tests.rollup_l1.test_da_challenge import _txs

FRAME = _txs(5).encode()


def _header(env: Env, index: int, data_hash: bytes) -> Any:
    return env.header(index, data_hash=data_hash)


def test_data_mode_is_governed(env: Env, expect_revert: Any) -> None:
    """Only the owner (governance) changes the mode; the change is an event."""
    outsider = env.sc(dev_account(15))
    expect_revert("OwnableUnauthorizedAccount", outsider.set_data_mode, DataMode.BLOBS)
    rc = env.sc(env.owner).set_data_mode(DataMode.BLOBS)
    ev = env.contract("StateCommitment", "state_commitment").events.DataModeChanged()
    (log,) = ev.process_receipt(rc)
    assert (log["args"]["oldMode"], log["args"]["mode"]) == (0, 1)
    assert env.sc(env.owner).data_mode() == DataMode.BLOBS


def test_blobs_mode_refuses_a_batch_without_its_blobs(env: Env, expect_revert: Any) -> None:
    """A sequencer that tries to keep the data off L1 in Blobs mode cannot append."""
    env.sc(env.owner).set_data_mode(DataMode.BLOBS)
    sidecar = sidecar_of(FRAME)
    h = _header(env, 0, sidecar.data_hash)
    seq = env.sc(env.current())
    err = expect_revert("StateCommitmentMissingBlobs", seq.append_batch, h, env.sign(h))
    assert err.error_args == (0,)
    assert seq.next_index() == 0


def test_blobs_mode_refuses_other_blobs(env: Env, expect_revert: Any) -> None:
    """Blobs that are not the ones the co-signed header commits are refused, with both hashes."""
    env.sc(env.owner).set_data_mode(DataMode.BLOBS)
    committed = sidecar_of(FRAME)
    other = sidecar_of(_txs(5, b"other").encode())
    h = _header(env, 0, committed.data_hash)
    seq = env.sc(env.current())
    err = expect_revert(
        "StateCommitmentDataMismatch", seq.append_batch, h, env.sign(h), blobs=other
    )
    assert err.error_args == (0, committed.data_hash, other.data_hash)
    assert seq.next_index() == 0


def test_blobs_mode_appends_with_its_blobs_and_serves_them(env: Env) -> None:
    """The right blobs ride with appendBatch; the L1 node serves them; they decode to the frame."""
    env.sc(env.owner).set_data_mode(DataMode.BLOBS)
    big = bytes(range(256)) * (PAYLOAD_BYTES_PER_BLOB // 256 + 10)  # spans two blobs
    for frame, k in ((FRAME, 1), (big, 2)):
        sidecar = sidecar_of(frame)
        assert len(sidecar.blobs) == k
        seq = env.sc(env.current())
        h = _header(env, seq.next_index(), sidecar.data_hash)
        rc = seq.append_batch(h, env.sign(h), blobs=sidecar)
        assert rc["status"] == 1 and int(rc["blobGasUsed"]) == k * BLOB_GAS_PER_BLOB
        blobs = node_blobs(seq, bytes(rc["transactionHash"]))
        assert blobs is not None and blobs_to_frame(blobs) == frame
        found = l1_frame(seq, h)
        assert found == (frame, "l1_blobs")


def test_storage_mode_ignores_blobs(env: Env) -> None:
    """Storage mode (the default) appends as before; no data on L1."""
    assert env.sc(env.owner).data_mode() == DataMode.STORAGE
    h = _header(env, 0, keccak(FRAME))
    env.append(h)
    assert l1_frame(env.sc(env.owner), h) is None


def test_calldata_mode_needs_the_frame(env: Env, expect_revert: Any) -> None:
    """Calldata mode: appendBatch is refused, appendBatchWithData needs the committed frame."""
    env.sc(env.owner).set_data_mode(DataMode.CALLDATA)
    h = _header(env, 0, keccak(FRAME))
    seq = env.sc(env.current())
    err = expect_revert("StateCommitmentWrongDataMode", seq.append_batch, h, env.sign(h))
    assert err.error_args == (0, int(DataMode.CALLDATA))
    err = expect_revert(
        "StateCommitmentDataMismatch", seq.append_batch, h, env.sign(h), frame=FRAME + b"x"
    )
    assert err.error_args == (0, keccak(FRAME), keccak(FRAME + b"x"))
    seq.append_batch(h, env.sign(h), frame=FRAME)
    assert l1_frame(seq, h) == (FRAME, "l1_calldata")
    env.sc(env.owner).set_data_mode(DataMode.STORAGE)
    h1 = _header(env, 1, keccak(FRAME))
    err = expect_revert(
        "StateCommitmentWrongDataMode", seq.append_batch, h1, env.sign(h1), frame=FRAME
    )


def test_blobs_from_a_beacon_api(env: Env) -> None:
    """A verifier pointed at a beacon node reads the blobs from its
    /eth/v1/beacon/blob_sidecars/{slot} (picked by versioned hash, KZG-checked); a beacon node
    that is down or lacks the slot falls back to the L1 node; one serving blobs that do not
    match their versioned hashes is bad data (BatchDataError), never a crash."""
    env.sc(env.owner).set_data_mode(DataMode.BLOBS)
    sidecar = sidecar_of(FRAME)
    seq = env.sc(env.current())
    h = _header(env, seq.next_index(), sidecar.data_hash)
    seq.append_batch(h, env.sign(h), blobs=sidecar)
    beacon = AnvilBeacon(env.chain.w3).start()
    bad = AnvilBeacon(env.chain.w3, tamper=True).start()
    try:
        assert l1_frame(seq, h, beacon.url) == (FRAME, "beacon_blobs")
        assert any(p.startswith("/eth/v1/beacon/blob_sidecars/") for p in beacon.requests)
        assert l1_frame(seq, h, "http://127.0.0.1:9") == (FRAME, "l1_blobs")  # down
        with pytest.raises(BatchDataError, match="does not match versioned hash"):
            l1_frame(seq, h, bad.url)
        assert beacon.answer("/eth/v1/beacon/blob_sidecars/1")[0] == 404  # no block then
    finally:
        beacon.stop()
        bad.stop()
