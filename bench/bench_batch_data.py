"""Size and speed of the compact batch data (docs/spec.md, "Compact batch data"), and what
publishing it on L1 costs in each data mode ("Data availability modes").

Workload: 1,000 signed ETH transfers among 1,000 funded accounts (every 10th to a fresh
account), executed, so the frame carries real post-state roots (bench_ledger's workload).
L1 figures: a devnet with the real SequencerSet/LockingPool, the batch's real header with one
FROST signature of the 4 devnet sequencers' group key, steady state (third append), exact from
receipts:
``l1_gas_per_l2_tx_blob_mode_at_1000_tx_batch`` is the blob-carrying appendBatch's gasUsed
(intrinsic gas and calldata included) / 1,000; ``blob_gas_per_l2_tx`` its blobGasUsed / 1,000;
``fraud_proof_gas_blob_mode`` the KZG-opened proof that the batch's blobs do not decode
(FraudProver.proveBlobFault, two openings, punish included; see ``_blob_fault_figures``).
"""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes

from bench.bench_ledger import SEQ, _workload
from bench.bench_rollup_l1 import _L1
from bench.common import median_time_s
from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.config import load_config
from offchain.devnet import Devnet
from offchain.rollup.batcher.plan import header_for
from offchain.rollup.l1.bindings import DataMode
from offchain.rollup.ledger.batch_data import BatchData, decode_batch_data
from offchain.rollup.ledger.blob_proof import BlobFault, BlobFaultWitness, fault_openings
from offchain.rollup.ledger.blobs import BlobSidecar, sidecar_of, sidecar_of_blobs
from offchain.rollup.ledger.compact import compress, decompress

N_TXS = 1000


def _l1_figures(data: BatchData, frame: bytes) -> dict[str, float | int]:
    """Gas of publishing the batch in Blobs and Calldata modes (see the module docstring)."""
    sidecar = sidecar_of(frame)
    out: dict[str, float | int] = {"blobs_per_1000_tx_batch": len(sidecar.blobs)}
    for mode in (DataMode.BLOBS, DataMode.CALLDATA):
        cfg = load_config()
        cfg.rollup.da_mode = mode.name.lower()  # set at deploy (then owned by governance)
        with Devnet(cfg, ephemeral=True, log=lambda *_: None) as d:
            l1 = _L1(d)
            assert l1.rl.data_mode() == mode
            rc = None
            for _ in range(3):  # steady state: the third append
                i = l1.rl.next_index()
                dh = sidecar.data_hash if mode == DataMode.BLOBS else keccak(frame)
                h = header_for(i, i, 1, data, 0, b"\x00" * 32, dh)
                if mode == DataMode.BLOBS:
                    rc = l1.append(h, blobs=sidecar)
                else:
                    rc = l1.append(h, frame=frame)
            assert rc is not None
            if mode == DataMode.BLOBS:
                out |= _blob_fault_figures(l1, data, sidecar)
        name = "blob" if mode == DataMode.BLOBS else "calldata"
        out[f"l1_gas_per_l2_tx_{name}_mode_at_1000_tx_batch"] = round(int(rc["gasUsed"]) / N_TXS, 1)
        if mode == DataMode.BLOBS:
            out["append_batch_blob_mode_gas"] = int(rc["gasUsed"])
            out["blob_gas_per_l2_tx"] = round(int(rc["blobGasUsed"]) / N_TXS, 1)
    return out


def _blob_fault_figures(l1: _L1, data: BatchData, sidecar: BlobSidecar) -> dict[str, int]:
    """``fraud_proof_gas_blob_mode``: proveBlobFault on the 1,000-transfer batch's blob with
    its last byte set (nonzero padding: two KZG openings, the worst case), committed a block
    before as every proof, punish on the real SequencerSet included; ``..._one_opening``: a
    frame version byte changed (element 0 alone)."""
    out: dict[str, int] = {}
    last = sidecar.blobs[-1][:-1] + b"\x01"
    element0 = sidecar.blobs[0]
    version = element0[:5] + b"\x02" + element0[6:]
    cases = {"fraud_proof_gas_blob_mode": [*sidecar.blobs[:-1], last]}
    if len(sidecar.blobs) == 1:
        cases["fraud_proof_gas_blob_mode_one_opening"] = [version]
    for name, blobs in cases.items():
        snap = l1.snapshot()
        try:
            bad = sidecar_of_blobs(blobs)
            i = l1.rl.next_index()
            h = header_for(i, i, 1, data, 0, b"\x00" * 32, bad.data_hash)
            l1.append(h, blobs=bad)
            fault, openings = fault_openings(bad.blobs, bad.commitments)
            assert fault != BlobFault.NONE
            v = l1.sc(dev_account(14))
            rc = v.prove_blob_fault(BlobFaultWitness(h, bad.versioned_hashes, openings))
            out[name] = int(rc["gasUsed"])
        finally:
            l1.revert(snap)
    return out


def _da_answer_figures(n: int = 10_000) -> dict[str, float | int]:
    """A Storage-mode batch of ``n`` transfers (header committing ``blobsHash``) answered twice
    on the same devnet state (test sequencer set, data window raised to cover the answer),
    every answer transaction's gas and size exact from receipts:

    - in blobs (what the batcher sends): ``da_provide_blob_exec_gas_per_byte`` = the answer
      transactions' execution gas (``gasUsed``: intrinsic, calldata and the contract) / the
      batch's packed bytes, the same unit and denominator as the chunked figure;
      ``da_provide_blob_gas_per_byte`` their blob gas (``blobGasUsed``, priced by the
      separate EIP-4844 blob fee market) / the same bytes; sizes are of the transactions as a
      block holds them (the blobs travel in the sidecar);
    - in calldata chunks (the fallback L1 recomputes; the issue's "calldata path"):
      ``da_provide_gas_per_byte`` = all answer gas / packed bytes, next to
      ``da_provide_floor_gas_per_byte``, the EIP-7623 calldata floor of the same transactions
      (the least any calldata answer of these bytes costs).
    """
    from offchain.chain.anvil import running_anvil
    from offchain.chain.client import Chain, connect
    from offchain.rollup.batcher.plan import storage_blobs_hash
    from offchain.rollup.batcher.submitter import answer_with_blobs
    from offchain.rollup.ledger.compact import pack_chunks
    from tests.helpers.da import (
        VERIFIER,
        append_batch_data,
        random_batch_data,
        tx_payload_bytes,
        warm_blob_checks,
    )
    from tests.rollup_l1.conftest import DA_FEE, SLASH, deploy_env

    with running_anvil() as a:
        chain = Chain(connect(a.url))
        w3 = chain.w3
        env = deploy_env(chain)
        warm_blob_checks(chain)  # Anvil's first blob transaction loads its KZG settings
        da = env.contract("DataAvailabilityChallenge", "da_challenge")
        chain.sender(env.owner).send(da.functions.setParams(3600, DA_FEE, SLASH))
        data = random_batch_data(n, env.current().address)
        frame = data.encode()
        h = append_batch_data(env, data, blobs_hash=storage_blobs_hash(frame))
        env.sc(VERIFIER).request_data(h)
        chunks = pack_chunks(data.packed_batch())
        packed = sum(len(c) for c in chunks)
        seq = env.sc(env.current())
        snap = chain.rpc("evm_snapshot")
        blob_txs = answer_with_blobs(seq, h, frame)
        brcs: list[Any] = [
            w3.eth.get_transaction_receipt(HexBytes(t.tx_hash)) for t in seq.blob_answer_txs(h)
        ]
        bgas = [int(rc["gasUsed"]) for rc in brcs]
        bsizes = [
            tx_payload_bytes(bytes(w3.eth.get_raw_transaction(rc["transactionHash"])))
            for rc in brcs
        ]
        blob_gas = sum(int(rc["blobGasUsed"]) for rc in brcs)
        blob_answered = seq.data_request(h.index).status.name == "ANSWERED"
        chain.rpc("evm_revert", snap)
        rcs = [seq.provide_chunk(h, j, c) for j, c in enumerate(chunks)]
        gas = [int(rc["gasUsed"]) for rc in rcs]
        sizes = [len(w3.eth.get_raw_transaction(rc["transactionHash"])) for rc in rcs]
        floor = sum(
            _calldata_floor(bytes(w3.eth.get_transaction(rc["transactionHash"])["input"]))
            for rc in rcs
        )
        answered = seq.data_request(h.index).status.name == "ANSWERED"
    caps = 2**24, 128 * 1024
    fits = answered and max(gas) < caps[0] and max(sizes) < caps[1]
    blob_fits = blob_answered and max(bgas) < caps[0] and max(bsizes) < caps[1]
    return {
        "da_answer_max_batch_txs": n if fits and blob_fits else 0,
        "da_answer_blob_txs_at_10000_tx_batch": blob_txs,
        "da_answer_blobs_at_10000_tx_batch": blob_gas // 2**17,
        "da_answer_blob_max_tx_gas": max(bgas),
        "da_answer_blob_max_tx_bytes": max(bsizes),
        "da_provide_blob_exec_gas_per_byte": round(sum(bgas) / packed, 2),
        "da_provide_blob_gas_per_byte": round(blob_gas / packed, 2),
        "da_answer_blob_gas_per_l2_tx": round(sum(bgas) / n, 1),
        "da_answer_txs_at_10000_tx_batch": len(chunks),
        "da_answer_max_tx_gas": max(gas),
        "da_answer_max_tx_bytes": max(sizes),
        "da_answer_gas_per_l2_tx": round(sum(gas) / n, 1),
        "da_provide_gas_per_byte": round(sum(gas) / packed, 1),
        # EIP-7623's floor for the same calldata: no answer posting these bytes costs less.
        "da_provide_floor_gas_per_byte": round(floor / packed, 1),
    }


def _calldata_floor(data: bytes) -> int:
    """EIP-7623 floor gas of a transaction with calldata ``data``: 21,000 + 10 per token
    (a zero byte is 1 token, a nonzero byte 4)."""
    zeros = data.count(0)
    return 21_000 + 10 * (zeros + 4 * (len(data) - zeros))


def run() -> dict[str, float | int]:
    led, txs = _workload(n_accounts=1000, n_txs=N_TXS)
    data = BatchData.from_receipts(txs, [led.apply(t, SEQ) for t in txs])
    packed = data.packed()
    frame = compress(packed)
    assert decode_batch_data(frame).roots() == data.roots()
    mb = len(packed) / 1e6
    comp_s = median_time_s(lambda: compress(packed), repeat=9)
    decomp_s = median_time_s(lambda: decompress(frame), repeat=9)
    return (
        {
            "batch_data_abi_bytes_per_transfer": round(len(data.abi_encode()) / N_TXS, 1),
            "batch_data_packed_bytes_per_transfer": round(len(packed) / N_TXS, 1),
            "batch_data_bytes_per_transfer": round(len(frame) / N_TXS, 1),
            "compress_mb_per_s": round(mb / comp_s, 1),
            "decompress_mb_per_s": round(mb / decomp_s, 1),
        }
        | _l1_figures(data, frame)
        | _da_answer_figures()
    )


if __name__ == "__main__":
    print(run())
