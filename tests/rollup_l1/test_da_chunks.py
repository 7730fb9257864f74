"""A data-availability answer that fits any batch (docs/spec.md, "Data-availability answer in
chunks"): the sequencer posts the packed batch in chunks of 256 transactions, every answer
transaction under EIP-7825's 2^24 gas and 128 kB; L1 recomputes the roots from the chunks
(seed 001 §3.3.5, §11.9). Wrong or unparsable data punishes the sequencer."""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from web3.exceptions import ContractCustomError

from offchain.chain.accounts import dev_account
from offchain.errors import TxReverted
from offchain.rollup.l1.bindings import BatchStatus, PostedBatchData, RequestStatus
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.compact import CHUNK_TXS, pack_chunks
from offchain.rollup.ledger.tx import to_checksum
from tests.helpers.da import VERIFIER, append_batch_data, random_batch_data
from tests.helpers.prod import assert_punished, punishment_receipt
from tests.rollup_l1.conftest import DA_FEE, SLASH, Env

GAS_CAP = 2**24  # EIP-7825
SIZE_CAP = 128 * 1024  # common transaction-size limit


def _answer(env: Env, h: BatchHeader, chunks: list[bytes], order: list[int] | None = None) -> list:
    seq = env.sc(env.current())
    return [seq.provide_chunk(h, j, chunks[j]) for j in (order or range(len(chunks)))]


@pytest.mark.parametrize("n", [1, 2, 3, 255, 256, 257, 600])
def test_chunked_answer_recomputes_the_roots(env: Env, n: int) -> None:
    """Every tree shape (one leaf, a partial chunk, chunk boundaries, several chunks) answers:
    the recomputed roots equal the header's, the bond goes to the sequencer, the insecure
    state ends, and the posted data reads back from L1."""
    seq_acct = env.current()
    data = random_batch_data(n, seq_acct.address)
    h = append_batch_data(env, data)
    env.sc(VERIFIER).request_data(h)
    chunks = pack_chunks(data.packed_batch())
    assert len(chunks) == -(-n // CHUNK_TXS)
    order = list(range(len(chunks)))[::-1]  # any order
    _answer(env, h, chunks, order)
    l1 = env.sc(env.owner)
    assert l1.data_request(h.index).status == RequestStatus.ANSWERED
    assert not l1.sc.functions.insecureAt(h.index).call()
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    assert da.functions.claimable(seq_acct.address).call() > 0
    posted = l1.provided_data(h.index)
    assert list(posted.tx_data) == data.tx_data and list(posted.post_roots) == data.post_roots


@pytest.mark.slow
def test_10000_tx_batch_answered_under_the_caps(env: Env) -> None:
    """A 10,000-transaction batch (the seed's one-transaction answer would need ~150M gas and
    4.8 MB) is answered in 40 chunks, each transaction under 2^24 gas and 128 kB."""
    seq_acct = env.current()
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    # The data window must cover 40 answer transactions (24 h in production).
    env.chain.sender(env.owner).send(da.functions.setParams(3600, DA_FEE, SLASH))
    data = random_batch_data(10_000, seq_acct.address)
    h = append_batch_data(env, data)
    env.sc(VERIFIER).request_data(h)
    chunks = pack_chunks(data.packed_batch())
    assert len(chunks) == 40
    receipts = _answer(env, h, chunks)
    w3 = env.chain.w3
    sizes = [len(w3.eth.get_raw_transaction(rc["transactionHash"])) for rc in receipts]
    gas = [int(rc["gasUsed"]) for rc in receipts]
    assert max(gas) < GAS_CAP and max(sizes) < SIZE_CAP, (max(gas), max(sizes))
    assert env.sc(env.owner).data_request(h.index).status == RequestStatus.ANSWERED
    per_byte = sum(gas) / sum(len(c) for c in chunks)
    print(
        f"10k answer: {len(chunks)} txs, max gas {max(gas)}, max size {max(sizes)}, "
        f"total gas {sum(gas)}, {per_byte:.1f} gas/byte"
    )


def _assert_failed(env: Env, h: BatchHeader, seq: Any) -> None:
    l1 = env.sc(env.owner)
    assert l1.data_request(h.index).status == RequestStatus.FAILED
    assert l1.batch_status(h.index) == BatchStatus.INVALID
    # slashed on the pool (the requester credited its share), kicked, the set rotated
    assert_punished(
        env, seq.address, VERIFIER.address, SLASH, None, punishment_receipt(env, seq.address)
    )


def test_chunk_with_a_wrong_claim_slashes(env: Env) -> None:
    """Data whose recomputed MTSR differs from the header's (one root changed in chunk 1):
    once the chunks are in, the sequencer is slashed and the batch invalidated (§11.11)."""
    seq = env.current()
    data = random_batch_data(600, seq.address)
    h = append_batch_data(env, data)
    env.sc(VERIFIER).request_data(h)
    roots = list(data.post_roots)
    roots[300] = os.urandom(32)
    bad = PostedBatchData(data.tx_data, data.fee_recipients, roots, data.withdrawal_items)
    chunks = pack_chunks(BatchData(*bad.__dict__.values()).packed_batch())
    _answer(env, h, chunks)
    _assert_failed(env, h, seq)


def test_unparsable_chunk_slashes(env: Env) -> None:
    """A truncated chunk is invalid data: punished at once, not a revert to retry."""
    seq = env.current()
    data = random_batch_data(300, seq.address)
    h = append_batch_data(env, data)
    env.sc(VERIFIER).request_data(h)
    chunks = pack_chunks(data.packed_batch())
    env.sc(seq).provide_chunk(h, 0, chunks[0][:-5])
    _assert_failed(env, h, seq)


def test_wrong_final_root_in_last_chunk_slashes(env: Env) -> None:
    seq = env.current()
    data = random_batch_data(10, seq.address)
    h = append_batch_data(env, data, final_state_root=os.urandom(32))
    env.sc(VERIFIER).request_data(h)
    _answer(env, h, pack_chunks(data.packed_batch()))
    _assert_failed(env, h, seq)


def test_chunk_out_of_range_or_twice_reverts(env: Env, expect_revert: Any) -> None:
    seq = env.current()
    data = random_batch_data(300, seq.address)
    h = append_batch_data(env, data)
    env.sc(VERIFIER).request_data(h)
    chunks = pack_chunks(data.packed_batch())
    s = env.sc(seq)
    err = expect_revert("DataAvailabilityChallengeBadChunk", s.provide_chunk, h, 2, chunks[1])
    assert err.error_args == (h.index, 2, 2)
    s.provide_chunk(h, 0, chunks[0])
    expect_revert("DataAvailabilityChallengeBadChunk", s.provide_chunk, h, 0, chunks[0])
    other = env.sc(dev_account(15))
    expect_revert("DataAvailabilityChallengeNotSequencer", other.provide_chunk, h, 1, chunks[1])


def test_bond_scales_with_the_batch_and_covers_the_answer(env: Env, expect_revert: Any) -> None:
    """The bond is requestFee + requestFeePerTx * txCount (governance sets the per-transaction
    part): the base fee alone is refused with both values; the bond on a 600-tx batch pays the
    sequencer more than the gas of its chunked answer cost; only the owner sets it, within
    uint64."""
    per_tx = 18_000 * 10**9  # the deploy default: ~18,000 gas per transaction at 1 gwei
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    outsider = dev_account(15)
    with pytest.raises(TxReverted) as ei:
        env.chain.sender(outsider).send(da.functions.setRequestFeePerTx(per_tx))
    assert ei.value.error_name == "OwnableUnauthorizedAccount"
    with pytest.raises(TxReverted) as ei:
        env.chain.sender(env.owner).send(da.functions.setRequestFeePerTx(2**64))
    assert ei.value.error_name == "DataAvailabilityChallengeBadFee"
    rc = env.chain.sender(env.owner).send(da.functions.setRequestFeePerTx(per_tx))
    (ev,) = da.events.RequestFeePerTxChanged().process_receipt(rc)
    assert ev["args"]["feePerTx"] == per_tx
    seq_acct = env.current()
    data = random_batch_data(600, seq_acct.address)
    h = append_batch_data(env, data)
    v = env.sc(VERIFIER)
    bond = v.da_fee_for(h.tx_count)
    assert bond == DA_FEE + per_tx * 600
    err = expect_revert("DataAvailabilityChallengeBadFee", v.request_data, h, DA_FEE)
    assert err.error_args == (DA_FEE, bond)
    v.request_data(h)
    before = da.functions.claimable(seq_acct.address).call()
    receipts = _answer(env, h, pack_chunks(data.packed_batch()))
    cost = sum(int(r["gasUsed"]) * int(r["effectiveGasPrice"]) for r in receipts)
    assert env.sc(env.owner).data_request(h.index).status == RequestStatus.ANSWERED
    paid = da.functions.claimable(seq_acct.address).call() - before
    assert paid == bond > cost, (paid, cost)


def test_parser_refuses_every_truncation_and_bad_length(env: Env) -> None:
    """The chunk parser (assembly for the user transactions) reads nothing past the chunk: every
    prefix of a chunk is refused with BatchChunksMalformed / BatchChunksWrongCount (never a
    panic or another error, which provideChunk would not punish), and so is an integer
    length byte over 32; the whole chunk gives the roots the full answer matches."""
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    data = random_batch_data(3, env.current().address)
    (chunk,) = pack_chunks(data.packed_batch())
    roots = da.functions.chunkRootsOf(chunk, 0, 3).call()
    assert roots[3] == data.post_roots[-1]
    bad = {chunk[:cut] for cut in range(len(chunk))}
    amount_len_at = 4 + 1 + 60  # n:u32, kind, three addresses: then U(amount)'s length byte
    bad.add(chunk[:amount_len_at] + b"\x21" + chunk[amount_len_at + 1 :])
    for b in bad:
        with pytest.raises(ContractCustomError) as ei:
            da.functions.chunkRootsOf(b, 0, 3).call()
        name, _, _ = env.chain.artifacts.decode_error(str(ei.value.data))
        assert name in ("BatchChunksMalformed", "BatchChunksWrongCount"), (len(b), name)


def _word(x: int) -> bytes:
    return x.to_bytes(32, "big")


def _edge_batch(seed: int, n: int, seq: str) -> BatchData:
    """Transactions of every entry shape the packed format has, with integers at the edges
    (0, one byte, 32 bytes): user transfers/withdrawals, deposits, raw (non-canonical)
    encodings, and several fee-recipient runs."""
    rng = random.Random(seed)
    edges = [0, 1, 255, 256, 2**64, 2**256 - 1]

    def num() -> int:
        return rng.choice(edges) if rng.random() < 0.5 else rng.randrange(2**256)

    txs, fees, items = [], [], []
    for _ in range(n):
        shape = rng.randrange(4)
        addrs = [b"\x00" * 12 + rng.randbytes(20) for _ in range(3)]
        if shape == 0:  # deposit: kind 0, id, l1Sender, recipient, token, amount
            t = b"\x00" + _word(num()) + b"".join(addrs) + _word(num())
        elif shape == 3:  # raw: any other encoding (a forged batch may hold one)
            t = rng.randbytes(rng.randrange(0, 300))
        else:  # user tx: kind 1/2, from, to, token, amount, fee, nonce, v, r, s
            t = bytes([shape]) + b"".join(addrs) + b"".join(_word(num()) for _ in range(3))
            t += _word(rng.randrange(256)) + rng.randbytes(64)
        txs.append(t)
        fees.append(seq if rng.random() < 0.7 else to_checksum(rng.randbytes(20)))
        items.append(rng.randbytes(32) if rng.random() < 0.2 else b"\x00" * 32)
    return BatchData(txs, fees, [rng.randbytes(32) for _ in range(n)], items)


@pytest.mark.parametrize("seed", range(4))
def test_parser_agrees_with_the_ledger_on_every_entry_shape(env: Env, seed: int) -> None:
    """Differential: for one-chunk batches of random shapes (deposits, user transactions with
    edge integers, raw entries, fee-recipient runs, withdrawals), the on-chain parser's nodes
    are the Python ledger's roots (a one-chunk batch's nodes are its roots)."""
    da = env.contract("DataAvailabilityChallenge", "da_challenge")
    n = [1, 7, 100, 256][seed]
    data = _edge_batch(seed, n, env.current().address)
    (chunk,) = pack_chunks(data.packed_batch())
    got = da.functions.chunkRootsOf(chunk, 0, n).call()
    r = data.roots()
    assert [bytes(x) for x in got] == [r.mttbr, r.mtsr, r.withdrawal_root, data.post_roots[-1]]
