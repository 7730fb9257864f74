"""Unit tests of the node's internals without a chain: the mempool's order, duplicate and
per-sender bookkeeping; the store's blocks, receipts, rollback of blocks after a height, its
deposits and metadata, and that it survives a reopen (the node's restart)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from offchain.rollup.node.block import Block, BlockHeader
from offchain.rollup.node.execution import Applied
from offchain.rollup.node.mempool import Mempool, PendingTx
from offchain.rollup.node.store import NodeStore


def _applied(i: int, sender: str = "0xaa") -> Applied:
    h = i.to_bytes(32, "big")
    return Applied(h, h, bytes([i]) * 32, b"\x00" * 32, "0xfee", sender)


def _block(number: int, applied: list[Applied]) -> Block:
    header = BlockHeader(
        number=number,
        parent_hash=b"\x00" * 32,
        timestamp_ms=1_000 * number,
        tx_root=b"\x01" * 32,
        state_root=applied[-1].post_root if applied else b"\x02" * 32,
        tx_count=len(applied),
        next_deposit_id=0,
        producer="0x" + "11" * 20,
    )
    return Block(header, [a.tx_hash for a in applied], b"sig", [a.tx_hash for a in applied])


def test_mempool_keeps_execution_order_and_counts_per_sender() -> None:
    m = Mempool(max_size=3)
    txs = [PendingTx(_applied(i, "0xaa" if i % 2 else "0xbb"), b"raw", float(i)) for i in (1, 2, 3)]
    for t in txs:
        assert not m.full()
        m.add(t)
    assert m.full() and len(m) == 3
    assert txs[1].tx_hash in m and m.get(txs[1].tx_hash) is txs[1]
    assert (m.pending_of("0xaa"), m.pending_of("0xbb"), m.pending_of("0xcc")) == (2, 1, 0)
    assert m.oldest_at() == 1.0
    assert m.take() == txs  # the next block: execution order
    assert len(m) == 0 and not m.full() and m.oldest_at() is None
    assert txs[0].tx_hash not in m and m.pending_of("0xaa") == 0


def test_store_blocks_receipts_and_rollback(tmp_path: Path) -> None:
    s = NodeStore(tmp_path / "node.db")
    a1, a2, a3 = _applied(1), _applied(2), _applied(3)
    s.put_block(_block(1, [a1, a2]), [a1, a2])
    s.put_block(_block(2, [a3]), [a3])
    assert s.head() == 2
    b1 = s.block(1)
    assert b1 is not None and b1.txs == [a1.tx_hash, a2.tx_hash] and b1.signature == b"sig"
    assert s.block_by_hash(b1.hash()) is not None and s.block(3) is None
    assert [b.number for b in s.blocks(1, 2)] == [1, 2]
    r = s.receipt(a2.tx_hash)
    assert r is not None and (r.block, r.status) == (1, "success")
    # A reorg drops block 2: its receipt says so and the block is gone.
    assert s.delete_blocks_after(1, "dropped") == [a3.tx_hash]
    assert s.head() == 1 and s.block(2) is None
    r3 = s.receipt(a3.tx_hash)
    assert r3 is not None and (r3.block, r3.status) == (None, "dropped")
    s.mark_dropped([b"\x09" * 32], "replaced")
    r9 = s.receipt(b"\x09" * 32)
    assert r9 is not None and r9.status == "replaced"
    s.close()


def test_store_deposits_and_meta_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    s = NodeStore(path)
    s.put_deposit(0, b"d0")
    s.put_deposit(1, b"d1")
    s.set_meta("cursor", "42")
    a1 = _applied(1)
    s.put_block(_block(1, [a1]), [a1])
    s.close()
    s = NodeStore(path)  # the node restarts on the same data directory
    assert s.deposits() == [(0, b"d0"), (1, b"d1")]
    assert s.get_meta("cursor") == "42" and s.get_meta("absent", "x") == "x"
    assert s.head() == 1
    s.delete_deposits([0])
    assert s.deposits() == [(1, b"d1")]
    s.close()


def test_store_refuses_a_second_block_at_a_height(tmp_path: Path) -> None:
    s = NodeStore(tmp_path / "node.db")
    a1 = _applied(1)
    s.put_block(_block(1, [a1]), [a1])
    with pytest.raises(sqlite3.IntegrityError, match="blocks.number"):  # one block per height
        s.put_block(_block(1, [a1]), [a1])
    assert s.head() == 1 and s.receipt(a1.tx_hash) is not None
    s.close()
