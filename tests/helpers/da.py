"""Data-availability helpers shared by the L1 DA tests and bench/bench_batch_data.py (never
used by the daemons): made-up batch data of any size and its header on a test deployment."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_data import BatchData

if TYPE_CHECKING:
    from offchain.chain.client import Chain
    from tests.rollup_l1.conftest import Env

# The account that requests data in the DA tests and benchmarks.
VERIFIER = dev_account(13)


def warm_blob_checks(chain: Chain) -> None:
    """Send one blob transaction (dev account 29 to itself) and wait for it: Anvil loads its
    KZG settings on its first blob transaction (2-15 s on these machines), which must not
    fall inside a test's data window (10 s on the rollup test devnet)."""
    from offchain.rollup.ledger.blobs import sidecar_of

    acct = dev_account(29)
    chain.sender(acct).send({"to": acct.address, "value": 0}, blobs=sidecar_of(b"warm"))


def tx_payload_bytes(raw: bytes) -> int:
    """Size of a transaction as a block holds it: a type-3 transaction in its network form
    (``0x03 ‖ rlp([body, blobs, commitments, proofs])``) without its blob sidecar."""
    import rlp

    if raw[:1] == b"\x03":
        items = rlp.decode(raw[1:])
        if items and isinstance(items[0], list):
            return 1 + len(rlp.encode(items[0]))
    return len(raw)


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
