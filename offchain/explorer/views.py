"""What each page shows, assembled from the index (and, for one item, a live read of the node).

Each function returns the template context of one page; :class:`NotFound` and
:class:`BadInput` become the 404 and 400 pages.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from offchain.common import merkle
from offchain.errors import L2KitError
from offchain.explorer.charts import STATUS_COLOURS
from offchain.explorer.l1 import ROTATION_REASON
from offchain.explorer.sources import SourceBoard
from offchain.explorer.store import IndexStore
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client

HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
ADDR_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
ETH = "0x" + "00" * 20
TIMELINE_EVENTS = (
    "SequencerRotated", "Kicked", "Slashed", "SequencerPunished", "Locked", "UnlockInitiated",
    "UnlockClaimed", "SignerUpdated",
)  # fmt: skip
CHALLENGE_EVENTS = (
    "DataRequested", "DataProvided", "DataRequestFailed", "DataRequestCancelled", "FraudProven",
    "BatchesInvalidated",
)  # fmt: skip


class NotFound(L2KitError, LookupError):
    """Nothing known under that hash, address, number or id (the 404 page)."""


class BadInput(L2KitError, ValueError):
    """Not a hash, an address or a number (the 400 page)."""


@dataclass
class Views:
    """Page builders over one index.

    Args:
        store: the index.
        board: sources' health.
        node: a client of the rollup node (None: not configured).
        addresses: deployment key -> address (for names and token lists).
    """

    store: IndexStore
    board: SourceBoard
    node: L2Client | None
    addresses: dict[str, str]

    # ---------------------------------------------------------------- common
    def l1_now(self) -> int:
        """Estimated L1 time: the latest block's timestamp plus the wall time since it was seen
        (the countdowns keep moving on an idle L1, as the daemons' L1Clock does)."""
        head = self.store.get("l1_head") or {}
        ts = int(head.get("timestamp") or 0)
        return ts + int(time.time() - float(head.get("seenAt") or time.time())) if ts else 0

    def names(self) -> dict[str, str]:
        """address (lowercase) -> deployment key, to label contract addresses."""
        return {a.lower(): k for k, a in self.addresses.items()}

    # -------------------------------------------------------------- overview
    def overview(self) -> dict[str, Any]:
        seq = self.store.get("sequencers") or {}
        rollup = self.store.get("rollup") or {}
        blocks = self.store.query(
            "SELECT number, tx_count FROM l2_blocks ORDER BY number DESC LIMIT 60"
        )
        jobs = self.store.get("emeth_jobs") or []
        return {
            "l1_head": self.store.get("l1_head"),
            "seq": seq,
            "rollup": rollup,
            "batches": self.store.batches(limit=5),
            "batch_count": self.store.scalar("SELECT COUNT(*) FROM batches"),
            "l2_head": self.store.l2_head(),
            "l2_txs": self.store.scalar("SELECT COUNT(*) FROM l2_txs"),
            "deposits": self.store.scalar(
                "SELECT COUNT(*) FROM events WHERE event = 'DepositQueued'"
            ),
            "tx_points": [(f"block {b['number']}", b["tx_count"]) for b in reversed(blocks)],
            "job_states": sorted(Counter(j["state"] for j in jobs).items()),
            "now": self.l1_now(),
        }

    # ------------------------------------------------------------ sequencers
    def sequencers(self) -> dict[str, Any]:
        seq = self.store.get("sequencers") or {}
        rows = seq.get("sequencers", [])
        active = set(seq.get("active", []))
        total = sum(int(r["stake"]) for r in rows if r["signer"] in active) or 1
        slashed: Counter[str] = Counter()
        for e in self.store.events(["Slashed"], limit=1000):
            slashed[str(e["args"].get("signer"))] += int(e["args"].get("slashed") or 0)
        for r in rows:
            r["slashed"] = str(slashed.get(r["signer"], 0))
            r["share"] = int(r["stake"]) / total if r["signer"] in active else 0.0
            r["current"] = r["signer"] == seq.get("current")
        rows.sort(key=lambda r: (not r["current"], r["status"] != "active", -int(r["stake"])))
        rotations = sorted(
            (e for e in self.store.events(["SequencerRotated"], limit=500)),
            key=lambda e: (e["block"], e["log_index"]),
        )
        now = self.l1_now()
        segments = [
            (float(e["ts"]), float(nxt["ts"] if nxt else now), str(e["args"].get("next")))
            for e, nxt in zip(rotations, [*rotations[1:], None][: len(rotations)], strict=True)
        ]
        marks = [
            (float(e["ts"]), f"{e['event']} {e['args'].get('signer')}")
            for e in self.store.events(["Slashed", "Kicked"], limit=200)
        ]
        return {
            "seq": seq,
            "rows": rows,
            "segments": segments,
            "marks": marks,
            "share_parts": [(r["signer"], r["share"]) for r in rows if r["share"] > 0],
            "reasons": ROTATION_REASON,
            "now": self.l1_now(),
            "timeline": [
                e
                for e in self.store.events(TIMELINE_EVENTS, limit=200)
                if e["contract"] in ("sequencer_set", "locking_pool")
            ][:100],
        }

    # --------------------------------------------------------------- batches
    def batches(self, page: int) -> dict[str, Any]:
        if page < 1:
            raise BadInput(f"page must be 1 or more, got {page}")
        per = 25
        total = int(self.store.scalar("SELECT COUNT(*) FROM batches") or 0)
        rows = self.store.batches(limit=per, offset=(page - 1) * per)
        if page > 1 and not rows:
            raise NotFound(f"no page {page} of batches (there are {total} batches)")
        series = self.store.query(
            "SELECT idx, tx_count, status FROM batches ORDER BY l1_block DESC LIMIT 100"
        )
        return {
            "rows": rows,
            "page": page,
            "pages": max(1, (total + per - 1) // per),
            "total": total,
            "rollup": self.store.get("rollup") or {},
            "challenges": self.store.events(CHALLENGE_EVENTS, limit=50),
            "points": [(f"batch {r['idx']}", r["tx_count"]) for r in reversed(series)],
            "colours": [STATUS_COLOURS.get(r["status"], "#888") for r in reversed(series)],
            "now": self.l1_now(),
        }

    def batch(self, idx: int) -> dict[str, Any]:
        versions = self.store.batch_versions(idx)
        if not versions:
            raise NotFound(f"no batch {idx} on L1 (yet)")
        events = [
            e
            for e in self.store.events(CHALLENGE_EVENTS, limit=1000)
            if _int(e["args"].get("index", e["args"].get("fromIndex"))) == idx
            or (
                e["event"] == "BatchesInvalidated"
                and int(e["args"]["fromIndex"]) <= idx <= int(e["args"]["toIndex"])
            )
        ]
        return {"idx": idx, "versions": versions, "events": events, "now": self.l1_now()}

    # -------------------------------------------------------------------- L2
    def l2(self) -> dict[str, Any]:
        return {
            "blocks": self.store.query("SELECT * FROM l2_blocks ORDER BY number DESC LIMIT 25"),
            "txs": self.store.query("SELECT * FROM l2_txs ORDER BY block DESC, idx DESC LIMIT 25"),
            "node_status": self.store.get("node_status"),
        }

    def block(self, number: int) -> dict[str, Any]:
        b = self.store.one("SELECT * FROM l2_blocks WHERE number = ?", number)
        if b is None:
            raise NotFound(f"no L2 block {number} indexed (yet)")
        return {
            "b": b,
            "txs": self.store.query("SELECT * FROM l2_txs WHERE block = ? ORDER BY idx", number),
            "the_batch": self.store.batch_of_block(number),
            "now": self.l1_now(),
        }

    def tx(self, h: str) -> dict[str, Any]:
        h = _hash(h)
        t = self.store.one("SELECT * FROM l2_txs WHERE hash = ?", h)
        receipt, proof, live_error = None, None, None
        if self.node is not None:
            try:
                receipt = self.node.receipt(h)
            except L2KitError as e:
                live_error = e.message
            if t is not None and t["kind"] == "withdraw" and live_error is None:
                try:
                    proof = self.node.call("l2_getProof", "withdrawal", h)
                except L2KitError as e:
                    proof = {"unavailable": e.message}
        if t is None and receipt is None:
            raise NotFound(f"no L2 transaction {h}")
        batch = None
        block = t["block"] if t else (receipt or {}).get("blockNumber")
        if block is not None:
            batch = self.store.batch_of_block(int(block))
        withdrawal = None
        if t is not None and t["kind"] == "withdraw":
            withdrawal = self._withdrawal_status(t, batch)
        inclusion = self._tx_inclusion(t, batch) if t is not None and batch else None
        return {"h": h, "t": t, "receipt": receipt, "the_batch": batch, "proof": proof,
                "withdrawal": withdrawal, "live_error": live_error, "inclusion": inclusion,
                "now": self.l1_now()}  # fmt: skip

    def _tx_inclusion(self, t: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
        """The transaction's Merkle proof in its batch's MTTBR, rebuilt from the index.

        The leaves are ``tx_leaf_of_hash(keccak256(encoding), feeRecipient)`` of every
        transaction of the batch's blocks in order (the fee recipient: the block's producer,
        address(0) for a deposit; docs/spec.md, batch roots); the proof is checked against the
        header's root.
        """
        rows = self.store.query(
            "SELECT t.hash, t.leaf_hash, t.kind, b.producer FROM l2_txs t"
            " JOIN l2_blocks b ON b.number = t.block"
            " WHERE t.block BETWEEN ? AND ? ORDER BY t.block, t.idx",
            batch["first_block"],
            batch["first_block"] + batch["l2_blocks"] - 1,
        )
        hashes = [r["hash"] for r in rows]
        if len(rows) != batch["tx_count"] or t["hash"] not in hashes:
            return {"verified": False, "why": "the batch's blocks are not all indexed"}
        leaves = [
            ltx.tx_leaf_of_hash(
                bytes.fromhex(r["leaf_hash"][2:]), ETH if r["kind"] == "deposit" else r["producer"]
            )
            for r in rows
        ]
        i = hashes.index(t["hash"])
        tree = merkle.MerkleTree(leaves)
        root = "0x" + tree.root.hex()
        proof = tree.proof(i)
        ok = root == str(batch["header"].get("txRoot", "")).lower() and merkle.verify(
            tree.root, i, leaves[i], proof
        )
        return {"verified": ok, "index": i, "leaves": len(leaves), "siblings": len(proof),
                "why": "" if ok else f"rebuilt root {root} differs from the header's"}  # fmt: skip

    def address(self, a: str) -> dict[str, Any]:
        if not ADDR_RE.match(a):
            raise BadInput(f"{a!r} is not an address (0x and 40 hex digits)")
        a = a.lower()
        txs = self.store.query(
            "SELECT * FROM l2_txs WHERE sender = ? UNION SELECT * FROM l2_txs WHERE recipient = ? "
            "ORDER BY block DESC, idx DESC LIMIT 50",
            a,
            a,
        )
        tokens = [ETH] + sorted(
            {
                str(e["args"].get("token", ETH)).lower()
                for e in self.store.events(["DepositQueued"], limit=1000)
            }
            - {ETH}
        )
        balances: list[tuple[str, str]] = []
        nonce, live_error = None, None
        if self.node is not None:
            try:
                ans = self.node.call_many("l2_getBalance", [[a, tk] for tk in tokens])
                balances = [
                    (tk, str(x.get("result", "?"))) for tk, x in zip(tokens, ans, strict=False)
                ]
                nonce = self.node.nonce(a)
            except L2KitError as e:
                live_error = e.message
        label = self.names().get(a)
        return {"a": a, "txs": txs, "balances": balances, "nonce": nonce, "label": label,
                "live_error": live_error,
                "l1_events": self._address_events(a)}  # fmt: skip

    def _address_events(self, a: str) -> list[dict[str, Any]]:
        like = f"%{a[2:]}%"
        rows = self.store.query(
            "SELECT * FROM events WHERE lower(args) LIKE ? ORDER BY block DESC LIMIT 25", like
        )
        for r in rows:
            r["args"] = json.loads(r["args"])
        return rows

    def l1_tx(self, h: str) -> dict[str, Any]:
        h = _hash(h)
        events = self.store.events(None, limit=100, tx_hash=h)
        if not events:
            raise NotFound(f"no indexed event in L1 transaction {h}")
        return {"h": h, "events": events}

    def search(self, q: str) -> str:
        """Where to go for ``q`` (a URL path).

        Raises:
            BadInput: not a hash, an address or a block number.
            NotFound: a well-formed hash nothing is known under.
        """
        q = q.strip()
        if q.isdigit():
            return f"/l2/block/{int(q)}"
        if ADDR_RE.match(q):
            return f"/address/{q.lower()}"
        if HASH_RE.match(q):
            h = q.lower()
            if self.store.one("SELECT hash FROM l2_txs WHERE hash = ?", h):
                return f"/l2/tx/{h}"
            b = self.store.one("SELECT number FROM l2_blocks WHERE hash = ?", h)
            if b:
                return f"/l2/block/{b['number']}"
            bt = self.store.one("SELECT idx FROM batches WHERE header_hash = ?", h)
            if bt:
                return f"/batches/{bt['idx']}"
            for root in (
                "txRoot",
                "stateRootsRoot",
                "finalStateRoot",
                "withdrawalRoot",
                "dataHash",
            ):
                bt = self.store.one(
                    f"SELECT idx FROM batches WHERE lower(json_extract(header, '$.{root}')) = ?"
                    " ORDER BY l1_block DESC LIMIT 1",
                    h,
                )
                if bt:
                    return f"/batches/{bt['idx']}"
            b = self.store.one("SELECT number FROM l2_blocks WHERE state_root = ? LIMIT 1", h)
            if b:
                return f"/l2/block/{b['number']}"
            if self.store.one("SELECT id FROM events WHERE tx_hash = ? LIMIT 1", h):
                return f"/l1/tx/{h}"
            return f"/l2/tx/{h}"  # maybe pending on the node: the tx page asks it
        raise BadInput(
            f"cannot search for {q[:80]!r}",
            "enter a transaction or block hash (0x + 64 hex), an address (0x + 40 hex) "
            "or an L2 block number",
        )

    # ---------------------------------------------------------------- bridge
    def bridge(self) -> dict[str, Any]:
        deposits = self.store.events(["DepositQueued"], limit=50)
        node_next = int((self.store.get("node_status") or {}).get("nextDepositId") or 0)
        batched = int(
            self.store.scalar(
                "SELECT COALESCE(MAX(deposit_count), 0) FROM batches WHERE status != 'invalid'"
            )
            or 0
        )
        for d in deposits:
            i = int(d["args"]["depositId"])
            d["status"] = (
                "included in a batch" if i < batched else "on L2" if i < node_next else "queued"
            )
        wds = self.store.query(
            "SELECT * FROM l2_txs WHERE kind = 'withdraw' ORDER BY block DESC, idx DESC LIMIT 50"
        )
        for w in wds:
            w["st"] = self._withdrawal_status(w, self.store.batch_of_block(w["block"]))
        return {
            "deposits": deposits,
            "withdrawals": wds,
            "paid": self.store.events(["WithdrawalFinalized"], limit=50),
            "now": self.l1_now(),
        }

    def _withdrawal_status(self, t: dict[str, Any], batch: dict[str, Any] | None) -> dict[str, Any]:
        item = (
            "0x"
            + ltx.withdrawal_item(
                bytes.fromhex(t["hash"][2:]), t["recipient"], t["token"], int(t["amount"])
            ).hex()
        )
        paid = self.store.one(
            "SELECT tx_hash FROM events WHERE event = 'WithdrawalFinalized' "
            "AND json_extract(args, '$.withdrawalHash') = ?",
            item,
        )
        if paid:
            return {"status": "paid", "item": item, "l1_tx": paid["tx_hash"]}
        if batch is None:
            return {"status": "not batched yet", "item": item}
        return {"status": batch["status"], "item": item, "batch": batch}

    # ----------------------------------------------------------------- EMETH
    def emeth(self) -> dict[str, Any]:
        jobs = self.store.get("emeth_jobs") or []
        by_parent: dict[str, list[dict[str, Any]]] = {}
        for j in jobs:
            if j.get("parentId"):
                by_parent.setdefault(j["parentId"], []).append(j)
        top = sorted((j for j in jobs if not j.get("parentId")), key=lambda j: -j["createdAt"])
        states: dict[str, list[dict[str, Any]]] = {}
        for j in top:
            j["subjobs"] = sorted(by_parent.get(j["jobId"], []), key=lambda s: s["subIndex"] or 0)
            states.setdefault(j["state"], []).append(j)
        return {
            "states": sorted(states.items()),
            "counts": sorted(Counter(j["state"] for j in jobs).items()),
            "nodes": self.store.get("emeth_nodes") or [],
            "tickets": self._tickets(),
            "el_health": self.store.get("emeth_health"),
        }

    def _tickets(self) -> list[dict[str, Any]]:
        settled = {
            int(e["args"]["ticketId"]): e for e in self.store.events(["TicketSettled"], limit=1000)
        }
        out = []
        for t in sorted(self.store.get("emeth_tickets") or [], key=lambda t: -t["ticketId"]):
            t["l1"] = settled.get(int(t["ticketId"]))
            out.append(t)
        for tid, e in settled.items():  # settled on L1, unknown to the execution layer
            if not any(int(t["ticketId"]) == tid for t in out):
                out.append({"ticketId": tid, "node": e["args"].get("node"), "l1": e,
                            "jobCount": e["args"].get("jobCount"), "fuel": e["args"].get("fuel"),
                            "settled": True})  # fmt: skip
        return out

    def job(self, job_id: str) -> dict[str, Any]:
        if not re.fullmatch(r"(0x)?[0-9a-fA-F]{1,64}", job_id):
            raise BadInput(f"{job_id[:80]!r} is not a job id (hex)")
        jobs = self.store.get("emeth_jobs") or []
        j = next((x for x in jobs if str(x["jobId"]).lower() == job_id.lower()), None)
        if j is None:
            raise NotFound(f"no EMETH job {job_id}")
        subs = sorted(
            (x for x in jobs if x.get("parentId") == j["jobId"]), key=lambda s: s["subIndex"] or 0
        )
        return {"j": j, "subjobs": subs}

    def ticket(self, tid: int) -> dict[str, Any]:
        t = next((x for x in self._tickets() if int(x["ticketId"]) == tid), None)
        if t is None:
            raise NotFound(f"no Ticket {tid}")
        return {"t": t}


def _hash(h: str) -> str:
    if not HASH_RE.match(h):
        raise BadInput(f"{h[:80]!r} is not a hash (0x and 64 hex digits)")
    return h.lower()


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None
