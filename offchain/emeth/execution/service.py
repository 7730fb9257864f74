"""The execution layer's service: checks who is acting, opens the transaction, and dispatches to
the state machine (:mod:`.jobs`), funds (:mod:`.funds`), Tickets (:mod:`.tickets`) and L1 hooks.

Every write goes through :meth:`ExecutionLayer.apply` (an EIP-712 action signed by its
actor) or :meth:`ExecutionLayer.store_ticket` (a Ticket signed by an authorised signer on
the EmethCore domain), or comes from L1 (:meth:`ExecutionLayer.apply_l1_cancel`). Each
is checked against the actor's role and L1 state, runs in one database transaction, and
is idempotent: re-sending an applied action returns the current state unchanged. Errors are
:class:`~offchain.emeth.errors.ActionError` with an HTTP status (mapped by :mod:`.api`).

L1 is read before any lock is taken (:meth:`ExecutionLayer._l1_reads`); the write itself
runs in :func:`db.write_tx` with the checked accounts locked in the database
(:func:`db.lock_accounts`), so the funds and collateral checks also hold between several
execution-layer processes on one database. The in-process lock only spares SQLite's busy
waits between this process's own writers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from offchain.emeth.errors import ActionError
from offchain.emeth.execution import db, jobstore, l1hooks, tickets
from offchain.emeth.execution.actions import (
    ACTOR_FIELD,
    Domain,
    action_digest,
    job_id_hex,
    normalize_message,
    recover_actor,
)
from offchain.emeth.execution.config import Roles, Rules, ServiceConfig
from offchain.emeth.execution.funds import funds_view, penalty_views
from offchain.emeth.execution.jobs import transition
from offchain.emeth.execution.l1state import L1Snapshot, L1State
from offchain.emeth.execution.models import (
    DebitProofView,
    FundsView,
    JobView,
    LeavesSubmission,
    PenaltyView,
    TicketSubmission,
    TicketView,
)


class ExecutionLayer:
    """The execution layer's logic over a database and an L1 view.

    Args:
        engine: SQLAlchemy engine (see :func:`db.make_engine`).
        l1: EmethCore views for funds, collateral and signer checks.
        domain: EIP-712 domain of the actions.
        roles: operator addresses.
        programs: ProgramIds that may be registered.
        ticket_signer: recovers the signer of a Ticket (EmethCore EIP-712 domain).
        config: rules.
        clock: seconds since the epoch (injectable for tests of deadlines).
        dataset_check: checks a ``RegisterJob``'s dataset before it is applied (raises
            ActionError); None: datasets are only checked by the nodes and the verifier.
    """

    def __init__(
        self,
        engine: Engine,
        l1: L1State,
        domain: Domain,
        roles: Roles,
        programs: Iterable[str],
        ticket_signer: Callable[[dict[str, Any], str], str],
        config: ServiceConfig | None = None,
        clock: Callable[[], float] = time.time,
        dataset_check: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.l1 = l1
        self.domain = domain
        self.roles = roles
        self.programs = set(programs)
        self.ticket_signer = ticket_signer
        self.config = config or ServiceConfig()
        self.clock = clock
        self.dataset_check = dataset_check
        self._lock = threading.Lock()

    @property
    def rules(self) -> Rules:
        """What transitions are checked against (read from the current attributes)."""
        return Rules(self.l1, self.config, self.programs, self.clock)

    # ------------------------------------------------------------------ reads
    def job(self, job_id: str) -> JobView:
        """One job. Raises ActionError 404 when unknown."""
        with self.engine.connect() as c:
            return jobstore.job_view(jobstore.get_job(c, job_id_hex(job_id)))

    def jobs(
        self,
        state: str | None = None,
        node: str | None = None,
        requester: str | None = None,
        parent: str | None = None,
        billable: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobView]:
        """Jobs matching every given filter, oldest first.

        Args:
            billable: only verified, unbilled jobs whose parent (if any) is confirmed or
                expired.
        """
        with self.engine.connect() as c:
            return jobstore.query_jobs(c, state, node, requester, parent, billable, limit, offset)

    def backing(self, job_id: str) -> dict[str, Any]:
        """The ``JobBacking`` of a processed job (``GET /jobs/{id}/backing``): what its leaf in
        a posted Ticket carries. Raises ActionError 404 unknown, 409 ``not_processed``."""
        with self.engine.connect() as c:
            return jobstore.backing_of(c, job_id_hex(job_id))

    def history(self, job_id: str) -> list[dict[str, Any]]:
        """Every transition of a job, oldest first."""
        with self.engine.connect() as c:
            return jobstore.job_history(c, job_id_hex(job_id))

    def counts(self) -> dict[str, int]:
        """Number of jobs per state."""
        with self.engine.connect() as c:
            return jobstore.state_counts(c)

    def funds(self, requester: str) -> FundsView:
        """A requester's L1 deposit, pending withdrawal, committed fees and what is left."""
        addr = to_checksum_address(requester)
        deposit, pending = self.l1.requester_funds(addr)
        with self.engine.connect() as c:
            return funds_view(c, addr, deposit, pending)

    def debit_proof(self, requester: str, settled: bool = False) -> DebitProofView:
        """The requester's newest debit leaf in this execution layer's Tickets (in a settled
        one if ``settled``) with its proof. Raises ActionError 404 when there is none."""
        addr = to_checksum_address(requester)
        with self.engine.connect() as c:
            return tickets.debit_proof(c, addr, settled)

    def penalties(self, node: str | None = None, unbilled: bool = False) -> list[PenaltyView]:
        """Penalties recorded (optionally of one node, optionally not yet in a Ticket)."""
        with self.engine.connect() as c:
            return penalty_views(c, node, unbilled)

    def tickets(
        self, node: str | None = None, settled: bool | None = None, limit: int = 100
    ) -> list[TicketView]:
        """Stored Tickets, by id."""
        with self.engine.connect() as c:
            return tickets.list_tickets(c, node, settled, limit)

    def ticket(self, ticket_id: int) -> TicketView:
        """One Ticket. Raises ActionError 404 when unknown."""
        with self.engine.connect() as c:
            return tickets.get_ticket(c, ticket_id)

    def next_ticket_id(self) -> int:
        """The id the next stored Ticket must carry."""
        with self.engine.connect() as c:
            return tickets.next_ticket_id(c, self.domain.el_id)

    # ----------------------------------------------------------------- writes
    def apply(self, action: str, message: dict[str, Any], signature: str) -> dict[str, Any]:
        """Check and apply one signed action.

        Returns:
            ``{"action", "actor", "replayed", "job"}`` (``job``: the job after the action; for
            SplitJob also ``subJobs``).

        Raises:
            ActionError: 401 bad signature, 403 wrong role / not enough collateral or funds,
                404 unknown job, 409 illegal transition, 422 invalid fields.
        """
        msg = normalize_message(action, message)
        actor_field, role = ACTOR_FIELD[action]
        actor = recover_actor(self.domain, action, message, signature)
        if actor != msg[actor_field]:
            raise ActionError(
                401,
                "bad_signature",
                f"{action} is signed by {actor}, not by its {actor_field} {msg[actor_field]}",
            )
        if role in ("splitter", "verifier", "aggregator") and not self.roles.holds(role, actor):
            raise ActionError(403, "not_authorised", f"{actor} is not an authorised {role}")
        if action == "RegisterJob" and self.dataset_check is not None:
            self.dataset_check(msg)  # reads the blob store: before the write lock
        digest = action_digest(self.domain, action, message)
        l1, accounts = self._l1_reads(action, actor, msg)
        rules = Rules(l1, self.config, self.programs, self.clock)
        try:
            with self._lock, db.write_tx(self.engine) as c:
                db.lock_accounts(c, accounts)
                seen = jobstore.applied_action(c, digest)
                if seen is not None:
                    out = jobstore.action_result(c, action, seen["job_id"])
                    out.update(actor=actor, replayed=True)
                    return out
                job_id = transition(rules, c, action, actor, msg)
                if action in ("RegisterJob", "Process"):
                    jobstore.record_backing(c, action, job_id, signature, self.clock())
                jobstore.record_applied(c, digest, action, actor, job_id, self.clock())
                out = jobstore.action_result(c, action, job_id)
                out.update(actor=actor, replayed=False)
                return out
        except IntegrityError as e:
            # A row the checks did not foresee already exists (e.g. a concurrent writer on a
            # shared database): the action is refused and nothing was written.
            raise ActionError(
                409, "conflict", f"{action} conflicts with stored state; retry after re-reading"
            ) from e

    def _l1_reads(
        self, action: str, actor: str, msg: dict[str, Any]
    ) -> tuple[L1Snapshot, list[str]]:
        """Read from L1, before any lock, what ``action``'s checks need.

        Returns:
            The answers (the transition's L1 view) and the accounts whose funds or
            collateral the transition checks (locked in the database for the write).
        """
        snap = L1Snapshot(self.l1)
        if action == "RegisterJob":
            snap.read_all(
                [
                    ("requester_funds", msg["requester"]),
                    ("withdrawal_delays",),
                    ("ticket_dispute_window_s",),
                ]
            )
            return snap, [msg["requester"]]
        if action != "Process":
            return snap, []
        with self.engine.connect() as c:
            row = c.execute(
                select(db.jobs.c.requester, db.jobs.c.parent_id).where(
                    db.jobs.c.job_id == job_id_hex(msg["jobId"])
                )
            ).first()
        if row is None:
            return snap, []  # the transition answers unknown_job before any L1 check
        requester, parent = str(row[0]), row[1]
        target = str(parent or job_id_hex(msg["jobId"]))
        snap.read_all(
            [
                ("requester_funds", requester),
                ("is_cancelled", bytes.fromhex(target[2:]), requester),
                ("node_collateral", actor),
                ("min_collateral",),
                ("penalty_shortfall", actor),
                ("withdrawal_delays",),
                ("ticket_dispute_window_s",),
            ]
        )
        return snap, [requester, actor]

    def store_ticket(self, t: TicketSubmission) -> TicketView:
        """Check a signed Ticket against the database and store it, billing its jobs.

        The Ticket must cover exactly: billable jobs of ``node`` (``jobIds``, in leaf order)
        whose ``JobBacking`` leaves (each Process dated at most ``validUntil − settleMargin``,
        ``settleMargin`` read on EmethCore) hash to ``jobsRoot``; per-requester ``debits``
        equal to the sum of those fees (sorted by requester); ``fuel`` the sum of their fuel;
        ``penalty`` the sum of the listed unbilled penalties of the node. Its EmethCore
        signature must recover to an authorised signer. Storing it again (same id, same
        content) is a no-op.

        Raises:
            ActionError: 401 bad signature, 403 signer not authorised, 409 a job/penalty is
                not billable or the id is taken, 422 inconsistent content.
        """
        body = tickets.signed_body(t)
        try:
            signer = to_checksum_address(self.ticket_signer(body, t.signature))
        except Exception as e:  # noqa: BLE001 - any decoding failure is a bad signature
            raise ActionError(401, "bad_signature", f"cannot recover the Ticket signer: {e}") from e
        if not self.roles.holds("signer", signer) or not self.l1.is_signer(signer):
            raise ActionError(403, "not_authorised", f"{signer} is not an authorised Ticket signer")
        job_ids = [job_id_hex(j) for j in t.jobIds]
        if len(job_ids) != t.jobCount or len(set(job_ids)) != len(job_ids):
            raise ActionError(422, "invalid_ticket", "jobIds must be jobCount distinct ids")
        if not job_ids and not t.penaltyIds:
            raise ActionError(422, "invalid_ticket", "a Ticket bills at least one job or penalty")
        cap = t.validUntil - self.l1.settle_margin_s()  # the Signer's L1 time
        with self._lock, db.write_tx(self.engine) as c:
            return tickets.store(c, t, body, signer, job_ids, self.clock, self.domain.el_id, cap)

    def mark_settled(self, ticket_id: int, tx_hash: str | None = None) -> bool:
        """Record that Ticket ``ticket_id`` is settled on L1. Returns the flag.

        Checked on L1 outside the write lock: settled there (for a posted Ticket: finalized),
        and as the very Ticket this execution layer stored: its posted hash is the stored
        Ticket's ``hashTicket`` (a posted Ticket has no ``jobsRootOf``), or, settled through
        ``settleTicket``, ``jobsRootOf`` is its ``jobsRoot`` (another execution layer's
        Ticket under the same id is never taken for ours). Unknown Tickets are never marked.
        """
        from offchain.emeth.ticket import Ticket, ticket_hash

        with self.engine.connect() as c:
            row = tickets._row(c, ticket_id)
            view = None if row is None else tickets.ticket_view(c, row)
        if view is None or not self.l1.ticket_settled(ticket_id):
            return False
        status, posted = self.l1.posted_ticket(ticket_id)
        if status == "finalized":
            if posted != ticket_hash(Ticket.from_dict(view.model_dump())):
                return False
        elif "0x" + self.l1.ticket_jobs_root(ticket_id).hex() != view.jobsRoot.lower():
            return False
        with self._lock, db.write_tx(self.engine) as c:
            tickets.set_settled(c, ticket_id, tx_hash)
        return True

    def expire_tickets(self) -> list[int]:
        """Mark expired every stored Ticket past its ``validUntil`` on L1 (the latest block's
        timestamp), neither settled nor posted (awaiting finalization) there, releasing its
        jobs and penalties to be billed again (docs/spec.md, "Ticket validity"). Anyone may
        ask: only L1 decides. Returns the ids."""
        with self.engine.connect() as c:
            due = list(
                c.execute(
                    select(db.tickets.c.ticket_id, db.tickets.c.valid_until).where(
                        db.tickets.c.settled.is_(False), db.tickets.c.expired.is_(False)
                    )
                ).all()
            )
        if not due:
            return []
        now = self.l1.l1_time()
        # A posted Ticket is left alone: it finalizes after its window (or is reversed).
        gone = [
            int(tid)
            for tid, v in due
            if int(v) < now
            and not self.l1.ticket_settled(tid)
            and self.l1.posted_ticket(tid)[0] != "posted"
        ]
        if gone:
            with self._lock, db.write_tx(self.engine) as c:
                for tid in gone:
                    tickets.expire(c, tid, self.clock)
        return gone

    # ------------------------------------------------------------------ L1
    def publish_leaves(self, ticket_id: int, body: LeavesSubmission) -> dict[str, Any]:
        """Store the job leaves of posted Ticket ``ticket_id`` for watchers (anyone may
        publish; only their root is checked: watchers compare the Ticket with L1's posted
        hash). Publishing the same document again is a no-op.

        Raises:
            ActionError: 422 ``invalid_leaves`` (malformed, or not the Ticket's jobsRoot), 409
                ``conflict`` (other leaves already published under the id).
        """
        from offchain.emeth.backing import JobBacking, backed_jobs_root
        from offchain.emeth.ticket import Ticket, TicketError

        try:
            t = Ticket.from_dict(body.ticket)
            leaves = [JobBacking.from_dict(x) for x in body.leaves]
        except TicketError as e:
            raise ActionError(422, "invalid_leaves", str(e)[:300]) from e
        if t.ticket_id != ticket_id or len(leaves) != t.job_count:
            raise ActionError(422, "invalid_leaves", "not the Ticket's id or jobCount leaves")
        if backed_jobs_root(leaves) != t.jobs_root:
            raise ActionError(422, "invalid_leaves", "the leaves do not hash to the jobsRoot")
        doc = json.dumps({"ticket": t.to_dict(), "leaves": [x.to_dict() for x in leaves]})
        with self._lock, db.write_tx(self.engine) as c:
            row = c.execute(
                select(db.posted_leaves.c.document).where(db.posted_leaves.c.ticket_id == ticket_id)
            ).first()
            if row is not None and row[0] != doc:
                raise ActionError(409, "conflict", f"other leaves of Ticket {ticket_id} published")
            if row is None:
                c.execute(
                    db.posted_leaves.insert().values(
                        ticket_id=ticket_id, document=doc, created_at=self.clock()
                    )
                )
        return {"ticketId": ticket_id, "leaves": len(leaves)}

    def posted_leaves(self, ticket_id: int) -> dict[str, Any]:
        """The published ``{"ticket", "leaves"}`` of posted Ticket ``ticket_id``.

        Raises:
            ActionError: 404 ``unknown_ticket`` when nobody published them.
        """
        with self.engine.connect() as c:
            row = c.execute(
                select(db.posted_leaves.c.document).where(db.posted_leaves.c.ticket_id == ticket_id)
            ).first()
        if row is None:
            raise ActionError(404, "unknown_ticket", f"no leaves published for Ticket {ticket_id}")
        return dict(json.loads(row[0]))

    def apply_l1_cancel(self, job_id: bytes, requester: str, at: int, block: int) -> str:
        """Apply an L1 ``JobCancelled`` declaration. Returns the outcome (idempotent).

        A job (or a split parent whose SubJobs have not started) that has not started
        processing is cancelled and never billed; a later cancel is recorded as ``too_late``.
        """
        jid = job_id_hex(job_id)
        requester = to_checksum_address(requester)
        with self._lock, db.write_tx(self.engine) as c:
            return l1hooks.apply_cancel(c, jid, requester, at, block, self.clock)

    def get_cursor(self, name: str) -> str | None:
        """The value the L1 watcher saved under ``name``, if any."""
        with self.engine.connect() as c:
            return l1hooks.get_cursor(c, name)

    def set_cursor(self, name: str, value: str) -> None:
        """Save the L1 watcher's cursor ``name``."""
        with self._lock, db.write_tx(self.engine) as c:
            l1hooks.set_cursor(c, name, value)
