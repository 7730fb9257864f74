"""The explorer's local index: one SQLite file the indexer writes and the pages read.

Tables (every write is idempotent, keyed by a stable id):

- ``events``: every decoded L1 log of the watched contracts (``blockHash:logIndex`` id);
- ``batches``: one row per appended batch header (an index re-used after an invalidation
  gets a new row; the old one keeps ``status = 'invalid'``);
- ``l2_blocks`` / ``l2_txs``: blocks and decoded transactions read from the node;
- ``kv``: snapshots the indexer refreshes each tick (sequencer set, EMETH jobs, ...).

WAL mode: the indexer thread writes while the web server's threads read.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, block INTEGER NOT NULL, log_index INTEGER NOT NULL,
    tx_hash TEXT NOT NULL, contract TEXT NOT NULL, event TEXT NOT NULL,
    args TEXT NOT NULL, ts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (event, block);
CREATE INDEX IF NOT EXISTS events_by_tx ON events (tx_hash);
CREATE TABLE IF NOT EXISTS batches (
    event_id TEXT PRIMARY KEY, idx INTEGER NOT NULL, header_hash TEXT NOT NULL,
    sequencer TEXT NOT NULL, first_block INTEGER NOT NULL, l2_blocks INTEGER NOT NULL,
    tx_count INTEGER NOT NULL, deposit_count INTEGER NOT NULL, header TEXT NOT NULL,
    l1_block INTEGER NOT NULL, l1_tx TEXT NOT NULL, appended_at INTEGER NOT NULL,
    finalizes_at INTEGER NOT NULL, status TEXT NOT NULL, da_mode TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_idx ON batches (idx, l1_block);
CREATE INDEX IF NOT EXISTS batches_by_status ON batches (status);
CREATE INDEX IF NOT EXISTS batches_by_hash ON batches (header_hash);
CREATE TABLE IF NOT EXISTS l2_blocks (
    number INTEGER PRIMARY KEY, hash TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    tx_count INTEGER NOT NULL, producer TEXT NOT NULL, state_root TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS l2_blocks_by_hash ON l2_blocks (hash);
CREATE TABLE IF NOT EXISTS l2_txs (
    hash TEXT PRIMARY KEY, block INTEGER NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,
    sender TEXT NOT NULL, recipient TEXT NOT NULL, token TEXT NOT NULL, amount TEXT NOT NULL,
    fee TEXT NOT NULL, nonce INTEGER, leaf_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS l2_txs_by_block ON l2_txs (block, idx);
CREATE INDEX IF NOT EXISTS l2_txs_by_sender ON l2_txs (sender, block);
CREATE INDEX IF NOT EXISTS l2_txs_by_recipient ON l2_txs (recipient, block);
CREATE INDEX IF NOT EXISTS l2_txs_by_kind ON l2_txs (kind, block);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, at REAL NOT NULL);
"""

BATCH_COLUMNS = (
    "event_id", "idx", "header_hash", "sequencer", "first_block", "l2_blocks", "tx_count",
    "deposit_count", "header", "l1_block", "l1_tx", "appended_at", "finalizes_at", "status",
    "da_mode",
)  # fmt: skip
# Bumped on every schema change: an index of another version is dropped and rebuilt.
SCHEMA_VERSION = 3
TABLES = ("events", "batches", "l2_blocks", "l2_txs", "kv")


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class IndexStore:
    """The SQLite index (thread-safe: one connection per thread).

    Args:
        path: the database file (``":memory:"`` is not supported: threads share the file).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self.tx() as c:
            if c.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for t in TABLES:
                    c.execute(f"DROP TABLE IF EXISTS {t}")
                self.path.with_suffix(".cursor.json").unlink(missing_ok=True)
            c.executescript(SCHEMA)
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _conn(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = c
        return c

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (committed on success, rolled back on error)."""
        c = self._conn()
        with c:
            yield c

    def query(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return _rows(self._conn().execute(sql, args))

    def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = self.query(sql, *args)
        return rows[0] if rows else None

    def scalar(self, sql: str, *args: Any) -> Any:
        row = self._conn().execute(sql, args).fetchone()
        return row[0] if row else None

    def reset(self) -> None:
        """Forget everything (the L1 behind the URL is another chain)."""
        with self.tx() as c:
            for t in TABLES:
                c.execute(f"DELETE FROM {t}")
        self.path.with_suffix(".cursor.json").unlink(missing_ok=True)

    # ------------------------------------------------------------------ kv
    def put(self, key: str, value: Any) -> None:
        with self.tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO kv (key, value, at) VALUES (?, ?, ?)",
                (key, json.dumps(value, default=str), time.time()),
            )

    def get(self, key: str, default: Any = None) -> Any:
        row = self._conn().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # --------------------------------------------------------------- events
    def add_event(self, c: sqlite3.Connection, ev: dict[str, Any]) -> bool:
        """Insert one event (no-op when its id is known). True when it was new."""
        cur = c.execute(
            "INSERT OR IGNORE INTO events (id, block, log_index, tx_hash, contract, event, "
            "args, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ev["id"], ev["block"], ev["log_index"], ev["tx_hash"], ev["contract"], ev["event"],
             json.dumps(ev["args"], default=str), ev["ts"]),
        )  # fmt: skip
        return cur.rowcount > 0

    def drop_events(self, ids: Iterable[str]) -> None:
        """Forget orphaned events (a reorg) and the batches they created."""
        ids = list(ids)
        with self.tx() as c:
            c.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])
            c.executemany("DELETE FROM batches WHERE event_id = ?", [(i,) for i in ids])

    def events(
        self, names: Iterable[str] | None = None, limit: int = 50, tx_hash: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; ``args`` decoded."""
        sql, args = "SELECT * FROM events", []
        where = []
        if names is not None:
            ns = list(names)
            where.append(f"event IN ({','.join('?' * len(ns))})")
            args += ns
        if tx_hash is not None:
            where.append("tx_hash = ?")
            args.append(tx_hash.lower())
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY block DESC, log_index DESC LIMIT ?"
        rows = self.query(sql, *args, limit)
        for r in rows:
            r["args"] = json.loads(r["args"])
        return rows

    # -------------------------------------------------------------- batches
    def add_batch(self, c: sqlite3.Connection, row: dict[str, Any]) -> None:
        c.execute(
            f"INSERT OR IGNORE INTO batches ({','.join(BATCH_COLUMNS)}) "
            f"VALUES ({','.join('?' * len(BATCH_COLUMNS))})",
            tuple(row[k] for k in BATCH_COLUMNS),
        )

    def invalidate(self, c: sqlite3.Connection, first: int, last: int, before_block: int) -> None:
        """Batches ``first..last`` appended before L1 block ``before_block`` are invalid."""
        c.execute(
            "UPDATE batches SET status = 'invalid' WHERE idx BETWEEN ? AND ? AND l1_block <= ?",
            (first, last, before_block),
        )

    def batches(self, limit: int = 25, offset: int = 0) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT * FROM batches ORDER BY l1_block DESC, idx DESC LIMIT ? OFFSET ?", limit, offset
        )
        return [self._batch(r) for r in rows]

    def batch_versions(self, idx: int) -> list[dict[str, Any]]:
        rows = self.query("SELECT * FROM batches WHERE idx = ? ORDER BY l1_block DESC", idx)
        return [self._batch(r) for r in rows]

    def batch_of_block(self, number: int) -> dict[str, Any] | None:
        """The live (not invalid) batch covering L2 block ``number``."""
        r = self.one(
            "SELECT * FROM batches WHERE status != 'invalid' AND first_block <= ? "
            "AND first_block + l2_blocks > ? ORDER BY l1_block DESC LIMIT 1",
            number,
            number,
        )
        return self._batch(r) if r else None

    @staticmethod
    def _batch(r: dict[str, Any]) -> dict[str, Any]:
        r["header"] = json.loads(r["header"])
        return r

    def set_batch_status(self, updates: list[tuple[str, str]]) -> None:
        """``[(event_id, status)]``."""
        with self.tx() as c:
            c.executemany(
                "UPDATE batches SET status = ? WHERE event_id = ?", [(s, i) for i, s in updates]
            )

    # ------------------------------------------------------------------- L2
    def add_l2_block(
        self, block: dict[str, Any], txs: list[dict[str, Any]], c: sqlite3.Connection
    ) -> None:
        c.execute(
            "INSERT OR REPLACE INTO l2_blocks (number, hash, ts_ms, tx_count, producer, "
            "state_root) VALUES (?, ?, ?, ?, ?, ?)",
            (block["number"], block["hash"], block["ts_ms"], block["tx_count"],
             block["producer"], block["state_root"]),
        )  # fmt: skip
        c.execute("DELETE FROM l2_txs WHERE block = ?", (block["number"],))
        c.executemany(
            "INSERT OR REPLACE INTO l2_txs (hash, block, idx, kind, sender, recipient, token, "
            "amount, fee, nonce, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(t["hash"], t["block"], t["idx"], t["kind"], t["sender"], t["recipient"], t["token"],
              str(t["amount"]), str(t["fee"]), t["nonce"], t.get("leaf_hash", t["hash"]))
             for t in txs],
        )  # fmt: skip

    def drop_l2_from(self, number: int) -> None:
        """Forget L2 blocks from ``number`` on (the node rolled back)."""
        with self.tx() as c:
            c.execute("DELETE FROM l2_blocks WHERE number >= ?", (number,))
            c.execute("DELETE FROM l2_txs WHERE block >= ?", (number,))

    def l2_head(self) -> int | None:
        v = self.scalar("SELECT MAX(number) FROM l2_blocks")
        return int(v) if v is not None else None
