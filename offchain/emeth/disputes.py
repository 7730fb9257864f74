"""Watching posted Tickets and disputing unbacked ones (docs/spec.md, "Disputes and the bonded
Signer set", "Watchers").

:class:`TicketWatcher` follows EmethCore's ``TicketPosted`` events, fetches each posted
Ticket's published job leaves from the execution layer (``GET /tickets/{id}/leaves``),
checks that they are the posted Ticket (its hash on L1, its ``jobsRoot``), rechecks every leaf
the way ``EmethCore.disputeJob`` / ``disputeDoubleBilling`` do, and, for a Ticket touching its
address (paying it as the node, or billing it as a requester), disputes the first unbacked leaf
within the window. The billing agent runs one for its node each tick; the requester CLI runs
one for its requester (``l2kit emeth tickets watch``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from eth_utils import to_checksum_address

from offchain.emeth.backing import JobBacking, LeafProof, leaf_proof
from offchain.emeth.execution.actions import Domain, recover_actor
from offchain.emeth.execution.subjobs import subjob_id
from offchain.emeth.ticket import EL_SHIFT, Ticket, TicketError
from offchain.errors import TxReverted

if TYPE_CHECKING:
    from offchain.emeth.execution.client import ExecutionClient
    from offchain.emeth.l1 import Dispute, EmethL1

log = structlog.get_logger("emeth.disputes")


def post_published(
    l1: EmethL1,
    client: ExecutionClient,
    signer: Any,
    ticket_id: int,
    node: str,
    jobs: list[JobBacking],
) -> Ticket:
    """Build a Ticket over ``jobs`` (backed leaves, debits from zero), sign it with ``signer``
    (one member of a k = 1 set), post it on EmethCore and publish its leaves on ``client``.
    The dishonest Signer of the tests and the demo; returns the Ticket."""
    from dataclasses import replace

    from offchain.emeth.backing import backed_jobs_root
    from offchain.emeth.ticket import build_ticket, sign_ticket

    rows = [(j.job_id, j.requester, j.fuel, j.fee) for j in jobs]
    t = build_ticket(ticket_id, node, rows, valid_until=l1.ticket_valid_until())
    t = replace(t, jobs_root=backed_jobs_root(jobs))
    sig = sign_ticket(signer, l1.chain_id, l1.core_address, t)
    l1.post_ticket(l1.chain.sender(signer), t, [sig])
    client.publish_leaves(t.to_dict(), [j.to_dict() for j in jobs])
    return t


def unbacked_reason(l1: EmethL1, el_id: int, b: JobBacking, posted_at: int) -> str | None:
    """Why ``EmethCore.disputeJob`` would reverse a Ticket of execution layer ``el_id`` posted
    at ``posted_at`` for leaf ``b`` (a name of :data:`offchain.emeth.backing.DISPUTE_REASONS`),
    or None when the leaf is backed. Reads ``cancelledAt`` on L1."""
    reg = b.register
    reg_id: bytes = reg["jobId"]
    if b.part == 0:
        id_ok = b.job_id == reg_id
    else:
        id_ok = "0x" + b.job_id.hex() == subjob_id("0x" + reg_id.hex(), b.part - 1)
    domain = Domain(l1.chain_id, l1.core_address, el_id)
    try:
        signer: str | None = recover_actor(
            domain, "RegisterJob", b.to_dict()["register"], "0x" + b.register_signature.hex()
        )
    except Exception:  # noqa: BLE001 - any unrecoverable signature is no signature
        signer = None
    if not id_ok or reg["requester"] != b.requester or signer != b.requester:
        return "UnsignedJob"
    if b.fee > int(reg["fee"]):
        return "FeeAboveMax"
    cancelled = l1.cancelled_at(reg_id, b.requester)
    if (cancelled != 0 and cancelled <= b.processed_at) or b.processed_at > posted_at:
        return "CancelledBeforeProcess"
    return None


@dataclass
class _Seen:
    """A posted Ticket whose leaves were checked: where each job of it sits."""

    ticket: Ticket
    posted_at: int
    leaves: list[JobBacking]


@dataclass
class TicketWatcher:
    """Rechecks every posted Ticket and disputes those touching ``watch``.

    Args:
        client: the execution layer holding the published leaves.
        l1: EmethCore bindings.
        sender: who sends the disputes (and receives the disputer's share).
        watch: the node or requester address whose Tickets it disputes (None: every Ticket).
        lookback_blocks: how far back the first step reads ``TicketPosted`` events.
    """

    client: ExecutionClient
    l1: EmethL1
    sender: Any
    watch: str | None = None
    lookback_blocks: int = 100_000
    disputes: list[Dispute] = field(default_factory=list)
    unavailable: set[int] = field(default_factory=set)  # posted, leaves not published (yet)
    _open: dict[int, int] = field(default_factory=dict)  # ticket id -> block of its posting
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _from_block: int | None = None

    def __post_init__(self) -> None:
        if self.watch is not None:
            self.watch = to_checksum_address(self.watch)

    def step(self) -> dict[str, int]:
        """Read new postings, check every open one; returns counts (``disputed``,
        ``unavailable``, ``open``)."""
        head = int(self.l1.chain.w3.eth.block_number)
        start = self._from_block
        if start is None:
            start = max(0, head - self.lookback_blocks)
        if start <= head:
            for tid, _node, block in self.l1.postings(start, head):
                self._open.setdefault(tid, block)
            self._from_block = head + 1
        disputed = 0
        for tid in sorted(self._open, key=lambda t: (self._open[t], t)):
            if self._check(tid):
                disputed += 1
        return {"disputed": disputed, "unavailable": len(self.unavailable), "open": len(self._open)}

    def _check(self, tid: int) -> bool:
        """Check posted Ticket ``tid`` once its leaves are available; True if disputed now."""
        posted = self.l1.posted_ticket(tid)
        now = int(self.l1.chain.w3.eth.get_block("latest")["timestamp"])
        if posted.status != "posted" or now >= posted.final_at:
            self._open.pop(tid, None)  # final, reversed, or past its window: nothing to do
            self.unavailable.discard(tid)
            return False
        doc = self.client.posted_leaves(tid)
        try:
            ticket = Ticket.from_dict(doc["ticket"]) if doc else None
            leaves = [JobBacking.from_dict(x) for x in doc["leaves"]] if doc else []
        except TicketError:
            ticket = None
        if ticket is None or self.l1.hash_ticket(ticket) != posted.ticket_hash:
            if tid not in self.unavailable:
                log.warning("ticket_leaves_unavailable", ticket=tid)
            self.unavailable.add(tid)  # retried each step until its window closes
            return False
        self.unavailable.discard(tid)
        del self._open[tid]
        seen = _Seen(ticket, posted.posted_at, leaves)
        touches = self.watch is None or self.watch in {ticket.node, *(b.requester for b in leaves)}
        if touches and self._dispute(seen):
            return True
        self._seen[tid] = seen
        return False

    def _dispute(self, seen: _Seen) -> bool:
        """Dispute the first unbacked leaf of ``seen`` (True), if any."""
        found = self._first_unbacked(seen)
        if found is None:
            return False
        reason, i, earlier = found
        t, leaf = seen.ticket, leaf_proof(seen.leaves, i)
        try:
            if earlier is None:
                d = self.l1.dispute_job(self.sender, t, leaf)
            else:
                d = self.l1.dispute_double_billing(self.sender, t, leaf, *earlier)
        except TxReverted as e:
            log.warning("dispute_reverted", ticket=t.ticket_id, reason=reason, error=e.error_name)
            return False
        self.disputes.append(d)
        log.warning(
            "ticket_disputed",
            ticket=t.ticket_id,
            reason=d.reason,
            slashed=d.slashed,
            reward=d.reward,
            gas=d.gas_used,
        )
        return True

    def _first_unbacked(
        self, seen: _Seen
    ) -> tuple[str, int, tuple[Ticket, LeafProof] | None] | None:
        """``(reason, leaf index, the earlier Ticket and leaf of a double bill)`` of the first
        unbacked leaf of ``seen``, in leaf order (None: every leaf is backed)."""
        t, el = seen.ticket, seen.ticket.ticket_id >> EL_SHIFT
        first: dict[tuple[str, bytes], int] = {}
        for i, b in enumerate(seen.leaves):
            reason = unbacked_reason(self.l1, el, b, seen.posted_at)
            if reason is not None:
                return reason, i, None
            key = (b.requester, b.job_id)
            earlier = self._earlier(el, key, seen)
            if earlier is None and key in first:
                earlier = (t, leaf_proof(seen.leaves, first[key]))
            if earlier is not None:
                return "DoubleBilled", i, earlier
            first.setdefault(key, i)
        return None

    def _earlier(
        self, el: int, key: tuple[str, bytes], seen: _Seen
    ) -> tuple[Ticket, LeafProof] | None:
        """A Ticket of execution layer ``el`` posted before ``seen`` (not reversed) billing the
        job ``key``, with its leaf."""
        for other in self._seen.values():
            ot = other.ticket
            if ot.ticket_id >> EL_SHIFT != el or (other.posted_at, ot.ticket_id) >= (
                seen.posted_at,
                seen.ticket.ticket_id,
            ):
                continue
            for j, b in enumerate(other.leaves):
                if (b.requester, b.job_id) == key:
                    if self.l1.posted_ticket(ot.ticket_id).status == "reversed":
                        return None
                    return ot, leaf_proof(other.leaves, j)
        return None

    def health(self) -> dict[str, Any]:
        """Small JSON state: what it watches, Tickets open, unavailable, disputed."""
        return {
            "watch": self.watch,
            "open": sorted(self._open),
            "unavailable": sorted(self.unavailable),
            "disputed": [d.ticket_id for d in self.disputes],
        }
