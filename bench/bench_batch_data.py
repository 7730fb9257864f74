"""Size and speed of the compact batch data (docs/spec.md, "Compact batch data").

Workload: 1,000 signed ETH transfers among 1,000 funded accounts (every 10th to a fresh
account), executed, so the frame carries real post-state roots (bench_ledger's workload).
"""

from __future__ import annotations

from bench.bench_ledger import SEQ, _workload
from bench.common import median_time_s
from offchain.rollup.ledger.batch_data import BatchData, decode_batch_data
from offchain.rollup.ledger.compact import compress, decompress

N_TXS = 1000


def run() -> dict[str, float | int]:
    led, txs = _workload(n_accounts=1000, n_txs=N_TXS)
    data = BatchData.from_receipts(txs, [led.apply(t, SEQ) for t in txs])
    packed = data.packed()
    frame = compress(packed)
    assert decode_batch_data(frame).roots() == data.roots()
    mb = len(packed) / 1e6
    comp_s = median_time_s(lambda: compress(packed), repeat=9)
    decomp_s = median_time_s(lambda: decompress(frame), repeat=9)
    return {
        "batch_data_abi_bytes_per_transfer": round(len(data.abi_encode()) / N_TXS, 1),
        "batch_data_packed_bytes_per_transfer": round(len(packed) / N_TXS, 1),
        "batch_data_bytes_per_transfer": round(len(frame) / N_TXS, 1),
        "compress_mb_per_s": round(mb / comp_s, 1),
        "decompress_mb_per_s": round(mb / decomp_s, 1),
    }


if __name__ == "__main__":
    print(run())
