"""The batch submitter: L2 blocks -> batches on L1, exactly one per index.

Runs next to a :class:`~offchain.rollup.node.node.SequencerNode` (every node runs one: only the
current sequencer's submits). Each tick:

1. **Invalidations** (seed §11.14, §3.3.6.3): if L1 marked a batch this node knows invalid,
   the node rolls back to the last block of the last valid batch.
2. **Where L1 is**: the next index is ``StateCommitment.nextIndex()`` (L1 state, never a
   local counter); the L2 blocks already covered end at the last block of batch
   ``nextIndex - 1`` (from the local record when its header hash matches L1, else from the
   ``BatchAppended`` event). So a restart, a second submitter or an L1 reorg that drops our
   ``appendBatch`` never produces a gap or a duplicate: the contract accepts only
   ``index == nextIndex`` and we always rebuild that index from what L1 says.
3. **Close a batch** of whole blocks once it holds ``max_batch_txs`` transactions or its
   oldest block is ``batch_timeout_ms`` old; compute MTTBR, MTSR, withdrawal root and the
   batch data (docs/spec.md "Batch commitments"); put the data in the blob store (and the
   local snapshot dir); one FROST round over the set (its absence bitmap: who gave no
   commitment); ``appendBatch`` (``appendBatchAbsent`` when someone was absent).
4. **Submitter check** (seed §8): re-read the stored header hash from L1, download the data
   from the blob store, recompute the roots and compare; the result is in the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from offchain.common import merkle
from offchain.common.daemon import Daemon
from offchain.common.hashing import keccak
from offchain.errors import L2KitError, TxReverted
from offchain.rollup.batcher.plan import (
    BuiltBatch,
    build_batch,
    check_roots,
)
from offchain.rollup.l1.bindings import AnswerKind, DataMode, RollupL1
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_data import decode_batch_data
from offchain.rollup.ledger.blobs import (
    MAX_BLOBS_PER_TX,
    answer_blobs,
    commitment_hashes,
    preload_trusted_setup,
    sidecar_of,
    sidecar_of_blobs,
)
from offchain.rollup.ledger.compact import BatchDataError, pack_chunks
from offchain.rollup.node.config import BatcherConfig, daemon_loop
from offchain.rollup.node.errors import BatchError
from offchain.rollup.node.node import SequencerNode

if TYPE_CHECKING:
    from offchain.rollup.batcher.spam import SpamWatch

log = structlog.get_logger("rollup.batcher")

ZERO32 = b"\x00" * 32

# Store meta key: the last L1 block scanned for BatchesInvalidated events.
_CURSOR_KEY = "l1_invalidation_cursor"


@dataclass(frozen=True)
class Cosigned:
    """What a co-signing round produced for a batch.

    Attributes:
        signatures: the ``bytes[]`` of ``appendBatch`` (one FROST signature).
        absent: the absence bitmap they sign (bit i: member i of ``activeSigners()`` gave no
            commitment; 0: ``appendBatch`` over ``batchDigest``, else ``appendBatchAbsent``
            over ``batchDigestAbsent``).
    """

    signatures: list[bytes]
    absent: int = 0


# Collects co-signatures: (header, digest with nobody absent) -> the round's signature/bitmap.
Cosigner = Callable[[BatchHeader, bytes], Cosigned]


def answer_with_blobs(l1: RollupL1, header: BatchHeader, frame: bytes) -> int:
    """Answer a Storage-mode data request with the blobs ``header.blobs_hash`` commits
    (docs/spec.md, "Data-availability answer in blobs"): :data:`MAX_BLOBS_PER_TX` per type-3
    ``provideBlobs`` transaction, skipping blobs already posted. Returns the transactions sent.

    Raises:
        BatchError: ``frame``'s blobs are not the ones the header commits.
    """
    blobs = answer_blobs(frame)
    hashes = commitment_hashes(blobs)
    if keccak(b"".join(hashes)) != header.blobs_hash:
        raise BatchError(f"batch {header.index}: the stored data is not the blobs committed")
    done = l1.blobs_received(header)
    sent = 0
    first = 0
    while first < len(blobs):
        if first in done:
            first += 1
            continue
        last = first
        while last < len(blobs) and last - first < MAX_BLOBS_PER_TX and last not in done:
            last += 1
        l1.provide_blobs(header, hashes, first, sidecar_of_blobs(blobs[first:last]))
        sent += 1
        first = last
    return sent


class Batcher(Daemon):
    """The batch-submitter daemon of one node.

    Args:
        node: the node whose blocks it batches.
        l1: the rollup's L1 bindings, writing with the node's signer.
        bridge: the L1Bridge contract (for ``depositHashAt``).
        blobs: the blob store client (``put``/``get``).
        cosign: collects co-signatures for a header's digest.
        spam: seed §11.6.1's spam check (:class:`~offchain.rollup.batcher.spam.SpamWatch`), run
            every tick, or None.
        config: batcher parameters.
    """

    name = "l2-batcher"

    def __init__(
        self,
        node: SequencerNode,
        l1: RollupL1,
        bridge: Any,
        blobs: Any,
        cosign: Cosigner,
        config: BatcherConfig,
        spam: SpamWatch | None = None,
    ) -> None:
        super().__init__(
            daemon_loop(config),
            log=log,
        )
        self.node = node
        self.l1 = l1
        self.bridge = bridge
        self.blobs = blobs
        preload_trusted_setup()  # every batch's data commitment needs KZG (Storage, Blobs)
        self.cosign = cosign
        self.config = config
        self.fault: Any = None  # offchain.rollup.batcher.faults.Fault (devnet/tests only)
        self.spam = spam  # §11.6.1: proposes to ban a verifier that spams requests (or None)
        self.submitted = 0
        self.last_check: dict[str, Any] = {}
        self._header_cache: dict[tuple[int, bytes], BatchHeader] = {}
        try:
            self._metrics(node.metrics.registry)
        except ValueError:  # a second batcher on the same node: its own registry
            self._metrics(CollectorRegistry())

    def _metrics(self, reg: CollectorRegistry) -> None:
        self.m_batches = Counter("l2_batches_submitted", "batches appended on L1", registry=reg)
        self.m_check = Counter("l2_batch_submitter_checks", "§8 checks", ["result"], registry=reg)
        self.m_l1_index = Gauge("l2_l1_next_index", "StateCommitment.nextIndex", registry=reg)

    # -------------------------------------------------------------- L1 view
    def _l1_header(self, index: int) -> BatchHeader:
        """Header of the valid batch ``index`` on L1 (local record if it matches, else event)."""
        stored = self.l1.stored_header_hash(index)
        cached = self._header_cache.get((index, stored))
        if cached is not None:
            return cached
        rec = self.node.store.batch(index)
        header: BatchHeader | None = None
        if rec is not None:
            h = BatchHeader.from_json(rec["header"])
            if h.hash() == stored:
                header = h
        if header is None:
            header = self.l1.get_header_from_event(index)
            if header.hash() != stored:
                raise BatchError(
                    f"no BatchAppended event for batch {index} matches L1's stored hash"
                )
        self._header_cache[(index, stored)] = header
        return header

    def covered_block(self, next_index: int) -> tuple[int, bytes | None]:
        """Last L2 block covered by valid batches before ``next_index``, and their final root."""
        if next_index == 0:
            return 0, None
        h = self._l1_header(next_index - 1)
        return h.first_block + h.l2_blocks - 1, h.final_state_root

    def _invalidations_since(self, cursor: int, to_block: int) -> list[tuple[int, int, int]]:
        """``BatchesInvalidated`` events in L1 blocks ``cursor+1..to_block``, in order.

        Returns:
            ``(block, log index, fromIndex)`` per event.
        """
        # StateCommitment.sol: event BatchesInvalidated(uint256 indexed fromIndex,
        # uint256 toIndex, address indexed by)
        logs = self.l1.sc.events.BatchesInvalidated.get_logs(
            from_block=cursor + 1, to_block=to_block
        )
        out = [
            (int(lg["blockNumber"]), int(lg["logIndex"]), int(lg["args"]["fromIndex"]))
            for lg in logs
        ]
        return sorted(out)

    def _first_unmatched(self, index: int, next_index: int) -> int:
        """First index >= ``index`` whose local batch record is not the valid batch on L1.

        Batch ``index - 1`` is valid (``index <= nextIndex``); when the event is processed
        late and this node already resubmitted batches from ``index`` on, those stay.
        """
        while index < next_index:
            rec = self.node.store.batch(index)
            if rec is None:
                break
            if not self.l1.header_matches(index, BatchHeader.from_json(rec["header"]).hash()):
                break
            index += 1
        return index

    def sync_invalidations(self) -> int | None:
        """Roll the node back when L1 invalidated batches (seed §11.14, §3.3.6.3).

        Driven by L1 facts, not by what this node happened to observe: every
        ``BatchesInvalidated(fromIndex, ..)`` event after the persisted cursor (store meta
        ``l1_invalidation_cursor``: the last L1 block scanned) rolls the node back to the last
        block of batch ``fromIndex - 1`` (dropping every later block; the current sequencer
        re-executes the users' transactions). So a batch appended and invalidated between two
        polls still triggers its rollback, each event triggers exactly one (the cursor survives
        restarts), a later invalidation at the same index triggers another, and an L1 reorg
        that merely drops a batch (no event) triggers none: the batch is simply resubmitted.
        Returns the block rolled back to (the last one, if several), if any.
        """
        next_index = self.l1.next_index()
        self.m_l1_index.set(next_index)
        covered, _ = self.covered_block(next_index)
        self.node.l1_floor = covered
        store = self.node.store
        last = store.last_batch()
        if last is not None and last["index"] >= next_index:
            # An L1 reorg removed them (or their append failed): statuses show what L1 holds
            # now; this tick rebuilds batch `next_index` from the same blocks.
            store.delete_batches_from(next_index)
            log.warning("batches_not_on_l1", from_index=next_index, last=last["index"])
        latest = int(self.l1.sc.w3.eth.block_number)
        raw = store.get_meta(_CURSOR_KEY)
        cursor = int(raw) if raw is not None else max(self.l1.from_block - 1, -1)
        if latest <= cursor:
            if latest < cursor:  # L1 rewound (reorg / devnet revert): follow its new head
                store.set_meta(_CURSOR_KEY, str(latest))
            return None
        rolled: int | None = None
        for block, _log_index, from_index in self._invalidations_since(cursor, latest):
            first_bad = self._first_unmatched(min(from_index, next_index), next_index)
            target, _ = self.covered_block(first_bad)
            store.delete_batches_from(first_bad)
            out = self.node.rollback_to(target)
            rolled = target
            log.warning(
                "rolled_back_after_invalidation",
                from_index=from_index,
                l1_block=block,
                to_block=target,
                **out,
            )
        store.set_meta(_CURSOR_KEY, str(latest))
        return rolled

    # --------------------------------------------------------------- batching
    def plan(self, first_block: int) -> tuple[int, bool] | None:
        """Last block of the next batch starting at ``first_block``, and whether it is due."""
        head = self.node.head
        if head < first_block:
            return None
        txs = 0
        last = first_block - 1
        oldest_ms: int | None = None
        for b in self.node.store.blocks(first_block, head):
            if txs and txs + b.header.tx_count > self.config.max_batch_txs:
                break
            txs += b.header.tx_count
            last = b.number
            oldest_ms = oldest_ms or b.header.timestamp_ms
            if txs >= self.config.max_batch_txs:
                return last, True
        if last < first_block:
            return None
        age_ms = time.time() * 1000 - (oldest_ms or 0)
        return last, age_ms >= self.config.batch_timeout_ms

    def answer_data_requests(self) -> list[int]:
        """Seed §11.8: post the data of our batches that a verifier asked for on L1."""
        if self.l1.da is None:
            return []
        from offchain.rollup.l1.bindings import RequestStatus

        answered = []
        me = self.node.address
        for idx in self.l1.sc.functions.openDataRequests().call():
            req = self.l1.data_request(int(idx))
            if req.status != RequestStatus.OPEN or req.sequencer.lower() != me:
                continue
            rec = self.node.store.batch(int(idx))
            blob = self.node.store.batch_data(int(idx))
            if rec is None or blob is None:
                continue
            header = BatchHeader.from_json(rec["header"])
            if header.hash() != req.header_hash:
                continue
            if self.fault is not None and not self.fault.answers_data_request():
                log.warning("fault_withholding_data", index=idx)
                continue
            sent = 0
            if header.blobs_hash != ZERO32 and self.l1.answer_kind(header) == AnswerKind.NONE:
                try:
                    sent = answer_with_blobs(self.l1, header, blob)
                except BatchError as e:  # committed blobs we do not hold: chunks answer too
                    log.error("blob_answer_impossible", index=idx, error=e.message)
            if sent:
                log.info("data_provided_on_l1", index=idx, txs=header.tx_count, blob_txs=sent)
            else:
                data = decode_batch_data(blob)
                done = self.l1.chunks_received(header)
                chunks = pack_chunks(data.packed_batch())
                for j, packed in enumerate(chunks):  # any order; each within 2^24 gas and 128 kB
                    if j not in done:
                        self.l1.provide_chunk(header, j, packed)
                log.info("data_provided_on_l1", index=idx, txs=header.tx_count, chunks=len(chunks))
            answered.append(int(idx))
        return answered

    def tick(self) -> dict[str, Any]:
        """One round (see the module docstring). Returns what it did."""
        self.sync_invalidations()
        self.answer_data_requests()
        if self.spam is not None:
            try:
                self.spam.tick()
            except Exception as e:  # never let the spam check hold batches back
                log.warning("spam_watch_failed", error=str(e)[:200])
        if not self.node.is_current():
            self.waiting = None
            return {"action": "not_current"}
        next_index = self.l1.next_index()
        covered, _ = self.covered_block(next_index)
        plan = self.plan(covered + 1)
        if plan is None or not plan[1]:
            self.waiting = None
            return {"action": "wait", "next_index": next_index}
        self.waiting = f"batch {next_index} (blocks {covered + 1}..{plan[0]}) due"
        mode = self.l1.data_mode()
        last = plan[0]
        while True:
            try:
                built = build_batch(
                    self.node, next_index, covered + 1, last, self._deposit_hash, mode
                )
                break
            except BatchDataError:
                if last == covered + 1:
                    raise  # one block too large for a transaction's blobs: never happens
                last = covered + (last - covered) // 2  # fewer blocks, so the blobs fit
        return self.submit(built)

    def _deposit_hash(self, count: int) -> bytes:
        return bytes(self.bridge.functions.depositHashAt(count).call())

    def submit(self, built: BuiltBatch) -> dict[str, Any]:
        """Store the data, collect signatures, append on L1, then run the §8 check."""
        header, blob = built.header, built.data
        publish = True
        if self.fault is not None:
            header, blob, publish = self.fault.corrupt(self, built)
        self.node.store.put_batch(
            header.index,
            built.first_block,
            built.last_block,
            {"header": header.to_json(), "status": "built", "at": time.time()},
            blob,
        )
        sidecar = built.sidecar
        if built.mode == DataMode.BLOBS and blob != built.data:  # a fault changed the data
            sidecar = sidecar_of(blob)
            if header.data_hash == keccak(blob):
                header = replace(header, data_hash=sidecar.data_hash)
        if built.mode == DataMode.BLOBS and self.fault is not None and sidecar is not None:
            bad = self.fault.blobs(sidecar)  # bad_blobs: blobs that do not decode
            if bad is not sidecar:
                sidecar, header = bad, replace(header, data_hash=bad.data_hash)
        if publish and built.mode != DataMode.BLOBS:
            key = self.blobs.put(blob)
            if bytes.fromhex(key.removeprefix("0x")) != keccak(blob):
                raise BatchError(f"blob store returned key {key}, expected the data hash")
        if self.config.snapshot_dir and publish:
            snap = Path(self.config.snapshot_dir)
            snap.mkdir(parents=True, exist_ok=True)
            (snap / f"0x{header.data_hash.hex()}").write_bytes(blob)
        digest = self.l1.digest(header)
        signed = (
            self.fault.sign(self, header, digest) if self.fault else self.cosign(header, digest)
        )
        try:
            rcpt = self.l1.append_batch(
                header,
                signed.signatures,
                blobs=sidecar if built.mode == DataMode.BLOBS else None,
                frame=blob if built.mode == DataMode.CALLDATA else None,
                absent=signed.absent,
            )
        except BaseException as e:
            if self.fault is not None and (blob, publish) != (built.data, True):
                self.fault.fired -= 1  # the corrupted batch did not land: try again next time
            if not isinstance(e, TxReverted):
                raise
            if e.error_name in ("StateCommitmentWrongIndex", "StateCommitmentNotCurrentSequencer"):
                # Someone else appended this index, or we were rotated out: rebuild next tick.
                log.info("append_lost_race", index=header.index, error=e.error_name)
                return {"action": "lost_race", "index": header.index, "error": e.error_name}
            raise
        self.submitted += 1
        self.m_batches.inc()
        check = self.submitter_check(header)
        self.node.store.put_batch(
            header.index,
            built.first_block,
            built.last_block,
            {
                "header": header.to_json(),
                "status": "submitted",
                "l1_tx": "0x" + bytes(rcpt["transactionHash"]).hex(),
                "l1_block": int(rcpt["blockNumber"]),
                "gas_used": int(rcpt["gasUsed"]),
                "check": check,
                "at": time.time(),
            },
        )
        log.info(
            "batch_appended",
            index=header.index,
            blocks=f"{built.first_block}..{built.last_block}",
            txs=header.tx_count,
            gas=int(rcpt["gasUsed"]),
            absent=hex(signed.absent),
            check=check["result"],
        )
        return {
            "action": "appended",
            "index": header.index,
            "txs": header.tx_count,
            "gas": int(rcpt["gasUsed"]),
            "absent": signed.absent,
        }

    def submitter_check(self, header: BatchHeader) -> dict[str, Any]:
        """Seed §8: re-read the header hash from L1, download the data, recompute, compare."""
        out: dict[str, Any] = {"index": header.index}
        try:
            on_l1 = self.l1.stored_header_hash(header.index)
            if on_l1 != header.hash():
                out.update(result="mismatch", diff=["headerHash"])
            else:
                mode = self.l1.data_mode()
                if mode == DataMode.STORAGE:
                    blob = self.blobs.get("0x" + header.data_hash.hex())
                else:  # the data is on L1 (blobs or calldata): check what we published
                    stored = self.node.store.batch_data(header.index)
                    blob = stored if stored is not None else b""
                diff = check_roots(header, blob, check_hash=mode != DataMode.BLOBS)
                out.update(result="match" if not diff else "mismatch", diff=diff)
        except L2KitError as e:
            out.update(result="unavailable", error=str(e))
        self.m_check.labels(out["result"]).inc()
        self.last_check = out
        return out

    # ------------------------------------------------------------- proofs
    def withdrawal_proof(self, tx_hash: bytes) -> dict[str, Any] | None:
        """Proof that withdrawal ``tx_hash`` is item ``i`` of its batch's withdrawal root."""
        row = self.node.store.receipt(tx_hash)
        if row is None or row.block is None:
            return None
        rec = self._batch_of_block(row.block)
        if rec is None:
            return None
        header = BatchHeader.from_json(rec["header"])
        rows = self.node.store.executed(rec["first_block"], rec["last_block"])
        hashes = [r[0] for r in rows]
        i = hashes.index(tx_hash)
        items = [r[2] for r in rows]
        if items[i] == ZERO32:
            return None
        block = self.node.store.block(row.block)
        assert block is not None
        l1_recipient, token, amount = self.node.executor.withdrawal_of(block.txs[row.index or 0])
        return {
            "batchIndex": header.index,
            "txIndex": i,
            "txHash": "0x" + tx_hash.hex(),
            "l1Recipient": l1_recipient,
            "token": token,
            "amount": str(amount),
            "withdrawalItem": "0x" + items[i].hex(),
            "proof": ["0x" + p.hex() for p in merkle.MerkleTree(items).proof(i)],
            "header": header.to_json(),
            "status": rec.get("status"),
        }

    def _batch_of_block(self, block: int) -> dict[str, Any] | None:
        last = self.node.store.last_batch()
        if last is None:
            return None
        for idx in range(last["index"], -1, -1):
            rec = self.node.store.batch(idx)
            if rec is not None and rec["first_block"] <= block <= rec["last_block"]:
                return rec if rec.get("status") == "submitted" else None
        return None

    # -------------------------------------------------------------- daemon
    def busy(self, out: Any) -> bool:
        return isinstance(out, dict) and out.get("action") == "appended"

    def health(self) -> dict[str, Any]:
        return {
            "health": self.part_health().to_json(),
            "alive": self.alive,
            "submitted": self.submitted,
            "failures": self.failures_in_row,
            "last_error": self.last_error or "",
            "last_check": self.last_check,
            "spam_watch": None if self.spam is None else self.spam.status(),
        }
