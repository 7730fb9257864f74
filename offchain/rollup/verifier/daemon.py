"""The verifier daemon (seed §9–11): checks every batch on L1 and challenges bad ones.

For each batch appended on L1, in index order:

1. **Get the data** (§9): from the blob store; if it is down or lacks the blob, from the
   local snapshot dir (§9.1); if that fails too, ``requestData`` on L1 (§9.2) and, once the
   sequencer answered, read the data from the ``provideData`` calldata (§9.3, §11.10.2). If
   the deadline passes unanswered, ``resolveTimeout`` (§11.11–11.16: the sequencer is
   slashed and kicked, its batches invalidated).
2. **MTTBR** (§10–11): recompute it from the data; a mismatch (or data whose hash is not
   the header's) is answered with ``requestData`` (§11.6): the sequencer must post data
   that matches on L1 or be slashed.
3. **MTSR** (§11.1–11.5): re-execute the batch on the verifier's own replica of the L2
   state (built only from L1-committed batches); the first step whose post-state root or
   withdrawal item differs from the claim, or whose transaction is invalid, is proven on L1
   with a one-step fraud proof (``proveFraud``).

A fault L1 refuses a proof of (outcome ``unprovable``, e.g. found after the challenge window
closed) raises the ``verifier_unprovable_batch`` alert and is remembered; the replica then
applies the batch's transactions as they really execute and goes on with later batches.

The verifier's position is the last verified index plus the header hash of every verified
batch (sqlite). Each tick compares those hashes with L1: a batch that L1 invalidated or an
L1 reorg replaced rewinds the replica to the last batch still on L1, so a restart or a
reorg never makes it miss a batch; every challenge is keyed by (index, header hash) and
recorded before it is sent, so it never challenges the same batch twice. Verified batch data
is kept in the snapshot dir, which is also what the replica is rebuilt from on restart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from offchain.chain.clock import L1Clock
from offchain.chain.networks import default_confirmations
from offchain.common.daemon import Daemon
from offchain.common.hashing import keccak
from offchain.common.health import health_response
from offchain.errors import L2KitError, TxReverted
from offchain.governance.auto import AutoProposer, kick_proposal
from offchain.rollup.errors import TxRejected
from offchain.rollup.l1.bindings import AnswerKind, RequestStatus, RollupL1
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_data import BatchData, decode_batch_data
from offchain.rollup.ledger.compact import BatchDataError
from offchain.rollup.ledger.fraud import find_fraud
from offchain.rollup.ledger.ledger import Ledger
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import DEFAULT_L2_CHAIN_ID
from offchain.rollup.node.config import VerifierConfig, daemon_loop
from offchain.rollup.verifier.sources import answered_frame, from_l2_nodes, l1_blobs, l1_frame

if TYPE_CHECKING:
    from offchain.rollup.node.service import RollupContracts

log = structlog.get_logger("rollup.verifier")

# Gas limit of a resolveTimeout sent without an estimate (the latest block still sees the
# request open on an idle L1); only the gas used is paid.
RESOLVE_GAS = 2_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verified (
    idx INTEGER PRIMARY KEY, header_hash BLOB NOT NULL, data_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (key TEXT PRIMARY KEY, at REAL NOT NULL, detail TEXT NOT NULL);
"""


@dataclass
class Outcome:
    """What checking one batch led to."""

    index: int
    result: str  # verified | waiting | requested | fraud_proven | timeout_resolved | unprovable
    detail: str = ""


STATUS_ACTIVE, STATUS_EXITING = 1, 2  # LockingPool.Status


def _matching(header: BatchHeader, blob: bytes) -> tuple[BatchData | None, str]:
    """``blob`` decoded if its count, MTTBR, MTSR and withdrawal root are the header's;
    else None and why not."""
    try:
        data = decode_batch_data(blob)
        roots = data.roots()
    except (TxRejected, ValueError) as e:
        return None, f"batch data does not decode: {e}"
    if len(data) != header.tx_count or roots.mttbr != header.tx_root:
        return None, "MTTBR mismatch"
    if roots.mtsr != header.state_roots_root or roots.withdrawal_root != header.withdrawal_root:
        return None, "claimed roots do not match the header"
    return data, ""


class VerifierStore:
    """The verifier's persisted position and actions (sqlite, WAL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def verified(self) -> list[tuple[int, bytes, bytes]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, header_hash, data_hash FROM verified ORDER BY idx"
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def add_verified(self, index: int, header_hash: bytes, data_hash: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO verified VALUES (?,?,?)", (index, header_hash, data_hash)
            )

    def drop_verified_from(self, index: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM verified WHERE idx>=?", (index,))

    def action(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT at, detail FROM actions WHERE key=?", (key,)).fetchone()
        return {"at": row[0], **json.loads(row[1])} if row else None

    def record_action(self, key: str, detail: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO actions VALUES (?,?,?)",
                (key, time.time(), json.dumps(detail)),
            )

    def actions(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute("SELECT key, detail FROM actions ORDER BY at").fetchall()
        return [(r[0], json.loads(r[1])) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Verifier(Daemon):
    """One verifier (see the module docstring).

    Args:
        contracts: the rollup's L1 contracts.
        account: the verifier's L1 account (pays request fees and proof gas, gets rewards).
        blobs: blob store client (``get``); may be unreachable.
        config: verifier parameters.
        l2_chain_id: the L2 chain id.
        name: label in logs.
    """

    def __init__(
        self,
        contracts: RollupContracts,
        account: Any,
        blobs: Any,
        config: VerifierConfig,
        l2_chain_id: int = DEFAULT_L2_CHAIN_ID,
        name: str = "verifier",
    ) -> None:
        super().__init__(
            daemon_loop(config),
            name=name,
            log=log.bind(verifier=name),
        )
        self.contracts = contracts
        self.account = account
        self.l1: RollupL1 = contracts.l1(contracts.chain.sender(account))
        self.clock = L1Clock(contracts.chain.w3)
        self.blobs = blobs
        self.config = config
        self.confirmations = (
            config.confirmations
            if config.confirmations is not None
            else default_confirmations(contracts.chain.chain_id)
        )
        self.domain = ltx.Domain(l2_chain_id, ltx.to_checksum(contracts.state_commitment))
        data_dir = Path(config.data_dir)
        self.store = VerifierStore(data_dir / "verifier.db")
        self.snapshot_dir = Path(config.snapshot_dir or data_dir / "snapshots")
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.registry = CollectorRegistry()
        self.m_batches = Counter(
            "verifier_batches", "batches checked", ["result"], registry=self.registry
        )
        self.m_verified = Gauge(
            "verifier_verified_index", "last verified batch", registry=self.registry
        )
        # Alert: a batch the verifier finds wrong but cannot prove on L1 (-1: none).
        self.m_unprovable = Gauge(
            "verifier_unprovable_batch",
            "index of a batch found faulty but not provable on L1 (-1: none): alert",
            registry=self.registry,
        )
        self.m_unprovable.set(-1)
        # §11.10.3: kick proposals filed after a matching answer (result filed / blocked).
        self.m_proposals = Counter(
            "verifier_kick_proposals",
            "automatic kick proposals",
            ["result"],
            registry=self.registry,
        )
        self.m_proposal_blocked = Gauge(
            "verifier_proposal_blocked",
            "1 while the last automatic proposal could not be filed (no voting power): alert",
            registry=self.registry,
        )
        gov = contracts.governance() if config.propose_kick else None
        self.proposer: AutoProposer | None = (
            AutoProposer(gov, contracts.chain.sender(account), name) if gov is not None else None
        )
        self.unprovable: Outcome | None = None  # the latest of ``unprovable_batches``
        self.unprovable_batches: dict[int, Outcome] = {}
        self.outcomes: list[Outcome] = []
        self._deposit_items: dict[int, bytes] = {}
        self.state = State()
        self.verified_index = -1
        self._hashes: dict[int, bytes] = {}
        self._rebuild()

    # -------------------------------------------------------------- replica
    def _rebuild(self, upto: int | None = None) -> None:
        """Rebuild the replica from the snapshots of verified batches ``0..upto``."""
        self.state = State()
        self.verified_index = -1
        self._hashes = {}
        for idx, hh, dh in self.store.verified():
            if upto is not None and idx > upto:
                break
            if idx != self.verified_index + 1:
                break
            blob = self._snapshot(dh)
            try:
                data = decode_batch_data(blob) if blob is not None else None
            except BatchDataError:
                data = None
            if data is None:
                log.warning("snapshot_missing", verifier=self.name, index=idx)
                break
            self._apply(data)
            self.verified_index, self._hashes[idx] = idx, hh
        self.store.drop_verified_from(self.verified_index + 1)
        self.m_verified.set(self.verified_index)
        self.unprovable_batches = {}
        for key, detail in self.store.actions():
            kind, _, rest = key.partition(":")
            at, _, header_hash = rest.partition(":")
            if kind == "unprovable" and self._hashes.get(int(at)) == bytes.fromhex(header_hash[2:]):
                self.unprovable_batches[int(at)] = Outcome(int(at), "unprovable", detail["why"])
        self._note_unprovable(None)

    def _apply(self, data: BatchData) -> None:
        ledger = Ledger(self.domain, self.state)
        for raw, fee in zip(data.tx_data, data.fee_recipients, strict=True):
            ledger.apply(ltx.decode_tx(raw), fee)
        self.state.discard_before(self.state.checkpoint())

    def _executed(self, data: BatchData) -> State:
        """The replica's state after ``data`` (the replica itself is left as it is)."""
        before = self.state
        self.state = before.copy()
        try:
            self._apply(data)
            return self.state
        finally:
            self.state = before

    def _snapshot(self, data_hash: bytes) -> bytes | None:
        """The frame kept under ``data_hash`` (callers check it against the header's roots)."""
        p = self.snapshot_dir / f"0x{data_hash.hex()}"
        try:
            return p.read_bytes()
        except OSError:
            return None

    def _save_snapshot(self, data_hash: bytes, blob: bytes) -> None:
        p = self.snapshot_dir / f"0x{data_hash.hex()}"
        if not p.exists():
            tmp = p.with_suffix(".tmp")
            tmp.write_bytes(blob)
            tmp.replace(p)

    # ------------------------------------------------------------- L1 reads
    def _forced_matches(self, queue_id: int, item: bytes) -> bool:
        """``L1Bridge.queueItemMatches``: is ``item`` the forced tx queued at ``queue_id``?"""
        bridge = self.contracts.bridge_contract()
        return bool(bridge.functions.queueItemMatches(queue_id, item).call())

    def _deposit_item(self, deposit_id: int) -> bytes:
        """The bridge's deposit hash for ``deposit_id`` (``L1Bridge.depositHash``)."""
        item = self._deposit_items.get(deposit_id)
        if item is None:
            bridge = self.contracts.bridge_contract()
            item = bytes(bridge.functions.depositHash(deposit_id).call())
            if item != b"\x00" * 32:
                self._deposit_items[deposit_id] = item
        return item

    def _l1_data(self, index: int, header: BatchHeader) -> bytes | None:
        """The batch data a sequencer posted on L1 for ``index`` in a DA answer (provideData
        calldata, the packed chunks of provideChunk, or the blobs of provideBlobs), as a
        frame (the latest answer first)."""
        da = self.l1.da
        if da is None:
            return None
        logs = da.events.DataProvided().get_logs(
            from_block=self.contracts.from_block, argument_filters={"index": index}
        )
        for lg in reversed(logs):
            tx = self.contracts.chain.w3.eth.get_transaction(lg["transactionHash"])
            fn, args = da.decode_function_input(tx["input"])
            if BatchHeader.from_tuple(args["header"]).hash() != header.hash():
                continue
            if fn.fn_name == "provideBlobs":
                try:
                    return answered_frame(self.l1, header, self.config.beacon_url)
                except BatchDataError as e:  # blobs that do not decode: a blob fault
                    log.warning("l1_answer_blobs_bad", verifier=self.name, index=index, err=str(e))
                    return None
            if fn.fn_name == "provideChunk":
                try:
                    posted = self.l1.provided_data(index)
                except BatchDataError as e:
                    log.warning("l1_chunks_bad", verifier=self.name, index=index, error=str(e))
                    return None
                data = BatchData(
                    list(posted.tx_data),
                    list(posted.fee_recipients),
                    list(posted.post_roots),
                    list(posted.withdrawal_items),
                )
            else:
                data = BatchData(
                    [bytes(t) for t in args["txs"]],
                    [ltx.to_checksum(f) for f in args["feeRecipients"]],
                    [bytes(r) for r in args["postStateRoots"]],
                    [bytes(w) for w in args["withdrawalItems"]],
                )
            return data.encode()
        return None

    def fetch(self, index: int, header: BatchHeader) -> tuple[bytes | None, str]:
        """The batch frame and where it came from: blob store, snapshot (§9.1), the batch's
        own L1 publication (blobs checked with KZG, or calldata), or a DA answer (§9.3)."""
        key = "0x" + header.data_hash.hex()
        try:
            blob = self.blobs.get(key)
            if keccak(blob) == header.data_hash:
                return blob, "storage"
        except (L2KitError, OSError) as e:
            log.info("storage_unavailable", verifier=self.name, index=index, error=str(e)[:120])
        blob = self._snapshot(header.data_hash)
        if blob is not None:
            return blob, "snapshot"
        if self.config.l2_node_urls:
            blob = from_l2_nodes(
                self.config.l2_node_urls, header, self.state, self.domain, self._deposit_item
            )
            if blob is not None:
                return blob, "l2_nodes"
        try:
            found = l1_frame(self.l1, header, self.config.beacon_url)
        except BatchDataError as e:
            log.warning("l1_data_bad", verifier=self.name, index=index, error=str(e)[:160])
            found = None
        if found is not None:
            return found
        blob = self._l1_data(index, header)
        if blob is not None:
            return blob, "l1"
        return None, ""

    # --------------------------------------------------------------- checks
    def _rewind_if_needed(self, next_index: int) -> None:
        """Drop verified batches L1 no longer has (invalidated, or replaced by a reorg)."""
        keep = self.verified_index
        for idx in range(self.verified_index, -1, -1):
            if idx < next_index and self.l1.stored_header_hash(idx) == self._hashes.get(idx):
                break
            keep = idx - 1
        if keep < self.verified_index:
            log.warning(
                "verifier_rewind", verifier=self.name, from_index=self.verified_index, to_index=keep
            )
            self.store.drop_verified_from(keep + 1)
            self._rebuild(keep)

    def tick(self) -> list[Outcome]:
        """Check every new batch on L1, in order, until one cannot be settled yet.

        Only batches appended at least ``confirmations`` L1 blocks ago are checked.
        """
        next_index = self.l1.next_index()
        if self.confirmations:
            w3 = self.contracts.chain.w3
            safe = max(0, int(w3.eth.block_number) - self.confirmations)
            next_index = min(
                next_index, int(self.l1.sc.functions.nextIndex().call(block_identifier=safe))
            )
        self._rewind_if_needed(next_index)
        out: list[Outcome] = []
        for idx in range(self.verified_index + 1, next_index):
            o = self.check(idx)
            out.append(o)
            self.outcomes.append(o)
            self.m_batches.labels(o.result).inc()
            self._note_unprovable(o)
            if self.verified_index < idx:  # not settled yet (waiting, requested, proven)
                break
        self.clock.latest()  # note when the newest block (maybe our own request) was first seen
        return out

    def _note_unprovable(self, o: Outcome | None) -> None:
        """Raise the alert for a batch found faulty that L1 would not accept a proof of
        (logged once per batch); the gauge holds the latest such batch still on L1."""
        if o is not None and o.result == "unprovable":
            if o.index not in self.unprovable_batches:
                log.error("batch_unprovable", verifier=self.name, index=o.index, why=o.detail)
            self.unprovable_batches[o.index] = o
        latest = max(self.unprovable_batches, default=-1)
        self.unprovable = self.unprovable_batches.get(latest)
        self.m_unprovable.set(latest)

    def check(self, index: int) -> Outcome:
        """Check batch ``index`` (the next one after the replica's position)."""
        header = self.l1.get_header_from_event(index)
        hh = header.hash()
        key = f"{index}:0x{hh.hex()}"
        blob, source = self.fetch(index, header)
        if blob is None:
            proven = self._prove_blob_fault(index, header, key)
            if proven is not None:
                return proven
            return self._data_request(
                index, header, key, "data unavailable from storage, snapshot and L1"
            )
        if source in ("storage", "l2_nodes"):
            # In Blobs mode the blobs are the batch's publication: data found elsewhere does
            # not excuse blobs that do not decode (None for any other batch).
            proven = self._prove_blob_fault(index, header, key)
            if proven is not None:
                return proven
        data, why = _matching(header, blob)
        if data is None:
            answered = self._matching_answer(index, header)
            if answered is None:
                return self._data_request(index, header, key, why)
            # §11.10.2: the data posted on L1 matches the header; what the sequencer
            # published does not. §11.10.3: propose the kick, go on with the L1 data.
            if source == "storage":
                self._propose_kick(index, header, why)
            blob, data, source = *answered, "l1_answer"
        step = find_fraud(self.state, self.domain, data, self._deposit_item, self._forced_matches)
        if step is not None:
            return self._past_unprovable(
                index, header, blob, data, key, self._prove_fraud(index, header, data, step, key)
            )
        post = self._executed(data)
        if (
            data.final_state_root != header.final_state_root
            or post.next_deposit_id != header.deposit_count
        ):
            # Honest steps, but the header's summary is not its own MTSR's last leaf.
            o = self._prove_summary(index, header, data, post, key)
            return self._past_unprovable(index, header, blob, data, key, o)
        self._advance(index, header, blob, post)
        log.info("batch_verified", verifier=self.name, index=index, txs=len(data), source=source)
        return Outcome(index, "verified", source)

    def _matching_answer(self, index: int, header: BatchHeader) -> tuple[bytes, BatchData] | None:
        """The data of an answered request on ``index`` that matches ``header``'s roots (the
        L1 answer, as a frame and decoded), or None."""
        if self.l1.da is None:
            return None
        req = self.l1.data_request(index)
        if req.status != RequestStatus.ANSWERED or req.header_hash != header.hash():
            return None
        frame = self._l1_data(index, header)
        if frame is None:
            return None
        data, _ = _matching(header, frame)
        if data is None or data.final_state_root != header.final_state_root:
            return None
        return frame, data

    def _propose_kick(self, index: int, header: BatchHeader, why: str) -> None:
        """§11.10.3: after a matching answer on a batch whose published data (the bytes its
        ``dataHash`` commits to) does not match it, propose ``LockingPool.kick`` of its
        sequencer (once; ``config.propose_kick``; needs voting power, see
        :mod:`offchain.governance.auto`)."""
        if not self.config.propose_kick or self.proposer is None:
            return
        c = self.contracts
        if c.locking_pool is None:
            return
        seq = self.l1.data_request(index).sequencer
        pool = c.chain.contract("LockingPool", c.locking_pool).functions
        key = str(pool.currentKeyOf(seq).call())
        if int(pool.statusOf(key).call()) not in (STATUS_ACTIVE, STATUS_EXITING):
            return  # already kicked or gone: nothing to propose
        evidence = f"published data 0x{header.data_hash.hex()} ({why}); L1 answer matches"
        pid = self.proposer.file(
            f"kick:{index}:0x{header.hash().hex()}",
            kick_proposal(c.locking_pool, seq, index, evidence),
        )
        self.m_proposals.labels("filed" if pid is not None else "blocked").inc()
        self.m_proposal_blocked.set(0 if pid is not None else 1)

    def _advance(self, index: int, header: BatchHeader, blob: bytes, post: State) -> None:
        """Move the replica and the saved position past batch ``index`` (state ``post``)."""
        hh = header.hash()
        self._save_snapshot(header.data_hash, blob)
        self.state = post
        self.store.add_verified(index, hh, header.data_hash)
        self.verified_index, self._hashes[index] = index, hh
        self.m_verified.set(index)

    def _past_unprovable(
        self, index: int, header: BatchHeader, blob: bytes, data: BatchData, key: str, o: Outcome
    ) -> Outcome:
        """An ``unprovable`` outcome moves the replica past the batch (its transactions as they
        really execute, whatever the batch claims) and is remembered, so later batches are
        checked; any other outcome is returned as it is."""
        if o.result != "unprovable":
            return o
        try:
            post = self._executed(data)
        except (TxRejected, ValueError) as e:  # cannot execute it: stay at this batch
            log.error("unprovable_not_passed", verifier=self.name, index=index, error=str(e))
            return o
        self.store.record_action("unprovable:" + key, {"index": index, "why": o.detail})
        self._advance(index, header, blob, post)
        log.warning("unprovable_passed", verifier=self.name, index=index)
        return o

    def _data_request(self, index: int, header: BatchHeader, key: str, why: str) -> Outcome:
        """§9.2 / §11.6: ask for the data on L1 (once), then wait or resolve the timeout."""
        req = self.l1.data_request(index)
        if req.status == RequestStatus.OPEN and req.header_hash == header.hash():
            # The next block's time, also on an idle L1 (our transaction makes that block).
            now = self.clock.now()
            if now > req.deadline and self.store.action("timeout:" + key) is None:
                try:
                    self.l1.resolve_timeout(
                        index, gas=RESOLVE_GAS if self.clock.stale_for(req.deadline) else None
                    )
                    self.store.record_action(
                        "timeout:" + key, {"index": index, "why": "no answer by deadline"}
                    )
                except TxReverted as e:
                    log.warning(
                        "resolve_timeout_failed",
                        verifier=self.name,
                        index=index,
                        error=e.error_name,
                    )
                    return Outcome(index, "waiting", f"resolveTimeout: {e.error_name}")
                log.warning("sequencer_timed_out", verifier=self.name, index=index)
                return Outcome(index, "timeout_resolved", why)
            return Outcome(index, "waiting", f"data request open until {req.deadline}")
        action = "request:" + key
        if req.status == RequestStatus.ANSWERED and req.header_hash == header.hash():
            if self.l1.answer_kind(header) != AnswerKind.BLOBS:
                # Recomputed on L1; if it still does not check out we cannot do more here.
                return Outcome(index, "unprovable", f"{why}; data provided on L1")
            # Answered with blobs that do not check out: ask again; L1 recomputes the chunks.
            action = "rerequest:" + key
        if self.store.action(action) is not None:
            if req.status != RequestStatus.NONE:
                return Outcome(index, "waiting", "requested earlier")
            # Recorded, yet L1 holds no request: an L1 reorg removed it. Request again.
            log.warning("data_request_reorged_out", verifier=self.name, index=index)
        self.store.record_action(action, {"index": index, "why": why})
        try:
            self.l1.request_data(header)
        except TxReverted as e:
            log.warning("request_data_failed", verifier=self.name, index=index, error=e.error_name)
            return Outcome(index, "waiting", f"requestData: {e.error_name}")
        log.warning("data_requested", verifier=self.name, index=index, why=why)
        return Outcome(index, "requested", why)

    def _prove_blob_fault(self, index: int, header: BatchHeader, key: str) -> Outcome | None:
        """A Blobs-mode batch whose blobs do not decode, in a way two KZG-opened field
        elements show (docs/spec.md, "Blob-mode faults"): prove it on L1 (once). None when the
        batch has no such fault (then the caller requests the data)."""
        from offchain.rollup.ledger.blob_proof import BlobFaultWitness, fault_openings

        if self.l1.fp is None:
            return None
        try:
            got = l1_blobs(self.l1, header, self.config.beacon_url)
        except BatchDataError:
            return None
        if got is None:
            return None
        blobs, hashes = got
        fault, openings = fault_openings(blobs)
        if not openings:
            return None
        sent = self.store.action("blobfault:" + key)
        if sent is not None:  # sent: wait for L1 to invalidate; refused before: request
            return Outcome(index, "waiting", "blob fault proven earlier") if sent["sent"] else None
        detail = {"index": index, "fault": fault.name, "sent": False}
        self.store.record_action("blobfault:" + key, detail)
        try:
            self.l1.prove_blob_fault(BlobFaultWitness(header, hashes, openings))
        except TxReverted as e:
            log.error("blob_fault_refused", verifier=self.name, index=index, error=e.error_name)
            return None
        self.store.record_action("blobfault:" + key, detail | {"sent": True})
        log.warning("blob_fault_proven", verifier=self.name, index=index, fault=fault.name)
        return Outcome(index, "fraud_proven", f"blobs do not decode: {fault.name}")

    def _prove_summary(
        self, index: int, header: BatchHeader, data: BatchData, post: State, key: str
    ) -> Outcome:
        """The header's final root or deposit position is not the last MTSR leaf's (every step
        honest): ``proveBadSummary`` on L1 (once)."""
        from offchain.rollup.ledger.fraud import build_summary_witness

        sent = self.store.action("summary:" + key)
        if sent is not None and sent.get("sent") and self.l1.header_matches(index, header.hash()):
            log.warning("summary_proof_reorged_out", verifier=self.name, index=index)
        elif sent is not None:
            return Outcome(index, "waiting", "summary proof sent earlier")
        final = (post.tree_root, post.size, post.next_deposit_id)
        detail = {"index": index, "final_state_root": "0x" + post.root.hex(), "sent": False}
        self.store.record_action("summary:" + key, detail)
        try:
            self.l1.prove_bad_summary(build_summary_witness(header, data, final))
        except TxReverted as e:
            log.error("summary_proof_refused", verifier=self.name, index=index, error=e.error_name)
            return Outcome(index, "unprovable", f"proveBadSummary reverted: {e.error_name}")
        self.store.record_action("summary:" + key, detail | {"sent": True})
        log.warning("bad_summary_proven", verifier=self.name, index=index)
        return Outcome(index, "fraud_proven", "summary: final root or deposit position")

    def _prove_fraud(
        self, index: int, header: BatchHeader, data: BatchData, step: int, key: str
    ) -> Outcome:
        """§11.4–11.5: prove step ``step`` wrong on L1 (once per batch)."""
        from offchain.rollup.ledger.fraud import build_witness

        sent = self.store.action("fraud:" + key)
        if sent is not None:
            if not sent.get("sent") or not self.l1.header_matches(index, header.hash()):
                return Outcome(index, "waiting", "fraud proof sent earlier")
            # Proven, yet the batch is still valid on L1: an L1 reorg removed the proof.
            log.warning("fraud_proof_reorged_out", verifier=self.name, index=index)
        prev_header, prev_roots = None, None
        if step == 0 and index > 0:
            prev_header = self.l1.get_header_from_event(index - 1)
            prev_blob = self._snapshot(prev_header.data_hash)
            if prev_blob is None:
                return Outcome(
                    index, "unprovable", "previous batch data missing for a step-0 proof"
                )
            prev_roots = decode_batch_data(prev_blob).post_roots
        witness = build_witness(
            header,
            data,
            self.state,
            self.domain,
            step,
            prev_header,
            prev_roots,
            self._deposit_item,
            self._forced_matches,
        )
        status = witness.step.expected_status
        self.store.record_action("fraud:" + key, {"index": index, "step": step, "status": status})
        try:
            self.l1.prove_fraud(witness)
        except TxReverted as e:
            log.error(
                "fraud_proof_refused",
                verifier=self.name,
                index=index,
                step=step,
                error=e.error_name,
            )
            return Outcome(index, "unprovable", f"proveFraud reverted: {e.error_name}")
        self.store.record_action(
            "fraud:" + key, {"index": index, "step": step, "status": status, "sent": True}
        )
        log.warning("fraud_proven", verifier=self.name, index=index, step=step, status=status)
        return Outcome(index, "fraud_proven", f"step {step}: {status}")

    # ---------------------------------------------------------------- daemon
    def thread_name(self) -> str:
        return f"l2-{self.name}"

    def health(self) -> dict[str, Any]:
        return {
            "health": self.part_health().to_json(),
            "alive": self.alive,
            "verified_index": self.verified_index,
            "unprovable": None if self.unprovable is None else self.unprovable.__dict__,
            "unprovable_batches": sorted(self.unprovable_batches),
            "proposals": None if self.proposer is None else self.proposer.status(),
            "failures": self.failures_in_row,
            "last_error": self.last_error or "",
            "last": [o.__dict__ for o in self.outcomes[-5:]],
        }

    def app(self) -> Any:
        """A FastAPI app with ``/health`` and ``/metrics`` for this verifier."""
        from fastapi import FastAPI
        from fastapi.responses import Response
        from prometheus_client import generate_latest

        app = FastAPI(title="l2kit verifier", docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/health")
        def health() -> Any:
            return health_response({self.name: self.health()}, flat=True)

        @app.get("/metrics")
        def metrics() -> Response:
            return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4")

        return app

    def stop(self, timeout_s: float = 15.0) -> None:
        super().stop(timeout_s)
        self.store.close()
