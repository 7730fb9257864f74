"""Data-availability helpers shared by the L1 DA tests and bench/bench_batch_data.py (never
used by the daemons): made-up batch data of any size and its header on a test deployment."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_data import BatchData

if TYPE_CHECKING:
    from tests.rollup_l1.conftest import Env

# The account that requests data in the DA tests and benchmarks.
VERIFIER = dev_account(13)


def _word(x: int) -> bytes:
    return x.to_bytes(32, "big")


def random_batch_data(n: int, seq: str, seed: int = 1) -> BatchData:
    """``n`` canonical transfers (random signatures: the DA contract checks commitments, not
    validity), every 50th a withdrawal, with random claimed roots; fee recipient ``seq``."""
    rng = random.Random(seed)
    txs, items = [], []
    for i in range(n):
        kind = 2 if i % 50 == 49 else 1
        a, b = rng.randbytes(20), rng.randbytes(20)
        body = [
            b"\x00" * 12 + a,
            b"\x00" * 12 + b,
            b"\x00" * 32,
            _word(rng.randrange(1, 10**18)),
            _word(21),
            _word(rng.randrange(1000)),
            _word(27 + i % 2),
            rng.randbytes(32),
            rng.randbytes(32),
        ]
        txs.append(bytes([kind]) + b"".join(body))
        items.append(rng.randbytes(32) if kind == 2 else b"\x00" * 32)
    return BatchData(txs, [seq] * n, [rng.randbytes(32) for _ in range(n)], items)


def append_batch_data(env: Env, data: BatchData, **kw: Any) -> BatchHeader:
    """Appends the next batch with ``data``'s roots (``kw`` overrides header fields)."""
    r = data.roots()
    fields: dict[str, Any] = dict(
        tx_count=len(data),
        tx_root=r.mttbr,
        state_roots_root=r.mtsr,
        final_state_root=data.final_state_root,
        withdrawal_root=r.withdrawal_root,
        data_hash=data.data_hash,
    )
    fields.update(kw)
    seq = env.sc(env.owner)
    h = env.header(seq.next_index(), **fields)
    env.append(h)
    return h
