"""Persistent node storage: blocks, receipts, batch records and cursors in sqlite (WAL).

A restarted node reloads its blocks and re-executes them to rebuild the L2 state
(execution is deterministic), so the database only keeps what cannot be recomputed:
the blocks as produced or accepted, the receipts users query, the batches the
batcher submitted and named cursors (e.g. the L1 deposit follower's position).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.rollup.node.block import Block, BlockHeader
from offchain.rollup.node.execution import Applied

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    number     INTEGER PRIMARY KEY,
    hash       BLOB NOT NULL,
    header     TEXT NOT NULL,
    signature  BLOB NOT NULL,
    txs        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
    tx_hash    BLOB PRIMARY KEY,
    block      INTEGER,
    idx        INTEGER,
    status     TEXT NOT NULL,
    post_root  BLOB,
    witem      BLOB,
    fee_to     TEXT,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS receipts_block ON receipts(block);
CREATE TABLE IF NOT EXISTS batches (
    idx         INTEGER PRIMARY KEY,
    first_block INTEGER NOT NULL,
    last_block  INTEGER NOT NULL,
    record      TEXT NOT NULL,
    data        BLOB
);
CREATE TABLE IF NOT EXISTS deposits (
    id  INTEGER PRIMARY KEY,
    raw BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass
class ReceiptRow:
    """What ``l2_getTransactionReceipt`` reports."""

    tx_hash: bytes
    block: int | None
    index: int | None
    status: str
    post_root: bytes | None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "transactionHash": "0x" + self.tx_hash.hex(),
            "blockNumber": self.block,
            "transactionIndex": self.index,
            "status": self.status,
            "postStateRoot": "0x" + self.post_root.hex() if self.post_root else None,
            "detail": self.detail,
        }


def _pack(txs: list[bytes]) -> bytes:
    out = bytearray()
    for t in txs:
        out += len(t).to_bytes(4, "big") + t
    return bytes(out)


def _unpack(blob: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(blob):
        n = int.from_bytes(blob[i : i + 4], "big")
        out.append(blob[i + 4 : i + 4 + n])
        i += 4 + n
    return out


class NodeStore:
    """Thread-safe sqlite store of one node.

    Args:
        path: database file (created with its directory), or ``:memory:``.
    """

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ blocks
    def put_block(self, block: Block, applied: list[Applied]) -> None:
        """Persist ``block`` and the receipts of its transactions in one transaction."""
        h = block.hash()
        rows = [
            (
                a.tx_hash,
                block.number,
                i,
                a.status,
                a.post_root,
                a.withdrawal_item,
                a.fee_recipient,
                a.detail,
            )
            for i, a in enumerate(applied)
        ]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO blocks(number, hash, header, signature, txs) VALUES (?,?,?,?,?)",
                    (
                        block.number,
                        h,
                        json.dumps(block.header.to_json()),
                        block.signature,
                        _pack(block.txs),
                    ),
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO receipts(tx_hash, block, idx, status, post_root, witem,"
                    " fee_to, detail) VALUES (?,?,?,?,?,?,?,?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _row_to_block(self, row: tuple[Any, ...], tx_hashes: list[bytes]) -> Block:
        header = BlockHeader.from_json(json.loads(row[2]))
        return Block(header=header, txs=_unpack(row[4]), signature=row[3], tx_hashes=tx_hashes)

    def block(self, number: int) -> Block | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM blocks WHERE number=?", (number,)).fetchone()
            if row is None:
                return None
            hs = self._db.execute(
                "SELECT tx_hash FROM receipts WHERE block=? ORDER BY idx", (number,)
            ).fetchall()
        return self._row_to_block(row, [h[0] for h in hs])

    def block_by_hash(self, h: bytes) -> Block | None:
        with self._lock:
            row = self._db.execute("SELECT number FROM blocks WHERE hash=?", (h,)).fetchone()
        return self.block(row[0]) if row else None

    def head(self) -> int:
        """Number of the last stored block (0 when there is none)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(number) FROM blocks").fetchone()
        return int(row[0] or 0)

    def blocks(self, first: int, last: int) -> Iterator[Block]:
        """Blocks ``first..last`` inclusive, in order."""
        for n in range(first, last + 1):
            b = self.block(n)
            if b is None:
                return
            yield b

    def delete_blocks_after(self, number: int, status: str) -> list[bytes]:
        """Drop blocks above ``number``; their receipts get ``status``. Returns those tx hashes."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                hs = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT tx_hash FROM receipts WHERE block>? ORDER BY block, idx", (number,)
                    ).fetchall()
                ]
                self._db.execute(
                    "UPDATE receipts SET status=?, block=NULL, idx=NULL, post_root=NULL,"
                    " witem=NULL "
                    "WHERE block>?",
                    (status, number),
                )
                self._db.execute("DELETE FROM blocks WHERE number>?", (number,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return hs

    # ---------------------------------------------------------------- receipts
    def mark_dropped(self, tx_hashes: list[bytes], status: str) -> None:
        """Receipts for accepted transactions that will not be in any block (user resends)."""
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO receipts(tx_hash, block, idx, status)"
                " VALUES (?,NULL,NULL,?)",
                [(h, status) for h in tx_hashes],
            )

    def receipt(self, tx_hash: bytes) -> ReceiptRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT tx_hash, block, idx, status, post_root, detail FROM receipts"
                " WHERE tx_hash=?",
                (tx_hash,),
            ).fetchone()
        return ReceiptRow(*row) if row else None

    def executed(self, first_block: int, last_block: int) -> list[tuple[bytes, bytes, bytes, str]]:
        """``(tx_hash, post_root, withdrawal_item, fee_recipient)`` of every transaction in
        blocks ``first..last``, in execution order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT tx_hash, post_root, witem, fee_to FROM receipts"
                " WHERE block BETWEEN ? AND ? ORDER BY block, idx",
                (first_block, last_block),
            ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    # ----------------------------------------------------------------- batches
    def put_batch(
        self,
        index: int,
        first_block: int,
        last_block: int,
        record: dict[str, Any],
        data: bytes | None = None,
    ) -> None:
        """Record batch ``index`` (and its data blob, kept to answer data requests)."""
        with self._lock:
            if data is None:
                row = self._db.execute("SELECT data FROM batches WHERE idx=?", (index,)).fetchone()
                data = row[0] if row else None
            self._db.execute(
                "INSERT OR REPLACE INTO batches(idx, first_block, last_block, record, data)"
                " VALUES (?,?,?,?,?)",
                (index, first_block, last_block, json.dumps(record), data),
            )

    def batch_data(self, index: int) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM batches WHERE idx=?", (index,)).fetchone()
        return row[0] if row else None

    def batch(self, index: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT first_block, last_block, record FROM batches WHERE idx=?", (index,)
            ).fetchone()
        if row is None:
            return None
        rec: dict[str, Any] = json.loads(row[2])
        rec.update(first_block=row[0], last_block=row[1], index=index)
        return rec

    def delete_batches_from(self, index: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM batches WHERE idx>=?", (index,))

    def last_batch(self) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT MAX(idx) FROM batches").fetchone()
        return self.batch(int(row[0])) if row and row[0] is not None else None

    # ---------------------------------------------------------------- deposits
    def put_deposit(self, deposit_id: int, raw: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO deposits(id, raw) VALUES (?,?)", (deposit_id, raw)
            )

    def delete_deposits(self, deposit_ids: list[int]) -> None:
        """Forget deposits an L1 reorg removed (the follower re-delivers what L1 holds)."""
        with self._lock:
            self._db.executemany("DELETE FROM deposits WHERE id=?", [(i,) for i in deposit_ids])

    def deposits(self) -> list[tuple[int, bytes]]:
        with self._lock:
            return [
                (r[0], r[1]) for r in self._db.execute("SELECT id, raw FROM deposits ORDER BY id")
            ]

    # -------------------------------------------------------------------- meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, value))
