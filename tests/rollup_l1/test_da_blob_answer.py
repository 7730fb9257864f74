"""A data-availability answer in blobs (docs/spec.md, "Data-availability answer in blobs"): a
Storage-mode header commits ``blobsHash``, the versioned hashes of the blobs that carry its
frame; the sequencer answers a request with exactly those blobs (type-3 ``provideBlobs``
transactions, at most 6 blobs each). Blobs that are not the committed ones are refused; blobs
committed but not the batch's data are a provable fault (they do not decode) or are settled by
a second request, which must be answered in chunks that L1 recomputes."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from offchain.rollup.batcher.plan import storage_blobs_hash
from offchain.rollup.batcher.submitter import answer_with_blobs
from offchain.rollup.l1.bindings import AnswerKind, BatchStatus, RequestStatus
from offchain.rollup.ledger.batch import ZERO32, BatchHeader
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.blob_proof import BlobFault, BlobFaultWitness, fault_openings
from offchain.rollup.ledger.blobs import (
    MAX_BLOBS_PER_TX,
    answer_blobs,
    blobs_hash,
    commitment_hashes,
    sidecar_of_blobs,
)
from offchain.rollup.ledger.compact import pack_chunks
from offchain.rollup.verifier.sources import answered_blobs, answered_frame
from tests.helpers.da import VERIFIER, append_batch_data, random_batch_data, tx_payload_bytes
from tests.helpers.prod import assert_punished, punishment_receipt
from tests.rollup_l1.conftest import DA_FEE, FRAUD_SLASH, SLASH, Env

GAS_CAP = 2**24  # EIP-7825
SIZE_CAP = 128 * 1024  # common transaction-size limit

Revert = Callable[..., Any]


def _storage_batch(env: Env, data: BatchData, frame: bytes | None = None) -> BatchHeader:
    """A Storage-mode batch of ``data`` whose header commits the blobs of ``frame`` (the
    data's own frame unless given), requested by the verifier."""
    frame = data.encode() if frame is None else frame
    h = append_batch_data(env, data, blobs_hash=storage_blobs_hash(frame))
    env.sc(VERIFIER).request_data(h)
    return h


def _punished(env: Env, seq: str, slash: int) -> None:
    """``seq`` slashed ``slash`` on the pool (the verifier credited its share) and kicked. Its
    answer already rotated it out (seed 001 §3.3.6: the sequencer asked is rotated once a
    request resolves), so the punishment rotates nobody."""
    rcpt = punishment_receipt(env, seq)
    assert_punished(env, seq, VERIFIER.address, slash, None, rcpt, rotated=False)


def test_wrong_blobs_are_refused(env: Env, expect_revert: Revert) -> None:
    """Attack: the sequencer answers with blobs of other data. Refused with the committed and
    carried hashes; the request stays open, no bond moves, nothing is punished."""
    seq = env.current()
    data = random_batch_data(20, seq.address)
    h = _storage_batch(env, data)
    blobs = answer_blobs(data.encode())
    hashes = commitment_hashes(blobs)
    other = sidecar_of_blobs(answer_blobs(random_batch_data(20, seq.address, seed=2).encode()))
    e = expect_revert(
        "DataAvailabilityChallengeWrongBlob",
        env.sc(seq).provide_blobs,
        h,
        hashes,
        0,
        other,
    )
    assert e.error_args == (h.index, 0, hashes[0], other.versioned_hashes[0])
    # The right hashes passed, but the list itself is not the commitment.
    expect_revert(
        "DataAvailabilityChallengeBadBlobHashes",
        env.sc(seq).provide_blobs,
        h,
        other.versioned_hashes,
        0,
        other,
    )
    l1 = env.sc(env.owner)
    assert l1.data_request(h.index).status == RequestStatus.OPEN
    assert l1.sc.functions.insecureAt(h.index).call()
    assert l1.blobs_received(h) == set()
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    assert da.functions.claimable(seq.address).call() == 0
    assert env.stake(seq.address) == env.stake_at_deploy(seq.address)


def test_blob_answer_needs_a_blob_commitment(env: Env, expect_revert: Revert) -> None:
    """A Storage header without ``blobsHash`` (older batches) is answered in chunks only;
    a blob answer on it reverts NoBlobCommitment."""
    seq = env.current()
    data = random_batch_data(5, seq.address)
    h = append_batch_data(env, data)
    assert h.blobs_hash == ZERO32
    env.sc(VERIFIER).request_data(h)
    sc = sidecar_of_blobs(answer_blobs(data.encode()))
    expect_revert(
        "DataAvailabilityChallengeNoBlobCommitment",
        env.sc(seq).provide_blobs,
        h,
        sc.versioned_hashes,
        0,
        sc,
    )
    chunks = pack_chunks(data.packed_batch())
    for j, c in enumerate(chunks):
        env.sc(seq).provide_chunk(h, j, c)
    assert env.sc(env.owner).data_request(h.index).status == RequestStatus.ANSWERED


def test_committed_blobs_that_do_not_decode_are_proven(env: Env) -> None:
    """Attack: >2/3 of the set sign a header whose ``blobsHash`` commits blobs of other bytes
    (nonzero padding after the frame). The answer with those blobs is accepted (they are the
    committed ones), and the blobs are then a provable fault: proveBlobFault against
    ``blobsHash`` invalidates the batch and slashes the sequencer."""
    seq = env.current()
    data = random_batch_data(20, seq.address)
    good = answer_blobs(data.encode())
    bad = [good[0][:-1] + b"\x01"]  # a nonzero byte in the padding: the decoder refuses it
    h = append_batch_data(env, data, blobs_hash=blobs_hash(commitment_hashes(bad)))
    env.sc(VERIFIER).request_data(h)
    side = sidecar_of_blobs(bad)
    env.sc(seq).provide_blobs(h, side.versioned_hashes, 0, side)
    l1 = env.sc(env.owner)
    assert l1.data_request(h.index).status == RequestStatus.ANSWERED
    got = answered_blobs(l1, h)
    assert got is not None and got[0] == bad
    fault, openings = fault_openings(got[0])
    assert fault == BlobFault.NONZERO_PADDING
    env.sc(VERIFIER).prove_blob_fault(BlobFaultWitness(h, got[1], openings))
    assert l1.batch_status(h.index) == BatchStatus.INVALID
    _punished(env, seq.address, FRAUD_SLASH)  # proveBlobFault: the fraud prover's slash


def test_committed_blobs_of_other_data_are_settled_by_chunks(
    env: Env, expect_revert: Revert
) -> None:
    """Attack: the header commits the blobs of another batch's frame (they decode, to data
    that is not the header's). After that blob answer a verifier asks again; the new request
    must be answered in chunks (a second blob answer reverts ChunksRequired), which L1
    recomputes: the sequencer either posts the real data or is slashed at the deadline."""
    seq = env.current()
    data = random_batch_data(20, seq.address)
    other = random_batch_data(20, seq.address, seed=3).encode()
    h = _storage_batch(env, data, frame=other)
    l1 = env.sc(env.owner)
    answer_with_blobs(env.sc(seq), h, other)
    assert l1.answer_kind(h) == AnswerKind.BLOBS
    frame = answered_frame(l1, h)
    assert frame == other and frame != data.encode()
    env.sc(VERIFIER).request_data(h)  # a blob answer leaves the header open to a new request
    side = sidecar_of_blobs(answer_blobs(other))
    expect_revert(
        "DataAvailabilityChallengeChunksRequired",
        env.sc(seq).provide_blobs,
        h,
        side.versioned_hashes,
        0,
        side,
    )
    env.warp(40)  # past the data window (30 s): no chunks came
    env.sc(VERIFIER).resolve_timeout(h.index)
    assert l1.data_request(h.index).status == RequestStatus.FAILED
    assert l1.batch_status(h.index) == BatchStatus.INVALID
    _punished(env, seq.address, SLASH)


def test_blob_answer_happy_path(env: Env) -> None:
    """The honest answer: the committed blobs, the request Answered, the bond to the
    sequencer, the insecure state over, and the data reads back from L1's blobs."""
    seq = env.current()
    data = random_batch_data(300, seq.address)
    h = _storage_batch(env, data)
    l1 = env.sc(env.owner)
    assert answer_with_blobs(env.sc(seq), h, data.encode()) == 1
    assert l1.data_request(h.index).status == RequestStatus.ANSWERED
    assert not l1.sc.functions.insecureAt(h.index).call()
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    assert da.functions.claimable(seq.address).call() == DA_FEE + 300 * int(
        da.functions.requestFeePerTx().call()
    )
    assert answered_frame(l1, h) == data.encode()
    posted = l1.provided_data(h.index)
    assert list(posted.tx_data) == data.tx_data and list(posted.post_roots) == data.post_roots


def test_10000_tx_batch_answered_in_blobs_under_the_caps(env: Env) -> None:
    """A 10,000-transaction batch's frame takes 11 blobs: two type-3 answer transactions
    (6 + 5 blobs), each far under 2^24 gas and 128 kB (the size of the transaction as a block
    holds it: its blobs travel in the sidecar, outside it; EIP-4844); the request is Answered
    and the frame reads back from L1."""
    seq = env.current()
    data = random_batch_data(10_000, seq.address)
    frame = data.encode()
    h = _storage_batch(env, data)
    l1 = env.sc(env.owner)
    k = len(answer_blobs(frame))
    assert k > MAX_BLOBS_PER_TX
    assert answer_with_blobs(env.sc(seq), h, frame) == -(-k // MAX_BLOBS_PER_TX)
    txs = l1.blob_answer_txs(h)
    w3 = env.chain.w3
    for a in txs:
        rc = w3.eth.get_transaction_receipt(a.tx_hash)
        tx = w3.eth.get_transaction(a.tx_hash)
        size = tx_payload_bytes(bytes(w3.eth.get_raw_transaction(a.tx_hash)))
        assert int(rc["gasUsed"]) < GAS_CAP and size < SIZE_CAP, (rc["gasUsed"], size)
        assert len(tx["blobVersionedHashes"]) <= MAX_BLOBS_PER_TX
    assert l1.data_request(h.index).status == RequestStatus.ANSWERED
    assert answered_frame(l1, h) == frame


def test_partial_blob_answer_keeps_progress(env: Env, expect_revert: Revert) -> None:
    """Blobs posted in several transactions in any order; a blob posted twice reverts
    BadBlobRange; the request stays open until every committed blob is in."""
    seq = env.current()
    data = random_batch_data(5, seq.address)
    frame = os.urandom(2 * 126_976)  # incompressible: 3 blobs
    h = _storage_batch(env, data, frame=frame)
    blobs = answer_blobs(frame)
    hashes = commitment_hashes(blobs)
    assert len(blobs) == 3
    l1 = env.sc(seq)
    l1.provide_blobs(h, hashes, 2, sidecar_of_blobs(blobs[2:]))
    assert l1.data_request(h.index).status == RequestStatus.OPEN
    e = expect_revert(
        "DataAvailabilityChallengeBadBlobRange",
        l1.provide_blobs,
        h,
        hashes,
        1,
        sidecar_of_blobs(blobs[1:]),
    )
    assert e.error_args == (h.index, 2, 3)
    l1.provide_blobs(h, hashes, 0, sidecar_of_blobs(blobs[:2]))
    assert l1.blobs_received(h) == {0, 1, 2}
    assert l1.data_request(h.index).status == RequestStatus.ANSWERED


@pytest.mark.parametrize("who", ["verifier", "other"])
def test_only_the_sequencer_answers_with_blobs(env: Env, expect_revert: Revert, who: str) -> None:
    seq = env.current()
    data = random_batch_data(5, seq.address)
    h = _storage_batch(env, data)
    side = sidecar_of_blobs(answer_blobs(data.encode()))
    acct = VERIFIER if who == "verifier" else next(s for s in env.signers if s != seq)
    expect_revert(
        "DataAvailabilityChallengeNotSequencer",
        env.sc(acct).provide_blobs,
        h,
        side.versioned_hashes,
        0,
        side,
    )
