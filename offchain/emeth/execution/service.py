"""The execution layer's state machine: applies signed actions to jobs, SubJobs and Tickets.

Every write goes through :meth:`ExecutionLayer.apply` (an EIP-712 action signed by its
actor) or :meth:`ExecutionLayer.store_ticket` (a Ticket signed by an authorised signer on
the EmethCore domain), or comes from L1 (:meth:`ExecutionLayer.apply_l1_cancel`). Each
is checked against the actor's role and L1 state, runs in one database transaction, and
is idempotent: re-sending an applied action returns the current state unchanged.

States and transitions (docs/spec.md "EMETH execution layer")::

    registered --Process--> processing --Submit--> submitted --Verify--> verified
        |  \\--SplitJob--> split --Confirm (all SubJobs verified)--> confirmed
        |                    processing --Withdraw--> registered (attempt+1, penalty)
        |                    processing --Timeout--> timed_out (penalty)
        |                    submitted --RejectResult--> rejected (penalty)
        |                    rejected|timed_out --Reregister (SubJobs)--> registered (attempt+1)
        \\--L1 cancel--> cancelled
    split --Timeout (past expiresAt, a SubJob unverified, none in flight)--> expired
        (its unfinished SubJobs -> expired too; its verified SubJobs stay billable)
    verified (plain job, or SubJob of a confirmed or expired parent) --Ticket--> billed
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.emeth.errors import ActionError
from offchain.emeth.execution import db
from offchain.emeth.execution.actions import (
    ACTOR_FIELD,
    Domain,
    action_digest,
    job_id_hex,
    normalize_message,
    recover_actor,
)
from offchain.emeth.execution.l1state import L1State
from offchain.emeth.execution.models import (
    BILLED,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    PROCESSING,
    REGISTERED,
    REJECTED,
    SPLIT,
    STATES,
    SUBMITTED,
    TIMED_OUT,
    VERIFIED,
    FundsView,
    JobView,
    PenaltyView,
    TicketSubmission,
    TicketView,
)
from offchain.emeth.ticket import job_leaf as ticket_job_leaf

# Leaf states that still hold the requester's money (fees not yet in a Ticket).
_COMMITTED_STATES = (REGISTERED, PROCESSING, SUBMITTED, VERIFIED)
# SubJobs in these states are re-registered, so their fee stays committed too.
_SUB_RETRY_STATES = (REJECTED, TIMED_OUT)
# Parent states whose verified SubJobs are billable (each on its own).
_BILLABLE_PARENT_STATES = (CONFIRMED, EXPIRED)


@dataclass
class Roles:
    """Addresses allowed to act as off-chain operators (lower-cased on load)."""

    splitters: set[str] = field(default_factory=set)
    verifiers: set[str] = field(default_factory=set)
    aggregators: set[str] = field(default_factory=set)
    signers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for name in ("splitters", "verifiers", "aggregators", "signers"):
            setattr(self, name, {a.lower() for a in getattr(self, name)})

    def holds(self, role: str, address: str) -> bool:
        return address.lower() in getattr(self, role + "s", set())


@dataclass
class ServiceConfig:
    """Rules of the execution layer (units in names)."""

    penalty_bps: int = 2500  # 25% of the job's fee, as in the L1-only EmethCore
    max_subjobs: int = 256
    max_timeout_s: int = 7 * 24 * 3600
    max_params_bytes: int = 4096


def job_leaf(job_id: str, requester: str, node: str, fuel: int, fee: int) -> bytes:
    """Ticket Merkle item of a job (:func:`offchain.emeth.ticket.job_leaf`, ids as 0x-hex)."""
    return ticket_job_leaf(bytes.fromhex(job_id[2:]), requester, node, fuel, fee)


def subjob_id(parent_id: str, index: int) -> str:
    """Deterministic SubJob id: the first 16 bytes of ``keccak256(parentId ‖ uint256 index)``."""
    return "0x" + keccak(bytes.fromhex(parent_id[2:]) + index.to_bytes(32, "big"))[:16].hex()


def _job_view(row: RowMapping) -> JobView:
    return JobView(
        jobId=row["job_id"],
        parentId=row["parent_id"],
        subIndex=row["sub_index"],
        requester=row["requester"],
        programId=row["program_id"],
        datasetKey=row["dataset_key"],
        params=row["params"],
        fee=int(row["fee"]),
        timeoutSeconds=row["timeout_s"],
        expiresAt=row["expires_at"],
        splittable=row["splittable"],
        state=row["state"],
        attempt=row["attempt"],
        node=row["node"],
        resultKey=row["result_key"],
        fuel=int(row["fuel"]) if row["fuel"] is not None else None,
        children=row["children"],
        reason=row["reason"],
        processingDeadline=row["processing_deadline"],
        ticketId=row["ticket_id"],
        createdAt=row["created_at"],
        updatedAt=row["updated_at"],
    )


def _illegal(job: RowMapping, action: str, expected: str) -> ActionError:
    return ActionError(
        409,
        "illegal_transition",
        f"{action} on job {job['job_id']} in state {job['state']} (needs {expected})",
        {"state": job["state"], "attempt": job["attempt"]},
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
    ) -> None:
        self.engine = engine
        self.l1 = l1
        self.domain = domain
        self.roles = roles
        self.programs = set(programs)
        self.ticket_signer = ticket_signer
        self.config = config or ServiceConfig()
        self.clock = clock
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ reads
    def job(self, job_id: str) -> JobView:
        """One job. Raises ActionError 404 when unknown."""
        with self.engine.connect() as c:
            return _job_view(self._job(c, job_id_hex(job_id)))

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
        if state is not None and state not in STATES:
            raise ActionError(422, "invalid_state", f"unknown state {state!r}", {"known": STATES})
        q = select(db.jobs)
        if state:
            q = q.where(db.jobs.c.state == state)
        if node:
            q = q.where(db.jobs.c.node == to_checksum_address(node))
        if requester:
            q = q.where(db.jobs.c.requester == to_checksum_address(requester))
        if parent:
            q = q.where(db.jobs.c.parent_id == job_id_hex(parent))
        if billable:
            parents = db.jobs.alias("p")
            confirmed_parents = select(parents.c.job_id).where(
                parents.c.state.in_(_BILLABLE_PARENT_STATES)
            )
            q = q.where(
                db.jobs.c.state == VERIFIED,
                db.jobs.c.ticket_id.is_(None),
                or_(db.jobs.c.parent_id.is_(None), db.jobs.c.parent_id.in_(confirmed_parents)),
            )
        q = q.order_by(db.jobs.c.created_at, db.jobs.c.sub_index, db.jobs.c.job_id)
        q = q.limit(max(1, min(limit, 1000))).offset(max(0, offset))
        with self.engine.connect() as c:
            return [_job_view(r) for r in c.execute(q).mappings()]

    def history(self, job_id: str) -> list[dict[str, Any]]:
        """Every transition of a job, oldest first."""
        jid = job_id_hex(job_id)
        with self.engine.connect() as c:
            self._job(c, jid)
            rows = c.execute(
                select(db.history).where(db.history.c.job_id == jid).order_by(db.history.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Number of jobs per state."""
        with self.engine.connect() as c:
            rows = c.execute(select(db.jobs.c.state, func.count()).group_by(db.jobs.c.state))
            out = {s: 0 for s in STATES}
            out.update({s: int(n) for s, n in rows})
            return out

    def funds(self, requester: str) -> FundsView:
        """A requester's L1 deposit, pending withdrawal, committed fees and what is left."""
        addr = to_checksum_address(requester)
        deposit, pending = self.l1.requester_funds(addr)
        with self.engine.connect() as c:
            committed = self._committed(c, addr)
        return FundsView(
            requester=addr,
            deposit=deposit,
            pendingWithdrawal=pending,
            committed=committed,
            available=deposit - pending - committed,
        )

    def penalties(self, node: str | None = None, unbilled: bool = False) -> list[PenaltyView]:
        """Penalties recorded (optionally of one node, optionally not yet in a Ticket)."""
        q = select(db.penalties).order_by(db.penalties.c.id)
        if node:
            q = q.where(db.penalties.c.node == to_checksum_address(node))
        if unbilled:
            q = q.where(db.penalties.c.ticket_id.is_(None))
        with self.engine.connect() as c:
            return [
                PenaltyView(
                    id=r["id"],
                    node=r["node"],
                    jobId=r["job_id"],
                    attempt=r["attempt"],
                    amount=int(r["amount"]),
                    reason=r["reason"],
                    ticketId=r["ticket_id"],
                    createdAt=r["created_at"],
                )
                for r in c.execute(q).mappings()
            ]

    def tickets(
        self, node: str | None = None, settled: bool | None = None, limit: int = 100
    ) -> list[TicketView]:
        """Stored Tickets, by id."""
        q = select(db.tickets).order_by(db.tickets.c.ticket_id).limit(max(1, min(limit, 1000)))
        if node:
            q = q.where(db.tickets.c.node == to_checksum_address(node))
        if settled is not None:
            q = q.where(db.tickets.c.settled == settled)
        with self.engine.connect() as c:
            return [self._ticket_view(c, r) for r in c.execute(q).mappings()]

    def ticket(self, ticket_id: int) -> TicketView:
        """One Ticket. Raises ActionError 404 when unknown."""
        with self.engine.connect() as c:
            row = (
                c.execute(select(db.tickets).where(db.tickets.c.ticket_id == ticket_id))
                .mappings()
                .first()
            )
            if row is None:
                raise ActionError(404, "unknown_ticket", f"no Ticket {ticket_id}")
            return self._ticket_view(c, row)

    def next_ticket_id(self) -> int:
        """The id the next stored Ticket must carry."""
        with self.engine.connect() as c:
            return int(c.execute(select(func.max(db.tickets.c.ticket_id))).scalar() or 0) + 1

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
        digest = action_digest(self.domain, action, message)
        handler = getattr(self, "_do_" + action)
        with self._lock, self.engine.begin() as c:
            seen = (
                c.execute(select(db.applied_actions).where(db.applied_actions.c.digest == digest))
                .mappings()
                .first()
            )
            if seen is not None:
                out = self._result(c, action, seen["job_id"])
                out.update(actor=actor, replayed=True)
                return out
            job_id = handler(c, actor, msg)
            c.execute(
                insert(db.applied_actions).values(
                    digest=digest, action=action, actor=actor, job_id=job_id, at=self.clock()
                )
            )
            out = self._result(c, action, job_id)
            out.update(actor=actor, replayed=False)
            return out

    def _result(self, c: Connection, action: str, job_id: str) -> dict[str, Any]:
        job = self._job(c, job_id)
        out: dict[str, Any] = {"action": action, "job": _job_view(job).model_dump()}
        if action == "SplitJob":
            rows = c.execute(
                select(db.jobs).where(db.jobs.c.parent_id == job_id).order_by(db.jobs.c.sub_index)
            ).mappings()
            out["subJobs"] = [_job_view(r).model_dump() for r in rows]
        return out

    # ------------------------------------------------------------ helpers
    def _job(self, c: Connection, job_id: str, lock: bool = False) -> RowMapping:
        q = select(db.jobs).where(db.jobs.c.job_id == job_id)
        if lock:
            q = q.with_for_update()
        row = c.execute(q).mappings().first()
        if row is None:
            raise ActionError(404, "unknown_job", f"no job {job_id}")
        return row

    def _committed(self, c: Connection, requester: str) -> int:
        """Fees of the requester's live jobs plus debits of its unsettled Tickets."""
        fees = c.execute(
            select(db.jobs.c.fee).where(
                db.jobs.c.requester == requester,
                or_(
                    and_(db.jobs.c.state.in_(_COMMITTED_STATES), db.jobs.c.ticket_id.is_(None)),
                    and_(db.jobs.c.parent_id.is_not(None), db.jobs.c.state.in_(_SUB_RETRY_STATES)),
                ),
            )
        ).scalars()
        debits = c.execute(
            select(db.ticket_debits.c.amount)
            .join(db.tickets, db.tickets.c.ticket_id == db.ticket_debits.c.ticket_id)
            .where(db.ticket_debits.c.requester == requester, db.tickets.c.settled.is_(False))
        ).scalars()
        return sum(int(f) for f in fees) + sum(int(d) for d in debits)

    def _move(
        self,
        c: Connection,
        job: RowMapping,
        action: str,
        actor: str,
        to_state: str,
        detail: str | None = None,
        **values: Any,
    ) -> None:
        now = self.clock()
        c.execute(
            update(db.jobs)
            .where(db.jobs.c.job_id == job["job_id"])
            .values(state=to_state, updated_at=now, **values)
        )
        c.execute(
            insert(db.history).values(
                job_id=job["job_id"],
                action=action,
                actor=actor,
                from_state=job["state"],
                to_state=to_state,
                attempt=values.get("attempt", job["attempt"]),
                node=values.get("node", job["node"]),
                detail=detail,
                at=now,
            )
        )

    def _insert_job(
        self,
        c: Connection,
        action: str,
        actor: str,
        now: float,
        detail: str | None = None,
        **job: Any,
    ) -> None:
        """Insert a new job (REGISTERED, attempt 1, no children) and its first history entry."""
        c.execute(
            insert(db.jobs).values(
                **job,
                state=REGISTERED,
                attempt=1,
                children=0,
                created_at=now,
                updated_at=now,
            )
        )
        c.execute(
            insert(db.history).values(
                job_id=job["job_id"],
                action=action,
                actor=actor,
                from_state=None,
                to_state=REGISTERED,
                attempt=1,
                detail=detail,
                at=now,
            )
        )

    def _penalise(self, c: Connection, job: RowMapping, reason: str) -> None:
        amount = int(job["fee"]) * self.config.penalty_bps // 10_000
        try:
            with c.begin_nested():
                c.execute(
                    insert(db.penalties).values(
                        node=job["node"],
                        job_id=job["job_id"],
                        attempt=job["attempt"],
                        amount=str(amount),
                        reason=reason,
                        created_at=self.clock(),
                    )
                )
        except IntegrityError:
            pass  # already recorded for this attempt

    def _cancel_declared(self, c: Connection, job_id: str) -> bool:
        q = select(db.l1_cancels.c.job_id).where(db.l1_cancels.c.job_id == job_id)
        return c.execute(q).first() is not None

    def _check_attempt(self, job: RowMapping, action: str, attempt: int) -> None:
        if attempt != job["attempt"]:
            raise ActionError(
                409,
                "stale_attempt",
                f"{action} for attempt {attempt} of job {job['job_id']}, which is at attempt "
                f"{job['attempt']}",
                {"state": job["state"], "attempt": job["attempt"]},
            )

    def _check_funded(self, c: Connection, requester: str, extra: int, what: str) -> None:
        deposit, pending = self.l1.requester_funds(requester)
        committed = self._committed(c, requester)
        available = deposit - pending - committed
        if available < extra:
            raise ActionError(
                403,
                "insufficient_deposit",
                f"{what}: requester {requester} has {available} available on EmethCore "
                f"(deposit {deposit} - pending withdrawal {pending} - committed {committed}), "
                f"needs {extra}",
                {"deposit": deposit, "pending": pending, "committed": committed},
            )

    def _check_node(self, c: Connection, node: str, action: str) -> None:
        collateral = self.l1.node_collateral(node)
        minimum = self.l1.min_collateral()
        owed = sum(
            int(a)
            for a in c.execute(
                select(db.penalties.c.amount).where(
                    db.penalties.c.node == node, db.penalties.c.ticket_id.is_(None)
                )
            ).scalars()
        )
        if collateral - owed < minimum or collateral == 0:
            raise ActionError(
                403,
                "insufficient_collateral",
                f"{action}: node {node} holds {collateral} collateral with {owed} of penalties "
                f"pending; at least {minimum} free collateral is required",
                {"collateral": collateral, "pendingPenalties": owed, "minimum": minimum},
            )

    # ------------------------------------------------------------- handlers
    def _do_RegisterJob(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        jid = job_id_hex(m["jobId"])
        now = self.clock()
        cfg = self.config
        if m["programId"] not in self.programs:
            raise ActionError(
                422,
                "unknown_program",
                f"unknown program {m['programId']!r}",
                {"known": sorted(self.programs)},
            )
        if m["fee"] == 0:
            raise ActionError(422, "invalid_fee", "fee must be positive")
        if not 1 <= m["timeoutSeconds"] <= cfg.max_timeout_s:
            raise ActionError(
                422, "invalid_timeout", f"timeoutSeconds must be 1..{cfg.max_timeout_s}"
            )
        if m["expiresAt"] <= now:
            raise ActionError(422, "invalid_expiry", "expiresAt is in the past")
        if not m["datasetKey"] or len(m["datasetKey"]) > 200:
            raise ActionError(422, "invalid_dataset", "datasetKey must be 1..200 characters")
        try:
            params = json.loads(m["params"] or "{}")
            if not isinstance(params, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise ActionError(422, "invalid_params", f"params must be a JSON object: {e}") from e
        if len(m["params"]) > cfg.max_params_bytes:
            raise ActionError(422, "invalid_params", f"params over {cfg.max_params_bytes} bytes")
        if c.execute(select(db.jobs.c.job_id).where(db.jobs.c.job_id == jid)).first():
            raise ActionError(409, "job_exists", f"job {jid} is already registered")
        if c.execute(select(db.l1_cancels.c.job_id).where(db.l1_cancels.c.job_id == jid)).first():
            raise ActionError(409, "job_cancelled", f"job {jid} was cancelled on L1")
        self._check_funded(c, actor, m["fee"], "RegisterJob")
        self._insert_job(
            c,
            "RegisterJob",
            actor,
            now,
            job_id=jid,
            parent_id=None,
            sub_index=None,
            requester=actor,
            program_id=m["programId"],
            dataset_key=m["datasetKey"],
            params=m["params"] or "{}",
            fee=str(m["fee"]),
            timeout_s=m["timeoutSeconds"],
            expires_at=float(m["expiresAt"]),
            splittable=m["splittable"],
        )
        return jid

    def _do_SplitJob(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        jid = job_id_hex(m["parentId"])
        job = self._job(c, jid, lock=True)
        if job["state"] != REGISTERED:
            raise _illegal(job, "SplitJob", REGISTERED)
        if not job["splittable"] or job["parent_id"] is not None:
            raise ActionError(409, "not_splittable", f"job {jid} may not be split")
        keys = m["datasetKeys"]
        n = len(keys)
        fee = int(job["fee"])
        if not 2 <= n <= self.config.max_subjobs:
            raise ActionError(
                422, "invalid_split", f"a split needs 2..{self.config.max_subjobs} SubJobs"
            )
        if fee < n:
            raise ActionError(422, "invalid_split", f"fee {fee} cannot pay {n} SubJobs")
        if any(not k or len(k) > 200 for k in keys):
            raise ActionError(422, "invalid_dataset", "every datasetKey must be 1..200 characters")
        now = self.clock()
        for i, key in enumerate(keys):
            # Even shares; the last SubJob takes the remainder, so the fees sum to the parent's.
            sub_fee = fee // n + (fee % n if i == n - 1 else 0)
            sid = subjob_id(jid, i)
            self._insert_job(
                c,
                "SplitJob",
                actor,
                now,
                detail=f"SubJob {i} of {jid}",
                job_id=sid,
                parent_id=jid,
                sub_index=i,
                requester=job["requester"],
                program_id=job["program_id"],
                dataset_key=key,
                params=job["params"],
                fee=str(sub_fee),
                timeout_s=job["timeout_s"],
                expires_at=job["expires_at"],
                splittable=False,
            )
        self._move(c, job, "SplitJob", actor, SPLIT, f"{n} SubJobs", children=n)
        return jid

    def _do_Process(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._job(c, job_id_hex(m["jobId"]), lock=True)
        if job["state"] != REGISTERED or job["children"]:
            raise _illegal(job, "Process", REGISTERED)
        self._check_attempt(job, "Process", m["attempt"])
        now = self.clock()
        if now > job["expires_at"]:
            raise ActionError(409, "job_expired", f"job {job['job_id']} expired")
        if c.execute(
            select(db.l1_cancels.c.job_id).where(db.l1_cancels.c.job_id == job["job_id"])
        ).first() or self.l1.is_cancelled(bytes.fromhex(job["job_id"][2:]), job["requester"]):
            raise ActionError(409, "job_cancelled", f"job {job['job_id']} was cancelled on L1")
        self._check_node(c, actor, "Process")
        # The requester's deposit must still back this job (it may have asked to withdraw).
        self._check_funded(c, job["requester"], 0, "Process")
        self._move(
            c,
            job,
            "Process",
            actor,
            PROCESSING,
            node=actor,
            processing_deadline=now + job["timeout_s"],
        )
        return str(job["job_id"])

    def _node_job(self, c: Connection, m: dict[str, Any], action: str) -> RowMapping:
        job = self._job(c, job_id_hex(m["jobId"]), lock=True)
        if job["state"] != PROCESSING:
            raise _illegal(job, action, PROCESSING)
        self._check_attempt(job, action, m["attempt"])
        if job["node"] != m["node"]:
            raise ActionError(
                403, "not_assigned", f"job {job['job_id']} is processed by {job['node']}"
            )
        return job

    def _do_Withdraw(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._node_job(c, m, "Withdraw")
        self._penalise(c, job, "withdrawn")
        if self._cancel_declared(c, job["job_id"]):
            # The requester cancelled on L1 while it was processing: not re-offered.
            self._move(
                c,
                job,
                "Withdraw",
                actor,
                CANCELLED,
                "node withdrew; cancelled on L1 meanwhile",
                node=None,
                processing_deadline=None,
            )
            return str(job["job_id"])
        # Re-offer: back to registered under a new attempt.
        self._move(
            c,
            job,
            "Withdraw",
            actor,
            REGISTERED,
            "node withdrew; penalty recorded",
            attempt=job["attempt"] + 1,
            node=None,
            processing_deadline=None,
        )
        return str(job["job_id"])

    def _do_Submit(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._node_job(c, m, "Submit")
        if self.clock() > job["processing_deadline"]:
            raise ActionError(
                409,
                "deadline_passed",
                f"job {job['job_id']} passed its processing deadline; it will be timed out",
            )
        if not m["resultKey"] or len(m["resultKey"]) > 200:
            raise ActionError(422, "invalid_result", "resultKey must be 1..200 characters")
        self._move(
            c, job, "Submit", actor, SUBMITTED, result_key=m["resultKey"], fuel=str(m["fuel"])
        )
        return str(job["job_id"])

    def _submitted(self, c: Connection, m: dict[str, Any], action: str) -> RowMapping:
        job = self._job(c, job_id_hex(m["jobId"]), lock=True)
        if job["state"] != SUBMITTED:
            raise _illegal(job, action, SUBMITTED)
        self._check_attempt(job, action, m["attempt"])
        return job

    def _do_Verify(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._submitted(c, m, "Verify")
        self._move(c, job, "Verify", actor, VERIFIED)
        return str(job["job_id"])

    def _do_RejectResult(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._submitted(c, m, "RejectResult")
        self._penalise(c, job, "rejected")
        self._move(
            c, job, "RejectResult", actor, REJECTED, m["reason"][:500], reason=m["reason"][:500]
        )
        return str(job["job_id"])

    def _do_Reregister(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._job(c, job_id_hex(m["jobId"]), lock=True)
        if job["state"] not in _SUB_RETRY_STATES or job["parent_id"] is None:
            raise _illegal(job, "Reregister", "a rejected or timed-out SubJob")
        self._check_attempt(job, "Reregister", m["attempt"])
        self._move(
            c,
            job,
            "Reregister",
            actor,
            REGISTERED,
            attempt=job["attempt"] + 1,
            node=None,
            result_key=None,
            fuel=None,
            processing_deadline=None,
        )
        return str(job["job_id"])

    def _do_Timeout(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._job(c, job_id_hex(m["jobId"]), lock=True)
        self._check_attempt(job, "Timeout", m["attempt"])
        now = self.clock()
        if job["state"] == PROCESSING:
            if now <= job["processing_deadline"]:
                raise ActionError(
                    409,
                    "not_timed_out",
                    f"job {job['job_id']} is within its deadline "
                    f"({job['processing_deadline'] - now:.1f}s left)",
                )
            self._penalise(c, job, "timeout")
            self._move(c, job, "Timeout", actor, TIMED_OUT, "processing deadline passed")
        elif job["state"] == REGISTERED and not job["children"]:
            if now <= job["expires_at"]:
                raise ActionError(409, "not_timed_out", f"job {job['job_id']} has not expired")
            self._move(c, job, "Timeout", actor, TIMED_OUT, "expired before processing")
        elif job["state"] == SPLIT:
            self._expire_split(c, job, actor, now)
        else:
            raise _illegal(
                job, "Timeout", "processing (past deadline), registered or split (expired)"
            )
        return str(job["job_id"])

    def _expire_split(self, c: Connection, job: RowMapping, actor: str, now: float) -> None:
        """Close a split job whose deadline passed with SubJobs unfinished (``Timeout``).

        The parent and every unfinished SubJob move to ``expired``, which releases their
        committed fees; a SubJob still held by a node past its processing deadline gets the
        usual timeout penalty. The verified SubJobs stay ``verified`` and become billable on
        their own, so the requester pays for exactly the work that was verified. Refused
        while a SubJob is in flight (processing within its deadline, or submitted): that work
        is settled first (submit / verify / reject / time out), so no node loses it.

        Raises:
            ActionError: 409 ``not_timed_out`` before ``expiresAt``, ``subjobs_verified`` when
                every SubJob is verified (``Confirm`` it instead), ``subjobs_in_flight``.
        """
        if now <= job["expires_at"]:
            raise ActionError(409, "not_timed_out", f"job {job['job_id']} has not expired")
        subs = list(
            c.execute(
                select(db.jobs)
                .where(db.jobs.c.parent_id == job["job_id"])
                .order_by(db.jobs.c.sub_index)
                .with_for_update()
            ).mappings()
        )
        if all(s["state"] in (VERIFIED, BILLED) for s in subs):
            raise ActionError(
                409,
                "subjobs_verified",
                f"every SubJob of {job['job_id']} is verified: Confirm it instead",
            )
        in_flight = [
            s["job_id"]
            for s in subs
            if s["state"] == SUBMITTED
            or (s["state"] == PROCESSING and now <= s["processing_deadline"])
        ]
        if in_flight:
            raise ActionError(
                409,
                "subjobs_in_flight",
                f"{len(in_flight)} SubJobs of {job['job_id']} are still being processed or "
                "verified",
                {"inFlight": in_flight[:20]},
            )
        closed = 0
        for s in subs:
            if s["state"] in (VERIFIED, BILLED, CANCELLED):
                continue
            if s["state"] == PROCESSING:
                # Held past its processing deadline: the usual timeout penalty.
                self._penalise(c, s, "timeout")
            self._move(
                c,
                s,
                "Timeout",
                actor,
                EXPIRED,
                "parent expired before this SubJob was verified",
                processing_deadline=None,
            )
            closed += 1
        verified = sum(1 for s in subs if s["state"] in (VERIFIED, BILLED))
        self._move(
            c,
            job,
            "Timeout",
            actor,
            EXPIRED,
            f"expired with {closed} of {len(subs)} SubJobs unfinished; "
            f"{verified} verified SubJobs billed on their own",
        )

    def _do_Confirm(self, c: Connection, actor: str, m: dict[str, Any]) -> str:
        job = self._job(c, job_id_hex(m["jobId"]), lock=True)
        if job["state"] != SPLIT:
            raise _illegal(job, "Confirm", SPLIT)
        subs = list(
            c.execute(select(db.jobs).where(db.jobs.c.parent_id == job["job_id"])).mappings()
        )
        pending = [s["job_id"] for s in subs if s["state"] != VERIFIED]
        if pending:
            raise ActionError(
                409,
                "subjobs_pending",
                f"{len(pending)} of {len(subs)} SubJobs of {job['job_id']} are not verified",
                {"pending": pending[:20]},
            )
        fuel = sum(int(s["fuel"]) for s in subs)
        if m["fuel"] != fuel:
            raise ActionError(422, "invalid_fuel", f"fuel {m['fuel']} given, SubJobs sum to {fuel}")
        if not m["resultKey"] or len(m["resultKey"]) > 200:
            raise ActionError(422, "invalid_result", "resultKey must be 1..200 characters")
        self._move(c, job, "Confirm", actor, CONFIRMED, result_key=m["resultKey"], fuel=str(fuel))
        return str(job["job_id"])

    # -------------------------------------------------------------- tickets
    def store_ticket(self, t: TicketSubmission) -> TicketView:
        """Check a signed Ticket against the database and store it, billing its jobs.

        The Ticket must cover exactly: billable jobs of ``node`` (``jobIds``, in leaf order)
        whose leaves hash to ``jobsRoot``; per-requester ``debits`` equal to the sum of those
        fees (sorted by requester); ``fuel`` the sum of their fuel; ``penalty`` the sum of the
        listed unbilled penalties of the node. Its EmethCore signature must recover to an
        authorised signer. Storing it again (same id, same content) is a no-op.

        Raises:
            ActionError: 401 bad signature, 403 signer not authorised, 409 a job/penalty is
                not billable or the id is taken, 422 inconsistent content.
        """
        node = to_checksum_address(t.node)
        debits = [
            {"requester": to_checksum_address(d.requester), "amount": d.amount} for d in t.debits
        ]
        body = {
            "ticketId": t.ticketId,
            "node": node,
            "jobsRoot": t.jobsRoot,
            "jobCount": t.jobCount,
            "fuel": t.fuel,
            "penalty": t.penalty,
            "debits": debits,
        }
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
        with self._lock, self.engine.begin() as c:
            existing = (
                c.execute(select(db.tickets).where(db.tickets.c.ticket_id == t.ticketId))
                .mappings()
                .first()
            )
            if existing is not None:
                if existing["signature"] == t.signature:
                    return self._ticket_view(c, existing)
                raise ActionError(409, "ticket_exists", f"Ticket {t.ticketId} is already stored")
            expected_id = int(c.execute(select(func.max(db.tickets.c.ticket_id))).scalar() or 0) + 1
            if t.ticketId != expected_id:
                raise ActionError(409, "wrong_ticket_id", f"next Ticket id is {expected_id}")
            rows = {
                r["job_id"]: r
                for r in c.execute(select(db.jobs).where(db.jobs.c.job_id.in_(job_ids))).mappings()
            }
            parents = {
                r["job_id"]: r["state"]
                for r in c.execute(
                    select(db.jobs.c.job_id, db.jobs.c.state).where(
                        db.jobs.c.job_id.in_(
                            {r["parent_id"] for r in rows.values() if r["parent_id"]}
                        )
                    )
                ).mappings()
            }
            leaves: list[bytes] = []
            sums: dict[str, int] = {}
            fuel = 0
            for jid in job_ids:
                r = rows.get(jid)
                if r is None:
                    raise ActionError(404, "unknown_job", f"no job {jid}")
                billable = (
                    r["state"] == VERIFIED
                    and r["ticket_id"] is None
                    and r["node"] == node
                    and (
                        r["parent_id"] is None
                        or parents.get(r["parent_id"]) in _BILLABLE_PARENT_STATES
                    )
                )
                if not billable:
                    raise ActionError(
                        409,
                        "not_billable",
                        f"job {jid} (state {r['state']}, node {r['node']}) "
                        f"is not billable to {node}",
                    )
                leaves.append(job_leaf(jid, r["requester"], node, int(r["fuel"]), int(r["fee"])))
                sums[r["requester"]] = sums.get(r["requester"], 0) + int(r["fee"])
                fuel += int(r["fuel"])
            # Debits in order of each requester's first job (as ticket.build_ticket makes them).
            want_debits = [{"requester": k, "amount": v} for k, v in sums.items()]
            root = "0x" + merkle.root(leaves).hex()
            pens = list(
                c.execute(
                    select(db.penalties).where(db.penalties.c.id.in_(t.penaltyIds))
                ).mappings()
            )
            if len(pens) != len(set(t.penaltyIds)) or any(
                p["node"] != node or p["ticket_id"] is not None for p in pens
            ):
                raise ActionError(
                    409, "not_billable", "a listed penalty is unknown, billed or not this node's"
                )
            penalty = sum(int(p["amount"]) for p in pens)
            problems = []
            if root != t.jobsRoot.lower():
                problems.append(f"jobsRoot {t.jobsRoot} != {root}")
            if debits != want_debits:
                problems.append(f"debits {debits} != {want_debits}")
            if fuel != t.fuel:
                problems.append(f"fuel {t.fuel} != {fuel}")
            if penalty != t.penalty:
                problems.append(f"penalty {t.penalty} != {penalty}")
            if problems:
                raise ActionError(422, "invalid_ticket", "; ".join(problems))
            now = self.clock()
            c.execute(
                insert(db.tickets).values(
                    ticket_id=t.ticketId,
                    node=node,
                    signer=signer,
                    jobs_root=root,
                    job_count=len(job_ids),
                    fuel=str(fuel),
                    penalty=str(penalty),
                    signature=t.signature,
                    settled=False,
                    created_at=now,
                )
            )
            if job_ids:
                c.execute(
                    insert(db.ticket_jobs),
                    [
                        {"ticket_id": t.ticketId, "idx": i, "job_id": j}
                        for i, j in enumerate(job_ids)
                    ],
                )
            if want_debits:
                c.execute(
                    insert(db.ticket_debits),
                    [
                        {
                            "ticket_id": t.ticketId,
                            "idx": i,
                            "requester": d["requester"],
                            "amount": str(d["amount"]),
                        }
                        for i, d in enumerate(want_debits)
                    ],
                )
            if pens:
                c.execute(
                    update(db.penalties)
                    .where(db.penalties.c.id.in_([p["id"] for p in pens]))
                    .values(ticket_id=t.ticketId)
                )
            for jid in job_ids:
                self._move(
                    c,
                    rows[jid],
                    "Ticket",
                    signer,
                    BILLED,
                    f"Ticket {t.ticketId}",
                    ticket_id=t.ticketId,
                )
            # A confirmed parent is billed once every SubJob is (an expired one stays expired).
            for pid in {r["parent_id"] for r in rows.values() if r["parent_id"]}:
                if parents.get(pid) != CONFIRMED:
                    continue
                left = c.execute(
                    select(func.count()).where(
                        db.jobs.c.parent_id == pid, db.jobs.c.state != BILLED
                    )
                ).scalar()
                if not left:
                    self._move(
                        c, self._job(c, pid), "Ticket", signer, BILLED, f"Ticket {t.ticketId}"
                    )
            row = (
                c.execute(select(db.tickets).where(db.tickets.c.ticket_id == t.ticketId))
                .mappings()
                .one()
            )
            return self._ticket_view(c, row)

    def _ticket_view(self, c: Connection, row: RowMapping) -> TicketView:
        tid = row["ticket_id"]
        jobs_ = c.execute(
            select(db.ticket_jobs.c.job_id)
            .where(db.ticket_jobs.c.ticket_id == tid)
            .order_by(db.ticket_jobs.c.idx)
        ).scalars()
        debs = c.execute(
            select(db.ticket_debits)
            .where(db.ticket_debits.c.ticket_id == tid)
            .order_by(db.ticket_debits.c.idx)
        ).mappings()
        return TicketView(
            ticketId=tid,
            node=row["node"],
            signer=row["signer"],
            jobsRoot=row["jobs_root"],
            jobCount=row["job_count"],
            fuel=int(row["fuel"]),
            penalty=int(row["penalty"]),
            debits=[{"requester": d["requester"], "amount": int(d["amount"])} for d in debs],  # type: ignore[misc]
            jobIds=list(jobs_),
            signature=row["signature"],
            settled=row["settled"],
            settledTx=row["settled_tx"],
            createdAt=row["created_at"],
        )

    def mark_settled(self, ticket_id: int, tx_hash: str | None = None) -> bool:
        """Record that Ticket ``ticket_id`` is settled on L1 (checked there). Returns the flag."""
        if not self.l1.ticket_settled(ticket_id):
            return False
        with self._lock, self.engine.begin() as c:
            c.execute(
                update(db.tickets)
                .where(db.tickets.c.ticket_id == ticket_id)
                .values(settled=True, settled_tx=tx_hash)
            )
        return True

    # ------------------------------------------------------------------ L1
    def apply_l1_cancel(self, job_id: bytes, requester: str, at: int, block: int) -> str:
        """Apply an L1 ``JobCancelled`` declaration. Returns the outcome (idempotent).

        A job (or a split parent whose SubJobs have not started) that has not started
        processing is cancelled and never billed; a later cancel is recorded as ``too_late``.
        """
        jid = job_id_hex(job_id)
        requester = to_checksum_address(requester)
        with self._lock, self.engine.begin() as c:
            seen = (
                c.execute(select(db.l1_cancels).where(db.l1_cancels.c.job_id == jid))
                .mappings()
                .first()
            )
            if seen is not None:
                return str(seen["outcome"])
            row = c.execute(select(db.jobs).where(db.jobs.c.job_id == jid)).mappings().first()
            outcome = "cancelled"
            if row is None:
                outcome = "unknown_job"  # registering it later is refused
            elif row["requester"] != requester:
                outcome = "not_requester"
            elif row["state"] == REGISTERED and not row["children"]:
                self._move(c, row, "L1Cancel", requester, CANCELLED, f"L1 block {block}")
            elif row["state"] == SPLIT:
                subs = list(c.execute(select(db.jobs).where(db.jobs.c.parent_id == jid)).mappings())
                if all(s["state"] == REGISTERED for s in subs):
                    for s in subs:
                        self._move(c, s, "L1Cancel", requester, CANCELLED, f"L1 block {block}")
                    self._move(c, row, "L1Cancel", requester, CANCELLED, f"L1 block {block}")
                else:
                    outcome = "too_late"
            else:
                outcome = "too_late"
            if outcome == "too_late" and row is not None:
                # Recorded: if the job is given back (Withdraw), it is cancelled then.
                self._move(c, row, "L1CancelTooLate", requester, row["state"], f"L1 block {block}")
            if outcome != "not_requester":
                c.execute(
                    insert(db.l1_cancels).values(
                        job_id=jid, requester=requester, at=at, block=block, outcome=outcome
                    )
                )
            return outcome

    def get_cursor(self, name: str) -> str | None:
        with self.engine.connect() as c:
            v = c.execute(select(db.cursors.c.value).where(db.cursors.c.name == name)).scalar()
            return str(v) if v is not None else None

    def set_cursor(self, name: str, value: str) -> None:
        with self._lock, self.engine.begin() as c:
            n = c.execute(
                update(db.cursors).where(db.cursors.c.name == name).values(value=value)
            ).rowcount
            if not n:
                c.execute(insert(db.cursors).values(name=name, value=value))
