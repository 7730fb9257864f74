"""Demo scene: data availability (docs/spec.md, "Compact batch data", "Data availability modes",
"Data-availability answer in chunks", "Blob-mode faults").

A full batch (1,000 ledger-executed transfers) on the devnet in Blobs mode: its bytes per
transaction as ABI data, packed and compressed, and what appending it with its blob costs on
L1 per transaction; a sequencer that appends blobs that do not decode is proven wrong with KZG
openings (proveBlobFault) and slashed. Then the same kind of batch on a second devnet in
Storage mode: a verifier requests its data and the sequencer answers in chunks, each answer
transaction under EIP-7825's 2^24 gas and 128 kB. The main devnet's state is restored at the
end.
"""

from __future__ import annotations

import io
import random
from typing import Any

from rich.console import Console

from offchain.bridge.client import BridgeClient
from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.config import load_config
from offchain.devnet import Devnet
from offchain.rollup.l1.bindings import DataMode
from offchain.rollup.ledger.batch_builder import Item
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.compact import pack_chunks
from offchain.rollup.ledger.tx import Deposit, address_of_key, sign_transfer

N_TXS = 1000
SENDERS = 20


def _full_batch(s: Any) -> list[Item]:
    """Deposits for ``SENDERS`` accounts on L1, then transfers among them up to ``N_TXS``."""
    keys = [bytes(dev_account(40 + i).key) for i in range(SENDERS)]
    bridge = BridgeClient(s.chain, s.bridge.address, s.chain.sender(dev_account(10)))
    items: list[Item] = []
    for k in keys:
        d = bridge.deposit_eth(address_of_key(k), 10**18)
        items.append((Deposit(d.deposit_id, d.sender, d.l2_recipient, ETH, d.amount), ETH, True))
    rng = random.Random(5)
    fee_to = s.current().address
    nonces = [0] * SENDERS
    while len(items) < N_TXS:
        i = rng.randrange(SENDERS)
        to = (
            address_of_key(keys[rng.randrange(SENDERS)])
            if rng.random() < 0.8
            else ("0x" + rng.randbytes(20).hex())
        )
        t = sign_transfer(keys[i], s.b.domain, to, ETH, rng.randrange(1, 10**15), 21, nonces[i])
        nonces[i] += 1
        items.append((t, fee_to, True))
    return items


def run(d: Devnet, console: Console) -> None:
    """Play the scene (see the module docstring)."""
    from offchain.demo.rollup_l1 import _Scene

    s = _Scene(d, console)
    snap = s.chain.rpc("evm_snapshot")
    try:
        _blobs(s, console)
        _blob_fault(s, console)
    finally:
        s.chain.rpc("evm_revert", snap)
    cfg = load_config()
    cfg.rollup.da_mode = "storage"
    console.print("a second devnet in Storage mode (data in the blob store, L1 only on request):")
    with Devnet(cfg, ephemeral=True, log=lambda *_: None) as d2:
        _storage_answer(_Scene(d2, Console(file=io.StringIO())), console)


def _blobs(s: Any, out: Console) -> None:
    out.print(f"data mode on this devnet: {s.rl.data_mode().name.lower()}")
    items = _full_batch(s)
    header = s.append(items)
    bd: BatchData = s.b.batches[-1].data
    n = len(bd)
    out.print(
        f"batch {header.index}: {n} txs; bytes per tx: ABI {len(bd.abi_encode()) / n:.1f}, "
        f"packed {len(bd.packed()) / n:.1f}, compressed frame {len(bd.encode()) / n:.1f}"
    )
    ab = s.rl._appended_at_index(header.index)[-1]
    rc = s.chain.w3.eth.get_transaction_receipt(ab.tx_hash)
    tx = s.chain.w3.eth.get_transaction(ab.tx_hash)
    k = len(tx.get("blobVersionedHashes") or [])
    out.print(
        f"  appendBatch with {k} blob(s): {int(rc['gasUsed']):,} gas = "
        f"{int(rc['gasUsed']) / n:.1f} L1 gas per tx, plus {int(rc['blobGasUsed']) / n:.1f} "
        "blob gas per tx (the devnet's first batch: cold storage; steady state in bench_batch_data)"
    )


def _blob_fault(s: Any, out: Console) -> None:
    """A batch whose blobs carry a nonzero byte after the frame: proven with KZG openings."""
    from offchain.rollup.ledger.blob_proof import BlobFaultWitness, fault_openings
    from offchain.rollup.verifier.sources import l1_blobs

    bridge = BridgeClient(s.chain, s.bridge.address, s.chain.sender(dev_account(10)))
    d = bridge.deposit_eth(dev_account(11).address, 10**15)
    seq = s.current()
    header = s.append(
        [(Deposit(d.deposit_id, d.sender, d.l2_recipient, ETH, d.amount), ETH, True)],
        bad_blobs=True,
    )
    got = l1_blobs(s.rl, header)
    assert got is not None
    blobs, hashes = got
    fault, openings = fault_openings(blobs)
    stake0 = s.stake(seq)
    v = s.rl.with_sender(s.chain.sender(dev_account(13)))
    rc = v.prove_blob_fault(BlobFaultWitness(header, hashes, openings))
    out.print(
        f"  batch {header.index}'s blobs do not decode ({fault.name.lower()}): proveBlobFault "
        f"with {len(openings)} KZG openings (point-evaluation precompile), "
        f"{int(rc['gasUsed']):,} gas; sequencer stake {stake0} -> {s.stake(seq)}, batch "
        f"{s.rl.batch_status(header.index).name.lower()}"
    )


def _storage_answer(s: Any, out: Console) -> None:
    assert s.rl.data_mode() == DataMode.STORAGE
    items = _full_batch(s)
    header = s.append(items)
    data: BatchData = s.b.batches[-1].data
    verifier = dev_account(13)
    s.rl.with_sender(s.chain.sender(verifier)).request_data(header)
    out.print(f"  verifier requests the data of batch {header.index} ({len(data)} txs)")
    seq = s.rl.with_sender(s.chain.sender(s.current()))
    for j, chunk in enumerate(pack_chunks(data.packed_batch())):
        rc = seq.provide_chunk(header, j, chunk)
        raw = len(s.chain.w3.eth.get_raw_transaction(rc["transactionHash"]))
        out.print(f"  answer chunk {j}: {int(rc['gasUsed']):,} gas, {raw:,} bytes")
    status = seq.data_request(header.index).status.name.lower()
    out.print(f"  request {status}: L1 recomputed MTTBR, MTSR and withdrawal root from the chunks")
