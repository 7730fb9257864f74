"""Each data availability mode end to end on Anvil: nodes, batcher, co-signers and verifiers
(docs/spec.md, "Data availability modes"). In Blobs and Calldata modes a verifier with the
blob store down and no snapshot verifies every batch from L1 itself; the fault modes that are
proven by fraud proofs are still caught when the data is in blobs."""

from __future__ import annotations

from typing import Any

import pytest
from web3.logs import DISCARD

from offchain.chain.accounts import dev_account
from offchain.rollup.l1.bindings import BatchStatus, DataMode, RollupL1
from offchain.rollup.ledger.blobs import BLOB_GAS_PER_BLOB, blobs_hash
from offchain.rollup.node.config import BatcherConfig
from offchain.storage.client import BlobClient
from offchain.storage.errors import BlobNotFound
from tests.helpers.beacon import AnvilBeacon
from tests.helpers.prod import ZERO, assert_punished, punishment_receipt
from tests.rollup.conftest import FRAUD_SLASH, SLASH, RollupEnv, client, wait_until
from tests.rollup.test_verifier import BOB, DEAD_STORAGE, _traffic

# Storage-mode data answers here are blob transactions (tests/rollup/conftest.py).
pytestmark = pytest.mark.usefixtures("blob_ready")

FAST = BatcherConfig(max_batch_txs=50, batch_timeout_ms=300, poll_interval_ms=100)


def _set_mode(env: RollupEnv, mode: DataMode) -> RollupL1:
    owner = env.l1().with_sender(env.chain.sender(dev_account(0)))
    owner.set_data_mode(mode)
    return owner


def _append_tx(env: RollupEnv, index: int) -> dict:
    l1 = env.l1()
    hh = l1.stored_header_hash(index)
    ab = next(a for a in reversed(l1._appended_at_index(index)) if a.header_hash == hh)
    return dict(env.chain.w3.eth.get_transaction(ab.tx_hash))


@pytest.fixture
def restore_mode(rollup_env: RollupEnv):
    yield
    _set_mode(rollup_env, DataMode.STORAGE)


def test_blobs_mode_verified_from_l1_blobs(rollup_env: RollupEnv, restore_mode: None) -> None:
    """Blobs mode: each batch rides in a type-3 appendBatch whose blobs hash to the header's
    dataHash; nothing goes to the blob store; a late verifier with storage down and no
    snapshot verifies every batch from the blobs (KZG-checked)."""
    env = rollup_env
    _set_mode(env, DataMode.BLOBS)
    nodes = env.start_nodes(env.signers, FAST)
    sent = _traffic(env, nodes, transfers=5, withdraw=True)
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, timeout_s=60, what="a blob batch on L1")
    header = l1.get_header_from_event(0)
    tx = _append_tx(env, 0)
    assert tx["type"] == 3
    hashes = [bytes(h) for h in tx["blobVersionedHashes"]]
    assert blobs_hash(hashes) == header.data_hash
    rc = env.chain.w3.eth.get_transaction_receipt(tx["hash"])
    assert int(rc["blobGasUsed"]) == len(hashes) * BLOB_GAS_PER_BLOB
    with pytest.raises(BlobNotFound):
        BlobClient(env.storage_url).get("0x" + header.data_hash.hex())
    # The sequencer's own §8 check passed on what it published.
    # The batcher records its check once the append's receipt is in: wait for it.
    wait_until(
        lambda: (nodes[0].node.store.batch(0) or {}).get("check") is not None,
        what="the sequencer's own check of batch 0",
    )
    rec = nodes[0].node.store.batch(0)
    assert rec is not None and rec["check"]["result"] == "match", rec
    late = env.start_verifier(dev_account(35), DEAD_STORAGE)
    wait_until(lambda: client(nodes[0]).balance(BOB.address) == sent, what="transfers on L2")
    wait_until(
        lambda: (late.tick() or True) and late.verified_index >= l1.next_index() - 1,
        timeout_s=30,
        what="late verifier catches up",
    )
    assert {o.detail for o in late.outcomes if o.result == "verified"} == {"l1_blobs"}
    assert late.state.root == l1.get_header_from_event(late.verified_index).final_state_root
    # Pointed at a beacon node (rollup_node.verifier.beacon_url), it reads the blobs there.
    beacon = AnvilBeacon(env.chain.w3).start()
    try:
        via_beacon = env.start_verifier(dev_account(39), DEAD_STORAGE)
        via_beacon.config.beacon_url = beacon.url
        out = via_beacon.tick()
        assert out and {o.detail for o in out if o.result == "verified"} == {"beacon_blobs"}, out
    finally:
        beacon.stop()


def test_calldata_mode_verified_from_l1_calldata(rollup_env: RollupEnv, restore_mode: None) -> None:
    """Calldata mode: the frame is appendBatchWithData's argument; a verifier reads it there."""
    env = rollup_env
    _set_mode(env, DataMode.CALLDATA)
    nodes = env.start_nodes(env.signers, FAST)
    _traffic(env, nodes, transfers=3)
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, timeout_s=60, what="a calldata batch on L1")
    late = env.start_verifier(dev_account(36), DEAD_STORAGE)
    out = late.tick()
    assert out and out[0].result == "verified" and out[0].detail == "l1_calldata", out


def _faulty_blob_batch(env: RollupEnv, mode: str) -> tuple[list, RollupL1, Any]:
    """Blobs mode, nodes running, the current sequencer in faulty ``mode`` (colluding
    signatures): the nodes, the L1 bindings and the faulty signer, once batch 0 is on L1 in a
    type-3 transaction."""
    _set_mode(env, DataMode.BLOBS)
    nodes = env.start_nodes(env.signers, FAST)
    assert nodes[0].batcher is not None
    nodes[0].batcher.fault = env.colluding(mode)
    _traffic(env, nodes)
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, timeout_s=60, what="the faulty blob batch")
    assert _append_tx(env, 0)["type"] == 3
    return nodes, l1, env.signers[0]


def _assert_punished(
    env: RollupEnv, l1: RollupL1, bad_signer: Any, slash: int = FRAUD_SLASH
) -> None:
    """Batch 0 invalid; ``bad_signer`` slashed ``slash`` on the pool (the verifier that proved
    it or asked for the data credited its share), kicked, and the set rotated to the draw's
    next sequencer."""
    seq = bad_signer.address
    rcpt = punishment_receipt(env.prod, seq)
    (ev,) = env.prod.c("locking_pool").events.Slashed().process_receipt(rcpt, errors=DISCARD)
    assert_punished(env.prod, seq, ev.args.beneficiary, slash, None, rcpt)
    assert ev.args.beneficiary != ZERO  # the verifier that proved it
    assert l1.batch_status(0) == BatchStatus.INVALID


@pytest.mark.parametrize("mode", ["wrong_mtsr", "forge", "bad_blobs"])
def test_fraud_faults_caught_in_blobs_mode(
    rollup_env: RollupEnv, restore_mode: None, mode: str
) -> None:
    """A wrong post-state root or a forged transfer, published in blobs, is proven on L1 by a
    verifier that only has the blobs; so are blobs that do not decode (a nonzero padding byte,
    proven with KZG openings: proveBlobFault): slashed, kicked, invalidated, rotated."""
    nodes, l1, bad_signer = _faulty_blob_batch(rollup_env, mode)
    v = rollup_env.start_verifier(dev_account(37), DEAD_STORAGE)
    if mode == "bad_blobs":  # the data is on the L2 nodes too: the blobs are still checked
        v.config.l2_node_urls = [n.url for n in nodes]
    out = v.tick()[0]
    assert out.result == "fraud_proven", out
    if mode == "bad_blobs":
        assert out.detail == "blobs do not decode: NONZERO_PADDING", out
    _assert_punished(rollup_env, l1, bad_signer)


def test_blob_data_not_matching_the_header_slashed(
    rollup_env: RollupEnv, restore_mode: None
) -> None:
    """Blobs that decode but whose data is not what the header's roots commit to (the faulty
    ``mismatch`` mode: one transaction left out): a verifier that only has the blobs requests
    the data (seed 001 §11.9); the sequencer's chunked answer is recomputed on L1, does not
    match, and the sequencer is slashed, kicked and the batch invalidated."""
    _, l1, bad_signer = _faulty_blob_batch(rollup_env, "mismatch")
    v = rollup_env.start_verifier(dev_account(36), DEAD_STORAGE)
    out = v.tick()[0]
    assert out.result == "requested" and "MTTBR" in out.detail, out
    wait_until(lambda: l1.data_request(0).status.name == "FAILED", what="the answer mismatches")
    _assert_punished(rollup_env, l1, bad_signer, SLASH)  # the DA challenge's slash


def test_late_verifier_rebuilds_from_l2_nodes(rollup_env: RollupEnv) -> None:
    """Storage mode, blob store down, no snapshot: the verifier rebuilds each batch from the
    sequencer nodes' blocks (re-executed, checked against the header) instead of asking L1;
    a node serving nothing useful is skipped (seed 001 §9 order)."""
    env = rollup_env
    nodes = env.start_nodes(env.signers, FAST)
    _traffic(env, nodes, transfers=4, withdraw=True)
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, timeout_s=60, what="a batch on L1")
    late = env.start_verifier(dev_account(38), DEAD_STORAGE)
    late.config.l2_node_urls = [DEAD_STORAGE, *(n.url for n in nodes)]
    out = late.tick()
    assert out and all(o.result == "verified" for o in out), out
    assert {o.detail for o in out} == {"l2_nodes"}
    assert l1.data_request(0).status.name == "NONE"  # nothing asked on L1


def test_batcher_never_builds_what_it_cannot_publish() -> None:
    """Blobs: more than 6 blobs' worth, and Calldata: more than fits a 128 kB transaction, are
    refused when building (the batcher then takes fewer blocks); Storage takes any size (the
    DA answer goes in chunks)."""
    from offchain.rollup.batcher.plan import MAX_CALLDATA_FRAME_BYTES, data_commitment
    from offchain.rollup.ledger.blobs import MAX_BLOBS_PER_TX, PAYLOAD_BYTES_PER_BLOB
    from offchain.rollup.ledger.compact import BatchDataError

    big = b"\x01" * (MAX_BLOBS_PER_TX * PAYLOAD_BYTES_PER_BLOB)
    with pytest.raises(BatchDataError, match="needs 7 blobs"):
        data_commitment(big, DataMode.BLOBS)
    with pytest.raises(BatchDataError, match="appendBatchWithData"):
        data_commitment(b"\x01" * (MAX_CALLDATA_FRAME_BYTES + 1), DataMode.CALLDATA)
    assert data_commitment(big, DataMode.STORAGE)[1] is None
