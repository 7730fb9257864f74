"""Durable FROST state of one sequencer: dealings in progress, key shares, nonces.

SQLite (``:memory:`` allowed). A nonce pair is written before its commitment leaves the
process and marked used (committed to disk) before any signature share computed with it
leaves the process; a used or unknown commitment is never signed with again, also after a
restart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.staking.frost.errors import FrostRefused
from offchain.staking.frost.signing import Nonces


@dataclass(frozen=True)
class KeySet:
    """This node's shares of one key generation (a DKG or a resharing session).

    Attributes:
        session: the generation's session id.
        group_x: x of the (even-y) group key, 0x-hex.
        group_key: compressed group key, 0x-hex.
        threshold: shares needed to sign.
        allocation: signer address -> identifiers.
        publics: identifier -> verifying share (0x-hex, compressed).
        secrets: identifier -> secret share, for this node's identifiers.
    """

    session: str
    group_x: str
    group_key: str
    threshold: int
    allocation: dict[str, list[int]]
    publics: dict[int, str]
    secrets: dict[int, int]


class FrostStore:
    """SQLite tables ``dealings``, ``keysets``, ``nonces``."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            # WAL with synchronous=FULL: every commit (a nonce marked used) is on disk before
            # the call returns, with one fsync of the log instead of journal + database.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(
                "CREATE TABLE IF NOT EXISTS dealings (session TEXT PRIMARY KEY, state TEXT);"
                "CREATE TABLE IF NOT EXISTS keysets (session TEXT PRIMARY KEY, doc TEXT,"
                " created REAL);"
                "CREATE TABLE IF NOT EXISTS nonces (commit_id TEXT PRIMARY KEY, session TEXT,"
                " identifier INTEGER, hiding TEXT, binding TEXT, used INTEGER, created REAL);"
            )
            self._db.commit()

    # ------------------------------------------------------------ dealings
    def dealing(self, session: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM dealings WHERE session=?", (session,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save_dealing(self, session: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO dealings VALUES (?, ?)", (session, json.dumps(state))
            )
            self._db.commit()

    # ------------------------------------------------------------- keysets
    def save_keyset(self, ks: KeySet) -> None:
        doc = {
            "session": ks.session,
            "group_x": ks.group_x,
            "group_key": ks.group_key,
            "threshold": ks.threshold,
            "allocation": ks.allocation,
            "publics": {str(i): v for i, v in ks.publics.items()},
            "secrets": {str(i): hex(v) for i, v in ks.secrets.items()},
        }
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO keysets VALUES (?, ?, ?)",
                (ks.session, json.dumps(doc), time.time()),
            )
            self._db.commit()

    def keyset(self, session: str | None = None) -> KeySet | None:
        """The key set of ``session``, or the latest one."""
        with self._lock:
            if session is None:
                row = self._db.execute(
                    "SELECT doc FROM keysets ORDER BY created DESC LIMIT 1"
                ).fetchone()
            else:
                row = self._db.execute(
                    "SELECT doc FROM keysets WHERE session=?", (session,)
                ).fetchone()
        return None if row is None else _keyset_of(json.loads(row[0]))

    def keyset_of_key(self, x: int) -> KeySet | None:
        """The latest key set whose group key has x coordinate ``x`` (a key generation that
        was never installed on L1 does not hide the shares of the one that was)."""
        with self._lock:
            rows = self._db.execute("SELECT doc FROM keysets ORDER BY created DESC").fetchall()
        for (doc,) in rows:
            d = json.loads(doc)
            if int(d["group_x"], 16) == x:
                return _keyset_of(d)
        return None

    # -------------------------------------------------------------- nonces
    def add_nonces(self, rows: list[tuple[str, str, int, Nonces]]) -> None:
        """Persist fresh nonce pairs ``(commit_id, session, identifier, nonces)`` (one
        transaction) before their commitments are published."""
        now = time.time()
        with self._lock:
            self._db.executemany(
                "INSERT INTO nonces VALUES (?, ?, ?, ?, ?, 0, ?)",
                [(c, s, i, hex(n.hiding), hex(n.binding), now) for c, s, i, n in rows],
            )
            self._db.commit()

    def take_nonces(self, wanted: list[tuple[str, str, int]]) -> list[Nonces]:
        """Mark the nonce pairs ``(commit_id, session, identifier)`` used, durably and all in
        one transaction, and return them; refuse all if any is used or unknown.

        Raises:
            FrostRefused: unknown commitment, other session/identifier, or already used.
        """
        out: list[Nonces] = []
        with self._lock:
            for commit_id, session, identifier in wanted:
                row = self._db.execute(
                    "SELECT session, identifier, hiding, binding, used FROM nonces"
                    " WHERE commit_id=?",
                    (commit_id,),
                ).fetchone()
                if row is None:
                    raise FrostRefused(
                        f"no nonces for commitment {commit_id} (not issued by this node)"
                    )
                if row[0] != session or int(row[1]) != identifier:
                    raise FrostRefused(
                        f"commitment {commit_id} belongs to another key or identifier"
                    )
                if int(row[4]):
                    raise FrostRefused(
                        f"commitment {commit_id} was already used: nonces are never reused"
                    )
                out.append(Nonces(int(row[2], 16), int(row[3], 16)))
            self._db.executemany(
                "UPDATE nonces SET used=1 WHERE commit_id=?", [(w[0],) for w in wanted]
            )
            self._db.commit()
        return out

    def nonce_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT used, COUNT(*) FROM nonces GROUP BY used").fetchall()
        d = {int(u): int(c) for u, c in rows}
        return {"unused": d.get(0, 0), "used": d.get(1, 0)}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _keyset_of(d: dict[str, Any]) -> KeySet:
    return KeySet(
        d["session"],
        d["group_x"],
        d["group_key"],
        int(d["threshold"]),
        {k: list(v) for k, v in d["allocation"].items()},
        {int(i): v for i, v in d["publics"].items()},
        {int(i): int(v, 16) for i, v in d["secrets"].items()},
    )
