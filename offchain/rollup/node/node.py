"""The sequencer node: accepts, executes, seals, propagates and imports L2 blocks.

One :class:`SequencerNode` per sequencer. When it is the current sequencer it executes
each accepted submission at once (an invalid one is refused with the ledger's reason and
never reaches a block), seals pending transactions into signed blocks (the producer thread
calls :meth:`SequencerNode.seal_block`) and pushes them to its peers. When it is not
current it forwards submissions to the current sequencer's node and imports the blocks it
receives, re-executing them and checking the signature and the state root.

Everything it produced or accepted is in its sqlite store; on start it re-executes the
stored blocks to rebuild the L2 state, so a restarted node resumes where it stopped.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog

from offchain.common import merkle
from offchain.rollup.node.block import ZERO32, Block, BlockHeader, recover, sign_block
from offchain.rollup.node.config import NodeConfig
from offchain.rollup.node.deposits import DepositSource
from offchain.rollup.node.errors import (
    KNOWN_TX,
    MEMPOOL_FULL,
    NO_CURRENT_SEQUENCER,
    BlockInvalid,
    RollupNodeError,
    TxInvalid,
)
from offchain.rollup.node.execution import Applied, Executor
from offchain.rollup.node.l1view import L1BatchView, OwnRecords
from offchain.rollup.node.mempool import Mempool, PendingTx
from offchain.rollup.node.metrics import NodeMetrics
from offchain.rollup.node.peers import CurrentSequencer, PeerSet
from offchain.rollup.node.store import NodeStore, ReceiptRow

log = structlog.get_logger("rollup.node")

DROPPED = "dropped: resend"


class SequencerNode:
    """One sequencer node (see the module docstring).

    Args:
        config: node parameters.
        signer_key: 32-byte private key of this sequencer's signer.
        executor_factory: returns a fresh :class:`Executor` at genesis.
        store: the node's persistent store.
        current: who is the current sequencer.
        peers: where the other nodes are.
        deposits: source of L1 deposits.
    """

    def __init__(
        self,
        config: NodeConfig,
        signer_key: bytes,
        executor_factory: Callable[[], Executor],
        store: NodeStore,
        current: CurrentSequencer,
        peers: PeerSet,
        deposits: DepositSource | None = None,
    ) -> None:
        from coincurve import PrivateKey

        from offchain.rollup.node.block import address_of

        self.config = config
        self._key = signer_key
        self.address = address_of(PrivateKey(signer_key).public_key)
        self._factory = executor_factory
        self.executor = executor_factory()
        self.store = store
        self.current = current
        self.peers = peers
        self.deposits = deposits or DepositSource()
        peers.source = store.block
        self.mempool = Mempool(config.max_mempool)
        self.metrics = NodeMetrics()
        self.fault_hook: Callable[[Block], Block] | None = None  # faults.py only
        self._lock = threading.RLock()
        self._head = 0
        self._head_hash = ZERO32
        self._next_deposit_id = 0
        self.l1_floor = 0  # last block covered by a valid L1 batch (set by the batcher)
        self.l1_view: L1BatchView | None = None  # what the status reads of L1
        #: Faulty mode ``censor`` (devnet/tests only): queue items it returns True for are
        #: never included (offchain.rollup.batcher.faults.Fault.censors).
        self.censor: Callable[[bytes], bool] | None = None
        self._sealed = threading.Condition()
        self.started_at = time.time()
        self._handoff: list[bytes] = []  # unsealed txs to pass to the new current sequencer
        self.reclaim_due = False  # sealed a block since the last check against a new sequencer
        self._forwarded: OrderedDict[bytes, str] = OrderedDict()  # tx hash -> forwarded to
        self._sealed_cp: Any = None
        self._replay()
        self._mark_sealed()

    # ------------------------------------------------------------------ state
    @property
    def head(self) -> int:
        return self._head

    @property
    def head_hash(self) -> bytes:
        return self._head_hash

    @property
    def next_deposit_id(self) -> int:
        return self._next_deposit_id

    def is_current(self) -> bool:
        return self.current.get() == self.address

    def _mark_sealed(self) -> None:
        """The executor's state is exactly the head block's: remember it, drop undo data."""
        cp = self.executor.checkpoint()
        self.executor.commit(cp)
        self._sealed_cp = cp

    def _unwind_pending(self) -> None:
        """Undo unsealed transactions (this node stopped being current); keep them to hand off."""
        pending = self.mempool.take()
        if not pending:
            return
        self.executor.rollback(self._sealed_cp)
        self._handoff += [p.raw for p in pending if not self.executor.is_queue_item(p.raw)]
        head = self.store.block(self._head) if self._head else None
        self._next_deposit_id = head.header.next_deposit_id if head is not None else 0
        self.metrics.mempool.set(0)

    def handoff_pending(self) -> int:
        """Forward transactions accepted while this node was current, but not sealed, to the
        sequencer that is current now; those it refuses get ``dropped: resend``."""
        with self._lock:
            if self.is_current():
                return 0
            self._unwind_pending()
            raws, self._handoff = self._handoff, []
        if not raws:
            return 0
        cur = self.current.get()
        refused = self.peers.forward_transactions(cur or "", raws)
        dropped = [self.executor.tx_hash(raw) for raw in refused]
        self.store.mark_dropped(dropped, DROPPED)
        log.warning(
            "pending_handed_off", to=cur, forwarded=len(raws) - len(dropped), dropped=len(dropped)
        )
        return len(raws)

    def reclaim_orphaned_blocks(self) -> int:
        """After a rotation, take back our blocks the new current sequencer never accepted.

        A block sealed as L1 rotated reaches the peers after it, and they refuse it (they accept
        blocks only from the L1 current sequencer), so without this its user transactions would
        be lost without a word. Once the current sequencer's node reports itself current (from
        then on it refuses our blocks for good), our blocks above its head, if our chain agrees
        with its head and no valid L1 batch covers them, are rolled back and their user
        transactions queued for :meth:`handoff_pending`.

        Returns:
            How many blocks were rolled back (0: nothing to reclaim or not decidable yet; then
            :attr:`reclaim_due` stays set and the producer asks again).
        """
        cur = self.current.get()
        if cur is None or cur == self.address or self.peers.url_of(cur) is None:
            self.reclaim_due = cur is None
            return 0
        try:
            st = self.peers.forward(
                cur, {"jsonrpc": "2.0", "id": 1, "method": "l2_status", "params": []}
            )["result"]
            their_head, their_hash = int(st["head"]), str(st["headHash"])
            switched = bool(st["isCurrent"])
        except Exception as e:  # noqa: BLE001 - unreachable or not switched yet: ask again
            log.info("reclaim_status_failed", to=cur, error=str(e))
            return 0
        if not switched:
            return 0  # it may still accept our late blocks
        with self._lock:
            if self.is_current():
                return 0
            self.reclaim_due = False
            if their_head >= self._head or their_head < self.l1_floor:
                return 0
            mine = self.store.block(their_head) if their_head else None
            if "0x" + (mine.hash() if mine is not None else ZERO32).hex() != their_hash:
                return 0  # chains differ below: its blocks replace ours when they arrive
            if any(
                b.header.producer != self.address
                for b in self.store.blocks(their_head + 1, self._head)
            ):
                return 0  # not only ours above its head (e.g. its newer block just imported)
            n = self._head - their_head
            self.rollback_to(their_head, reexecute=False, handoff=True)
        log.warning("orphaned_blocks_reclaimed", blocks=n, to=cur, from_block=their_head + 1)
        return n

    def _replay(self) -> None:
        """Rebuild the state by re-executing every stored block (restart)."""
        t0 = time.perf_counter()
        n = 0
        for block in self.store.blocks(1, self.store.head()):
            for raw in block.txs:
                self.executor.apply(raw, block.header.producer)
                n += 1
            root = self.executor.state_root()
            if root != block.header.state_root:
                raise RollupNodeError(
                    -32603,
                    f"stored block {block.number} does not re-execute to its state root",
                    hint="the node database is corrupt or from another chain; move it away",
                )
            self._head, self._head_hash = block.number, block.hash()
            self._next_deposit_id = block.header.next_deposit_id
        self.metrics.head.set(self._head)
        if self._head:
            log.info(
                "node_resumed", head=self._head, txs=n, seconds=round(time.perf_counter() - t0, 3)
            )

    # ------------------------------------------------------------- submission
    def submit(self, raw: bytes, decoded: Any = None, wait_first_s: float = 0.0) -> bytes:
        """Accept a signed user transaction: execute it now, seal it in the next block.

        Decoding (a standard transaction's signer recovery included) happens before the
        node's lock is taken; a transaction already stored is refused by its used nonce, and
        reported "already known" from the store.

        Args:
            raw: the ledger encoding.
            decoded: ``raw`` already decoded (``Executor.decode``), if the caller has it.
            wait_first_s: when the mempool was empty (no block is due yet, so none might
                follow this one), wait up to this long until the transaction is sealed before
                returning: a wallet that then polls for its receipt and waits for new blocks
                finds it at once, on a chain that makes no empty blocks.

        Returns:
            The transaction hash.

        Raises:
            TxInvalid: the ledger refuses it (reason in ``.reason``).
            RollupNodeError: duplicate, mempool full, or this node is not current.
        """
        tx_hash, first = self.accept(raw, decoded)
        if first and wait_first_s > 0:
            self.wait_sealed(tx_hash, wait_first_s)
        return tx_hash

    def accept(self, raw: bytes, decoded: Any = None) -> tuple[bytes, bool]:
        """:meth:`submit` without the wait: the transaction hash, and whether the mempool was
        empty before it (the caller may then :meth:`wait_sealed`).

        Raises:
            TxInvalid: as :meth:`submit`.
            RollupNodeError: as :meth:`submit`.
        """
        if self.executor.is_queue_item(raw):
            raise TxInvalid(
                "malformed",
                "deposits and forced transactions come from the L1 bridge queue, not from users",
            )
        tx = decoded if decoded is not None else self.executor.decode(raw)
        tx_hash = self.executor.tx_hash_of(raw, tx)
        with self._lock:
            if self.mempool.full():
                self.metrics.rejected.labels("mempool_full").inc()
                raise RollupNodeError(MEMPOOL_FULL, "mempool is full; retry shortly")
            if tx_hash in self.mempool:
                self.metrics.rejected.labels("known").inc()
                raise RollupNodeError(KNOWN_TX, f"transaction 0x{tx_hash.hex()} is already known")
            try:
                applied = self.executor.apply(raw, self.address, tx)
            except TxInvalid as e:
                # A stored transaction used its nonce: only a refused one can be "known" (so
                # the store is read on refusals, not on every submission).
                row = self.store.receipt(tx_hash) if e.reason == "wrong_nonce" else None
                if row is not None and row.status != DROPPED:
                    self.metrics.rejected.labels("known").inc()
                    raise RollupNodeError(
                        KNOWN_TX, f"transaction 0x{tx_hash.hex()} is already known"
                    ) from None
                self.metrics.rejected.labels(e.reason).inc()
                raise
            first = len(self.mempool) == 0
            self._add_pending(applied, raw)
        self.metrics.accepted.inc()
        return tx_hash, first

    def wait_sealed(self, tx_hash: bytes, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` until ``tx_hash`` has left the mempool (sealed)."""
        deadline = time.monotonic() + timeout_s
        with self._sealed:
            while tx_hash in self.mempool and time.monotonic() < deadline:
                self._sealed.wait(0.02)

    def _add_pending(self, applied: Applied, raw: bytes) -> None:
        self.mempool.add(PendingTx(applied, raw, time.monotonic()))
        self.metrics.mempool.set(len(self.mempool))

    def note_forwarded(self, tx_hash: bytes, to: str) -> None:
        """Remember where a submission was forwarded (its receipt is asked there until ours)."""
        with self._lock:
            self._forwarded[tx_hash] = to
            while len(self._forwarded) > self.config.max_mempool:
                self._forwarded.popitem(last=False)

    def forwarded_to(self, tx_hash: bytes) -> str | None:
        with self._lock:
            return self._forwarded.get(tx_hash)

    def not_current_error(self) -> RollupNodeError:
        cur = self.current.get()
        return RollupNodeError(
            NO_CURRENT_SEQUENCER,
            f"this node is not the current sequencer and cannot reach the current one ({cur})",
            hint="retry shortly; the sequencer set may be rotating",
        )

    # ---------------------------------------------------------------- sealing
    def _include_deposits(self) -> int:
        """Execute L1 queue items (deposits and forced txs) in id order, none skipped, while
        the source has the next one. A forced tx pays its fee to this producer; an invalid one
        is consumed with a failed receipt."""
        n = 0
        while True:
            raw = self.deposits.get(self._next_deposit_id)
            if raw is None:
                return n
            if self.censor is not None and self.censor(raw):
                return n  # faulty mode `censor` (devnet/tests only): the queue stops here
            applied = self.executor.apply(raw, self.address)  # in order: never refused
            self._add_pending(applied, raw)
            self._next_deposit_id += 1
            n += 1

    def seal_due(self) -> bool:
        """True when the pending transactions should be sealed now."""
        oldest = self.mempool.oldest_at()
        if oldest is None:
            return False
        return (
            len(self.mempool) >= self.config.max_block_txs
            or (time.monotonic() - oldest) * 1000 >= self.config.block_time_ms
        )

    def seal_block(self, include_deposits: bool = True) -> Block | None:
        """Seal the pending transactions (and new deposits) into a signed block; push it to peers.

        Returns:
            The new block, or None when there was nothing to seal.
        """
        t0 = time.perf_counter()
        # Never seal on a stale "I am current": an answer at most two follow periods old (the
        # follower keeps it fresh in the background; without one, a read of L1 now).
        fs = self.current.follow_s
        if self.current.fresh(2 * fs if fs else 0.0) != self.address:
            return None
        with self._lock:
            if include_deposits:
                self._include_deposits()
            pending = self.mempool.take()
            self.metrics.mempool.set(0)
            if not pending:
                return None
            header = BlockHeader(
                number=self._head + 1,
                parent_hash=self._head_hash,
                timestamp_ms=int(time.time() * 1000),
                tx_root=merkle.root([p.applied.leaf for p in pending]),
                state_root=self.executor.state_root(),
                tx_count=len(pending),
                next_deposit_id=self._next_deposit_id,
                producer=self.address,
            )
            block = sign_block(header, self._key, [p.raw for p in pending])
            block.tx_hashes = [p.applied.tx_hash for p in pending]
            if self.fault_hook is not None:
                block = self.fault_hook(block)
            self.store.put_block(block, [p.applied for p in pending])
            self._head, self._head_hash = block.number, block.hash()
            self._mark_sealed()
            self.reclaim_due = True
            self.metrics.head.set(self._head)
            self.metrics.blocks.labels("produced").inc()
        with self._sealed:
            self._sealed.notify_all()
        self.metrics.seal_s.observe(time.perf_counter() - t0)
        self.peers.broadcast(block)
        return block

    def sync_from_current(self, upto: int, timeout_s: float = 5.0) -> None:
        """Pull blocks ``head+1..upto`` from the current sequencer's node and import them
        (a follower that missed pushes, e.g. while restarting or rolling back)."""
        deadline = time.monotonic() + timeout_s
        cur = self.current.get()
        if cur is None or cur == self.address or self.peers.url_of(cur) is None:
            return
        while self._head < upto and time.monotonic() < deadline:
            try:
                ans = self.peers.forward(
                    cur,
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "l2_getBlock",
                        "params": [self._head + 1, True],
                    },
                )
                if not ans.get("result"):
                    return
                self.import_block(Block.from_json(ans["result"]))
            except BlockInvalid as e:
                if e.reason != "conflict":
                    return
                time.sleep(0.1)  # our batcher has not rolled back yet
            except Exception as e:  # noqa: BLE001 - best effort; the caller reports the outcome
                log.info("sync_from_current_failed", error=str(e))
                return

    def wait_for_block(self, number: int, timeout_s: float) -> bool:
        """Wait until block ``number`` is stored (sealed or imported)."""
        deadline = time.monotonic() + timeout_s
        with self._sealed:
            while self._head < number:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._sealed.wait(min(left, 0.05))
        return True

    # ---------------------------------------------------------------- import
    def import_block(self, block: Block) -> None:
        """Re-execute a peer's block and store it if it checks out.

        Raises:
            BlockInvalid: bad signature or producer, wrong parent or number, an invalid
                transaction, or a transaction/state root that differs from re-execution.
        """
        h = block.hash()
        with self._lock:
            if block.number <= self._head:
                mine = self.store.block(block.number)
                if mine is not None and mine.hash() == h:
                    return  # already have it (idempotent re-delivery)
                if not self._may_replace(block, h):
                    raise BlockInvalid(
                        f"block {block.number} conflicts with the stored one", "conflict"
                    )
                # The current sequencer's chain wins (after an L1 invalidation, §11.14, or a
                # block we sealed as the rotation happened): ours is dropped, its user txs are
                # handed to the current sequencer.
                self.rollback_to(block.number - 1, reexecute=False, handoff=True)
            if block.number != self._head + 1:
                raise BlockInvalid(
                    f"block {block.number} does not follow the head {self._head}", "gap"
                )
            if block.header.parent_hash != self._head_hash:
                raise BlockInvalid(f"block {block.number} has the wrong parent hash", "parent")
            signer = recover(h, block.signature)
            if signer is None or signer != block.header.producer.lower():
                self.metrics.refused_blocks.labels("signature").inc()
                raise BlockInvalid(
                    f"block {block.number}: signature does not match producer "
                    f"{block.header.producer}",
                    "signature",
                )
            if signer != self.current.get():
                self.current.invalidate()  # a rotation may be newer than our cached answer
                if signer != self.current.get():
                    self.metrics.refused_blocks.labels("producer").inc()
                    raise BlockInvalid(
                        f"block {block.number} was produced by {signer}, "
                        "who is not the current sequencer",
                        "producer",
                    )
            if block.header.tx_count != len(block.txs):
                raise BlockInvalid(f"block {block.number}: tx count mismatch", "tx_count")
            self._unwind_pending()
            self._check_and_store(block, origin="imported")

    def _may_replace(self, block: Block, h: bytes) -> bool:
        """A block may replace our block at its height only when the current sequencer signed
        it, it builds on our parent and that height is not covered by a valid L1 batch."""
        signer = recover(h, block.signature)
        if signer is None or signer != block.header.producer:
            return False
        if signer != self.current.get():
            self.current.invalidate()  # a rotation may be newer than our cached answer
            if signer != self.current.get():
                return False
        if block.number - 1 < self.l1_floor:
            return False
        parent = self.store.block(block.number - 1) if block.number > 1 else None
        parent_hash = parent.hash() if parent is not None else ZERO32
        return parent_hash == block.header.parent_hash

    def _check_and_store(self, block: Block, origin: str) -> None:
        cp = self.executor.checkpoint()
        try:
            applied: list[Applied] = []
            next_dep = self._next_deposit_id
            for i, raw in enumerate(block.txs):
                if self.executor.is_queue_item(raw):
                    dep_id = self.executor.queue_id(raw)
                    if dep_id != next_dep:
                        raise BlockInvalid(
                            f"block {block.number} tx {i}: deposit {dep_id} out of order "
                            f"(expected {next_dep})",
                            "deposit_order",
                        )
                    known = self.deposits.get(dep_id)
                    if known is not None and known != raw:
                        raise BlockInvalid(
                            f"block {block.number} tx {i}: deposit {dep_id} differs from L1",
                            "deposit_forged",
                        )
                    next_dep += 1
                try:
                    applied.append(self.executor.apply(raw, block.header.producer))
                except TxInvalid as e:
                    raise BlockInvalid(
                        f"block {block.number} tx {i} is invalid: {e.message}", "invalid_tx"
                    ) from None
            if next_dep != block.header.next_deposit_id:
                raise BlockInvalid(f"block {block.number}: next deposit id mismatch", "deposit_id")
            if merkle.root([a.leaf for a in applied]) != block.header.tx_root:
                raise BlockInvalid(f"block {block.number}: transaction root mismatch", "tx_root")
            root = self.executor.state_root()
            if root != block.header.state_root:
                raise BlockInvalid(
                    f"block {block.number}: state root 0x{block.header.state_root.hex()} differs "
                    f"from re-execution 0x{root.hex()}",
                    "state_root",
                )
        except BlockInvalid as e:
            self.executor.rollback(cp)
            self.metrics.refused_blocks.labels(e.reason).inc()
            log.warning("block_refused", number=block.number, reason=e.reason, error=e.message)
            raise
        except BaseException:
            self.executor.rollback(cp)
            raise
        block.tx_hashes = [a.tx_hash for a in applied]
        self.store.put_block(block, applied)
        self._head, self._head_hash = block.number, block.hash()
        self._mark_sealed()
        self._next_deposit_id = next_dep
        self.metrics.head.set(self._head)
        self.metrics.blocks.labels(origin).inc()
        with self._sealed:
            self._sealed.notify_all()

    # --------------------------------------------------------------- rollback
    def rollback_to(
        self, number: int, reexecute: bool = True, handoff: bool = False, force: bool = False
    ) -> dict[str, int]:
        """Roll the L2 back to the end of block ``number`` (after an L1 invalidation).

        Later blocks are dropped; their user transactions get the receipt status
        ``dropped: resend`` (seed §3.3.6.3), or with ``handoff`` are forwarded to the current
        sequencer by the producer loop, unless ``reexecute`` is set and this node is
        current, in which case each is re-executed on the rolled-back state and stays
        pending if still valid. Deposits are re-included from L1 in order.

        Returns:
            Counts of dropped and re-executed transactions.
        """
        with self._lock:
            if number > self._head or (number == self._head and not force):
                return {"dropped": 0, "reexecuted": 0}  # force: re-execute the unsealed ones
            later = [raw for b in self.store.blocks(number + 1, self._head) for raw in b.txs]
            n_sealed = len(later)
            # Unsealed ones too (after the sealed ones, in order): never lost without a receipt.
            later += self._handoff + [p.raw for p in self.mempool.take()]
            self.store.delete_blocks_after(number, DROPPED)
            self.executor = self._factory()
            self._head, self._head_hash, self._next_deposit_id = 0, ZERO32, 0
            self._replay()
            self._mark_sealed()
            self._handoff = (
                [raw for raw in later if not self.executor.is_queue_item(raw)] if handoff else []
            )
            kept: set[bytes] = set()
            self.current.invalidate()  # an invalidation usually rotates the sequencer too
            if reexecute and self.is_current():
                self._include_deposits()  # deposits first, in order, as they were
                for raw in later:
                    if self.executor.is_queue_item(raw):
                        continue
                    try:
                        applied = self.executor.apply(raw, self.address)
                    except TxInvalid:
                        continue
                    self._add_pending(applied, raw)
                    kept.add(applied.tx_hash)
            if not handoff:  # unsealed ones not re-executed: dropped, like the sealed ones
                unsealed = [
                    self.executor.tx_hash(r)
                    for r in later[n_sealed:]
                    if not self.executor.is_queue_item(r)  # re-included from L1
                ]
                self.store.mark_dropped([h for h in unsealed if h not in kept], DROPPED)
            again = len(kept)
        log.warning(
            "node_rolled_back", to_block=number, dropped=len(later) - again, reexecuted=again
        )
        return {"dropped": len(later) - again, "reexecuted": again}

    # ---------------------------------------------------------------- queries
    def receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        with self._lock:
            if tx_hash in self.mempool:
                return ReceiptRow(tx_hash, None, None, "pending", None).to_json()
        row = self.store.receipt(tx_hash)
        return row.to_json() if row else None

    def status(self) -> dict[str, Any]:
        cur = self.current.get()
        batches = (self.l1_view or OwnRecords()).status(self.store)
        return {
            "address": self.address,
            "l2ChainId": self.executor.domain.chain_id,
            "stateCommitment": self.executor.domain.verifying_contract,
            "head": self._head,
            "headHash": "0x" + self._head_hash.hex(),
            "stateRoot": "0x" + self.executor.state_root().hex(),
            "currentSequencer": cur,
            "isCurrent": cur == self.address,
            "mempool": len(self.mempool),
            "nextDepositId": self._next_deposit_id,
            **batches,
            "peers": self.peers.stats(),
            "uptimeS": round(time.time() - self.started_at, 3),
        }

    def stop(self) -> None:
        self.current.stop()
        self.peers.stop()
        self.deposits.stop()
