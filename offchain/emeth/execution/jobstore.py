"""Job rows of the execution layer: reads and views, and the writes every transition goes through.

:func:`move` (a state change plus its history entry) and :func:`insert_job` are the only ways a
job's state is written; :func:`illegal` and :func:`check_attempt` are the checks on a job row
that every transition shares.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from offchain.emeth.errors import ActionError
from offchain.emeth.execution import db
from offchain.emeth.execution.actions import job_id_hex
from offchain.emeth.execution.models import (
    BILLABLE_STATES,
    REGISTERED,
    STATES,
    JobView,
)


def job_view(row: RowMapping) -> JobView:
    """The API view of a ``jobs`` row."""
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


def get_job(c: Connection, job_id: str, lock: bool = False) -> RowMapping:
    """The row of ``job_id`` (``lock``: ``SELECT ... FOR UPDATE``). Raises ActionError 404."""
    q = select(db.jobs).where(db.jobs.c.job_id == job_id)
    if lock:
        q = q.with_for_update()
    row = c.execute(q).mappings().first()
    if row is None:
        raise ActionError(404, "unknown_job", f"no job {job_id}")
    return row


def query_jobs(
    c: Connection,
    state: str | None,
    node: str | None,
    requester: str | None,
    parent: str | None,
    billable: bool,
    limit: int,
    offset: int,
) -> list[JobView]:
    """Jobs matching every given filter, oldest first (see ``ExecutionLayer.jobs``)."""
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
        # Each verified job is billable on its own, a SubJob too whatever its parent's state:
        # the requester pays for every verified result, split or not.
        q = q.where(db.jobs.c.state.in_(BILLABLE_STATES), db.jobs.c.ticket_id.is_(None))
    q = q.order_by(db.jobs.c.created_at, db.jobs.c.sub_index, db.jobs.c.job_id)
    q = q.limit(max(1, min(limit, 1000))).offset(max(0, offset))
    return [job_view(r) for r in c.execute(q).mappings()]


def job_history(c: Connection, job_id: str) -> list[dict[str, Any]]:
    """Every transition of ``job_id``, oldest first. Raises ActionError 404."""
    get_job(c, job_id)
    rows = c.execute(
        select(db.history).where(db.history.c.job_id == job_id).order_by(db.history.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def state_counts(c: Connection) -> dict[str, int]:
    """Number of jobs per state (every state listed)."""
    rows = c.execute(select(db.jobs.c.state, func.count()).group_by(db.jobs.c.state))
    out = {s: 0 for s in STATES}
    out.update({s: int(n) for s, n in rows})
    return out


def action_result(c: Connection, action: str, job_id: str) -> dict[str, Any]:
    """``{"action", "job"}`` after ``action`` (for SplitJob also ``subJobs``)."""
    job = get_job(c, job_id)
    out: dict[str, Any] = {"action": action, "job": job_view(job).model_dump()}
    if action == "SplitJob":
        rows = c.execute(
            select(db.jobs).where(db.jobs.c.parent_id == job_id).order_by(db.jobs.c.sub_index)
        ).mappings()
        out["subJobs"] = [job_view(r).model_dump() for r in rows]
    return out


def applied_action(c: Connection, digest: str) -> RowMapping | None:
    """The ``applied_actions`` row of an action already applied (by EIP-712 digest), if any."""
    return (
        c.execute(select(db.applied_actions).where(db.applied_actions.c.digest == digest))
        .mappings()
        .first()
    )


def record_applied(
    c: Connection, digest: str, action: str, actor: str, job_id: str, now: float
) -> None:
    """Remember an applied action, so that re-sending it is a replay."""
    c.execute(
        insert(db.applied_actions).values(
            digest=digest, action=action, actor=actor, job_id=job_id, at=now
        )
    )


def move(
    c: Connection,
    job: RowMapping,
    action: str,
    actor: str,
    to_state: str,
    detail: str | None = None,
    *,
    now: float,
    **values: Any,
) -> None:
    """Set ``job``'s state to ``to_state`` (and ``values``) and record the transition."""
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


def insert_job(
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


def cancel_declared(c: Connection, job: RowMapping) -> bool:
    """Whether ``job``'s requester declared it cancelled on L1 (a SubJob: its parent).

    Only the requester's own cancel counts (cancels are keyed by (job id, requester)), and a
    SubJob is covered by its parent's cancel alone (EmethCore refuses SubJob ids).
    """
    target = job["parent_id"] or job["job_id"]
    q = select(db.l1_cancels.c.job_id).where(
        db.l1_cancels.c.job_id == target, db.l1_cancels.c.requester == job["requester"]
    )
    return c.execute(q).first() is not None


def illegal(job: RowMapping, action: str, expected: str) -> ActionError:
    """The 409 ``illegal_transition`` error of ``action`` on ``job`` (which needs ``expected``)."""
    return ActionError(
        409,
        "illegal_transition",
        f"{action} on job {job['job_id']} in state {job['state']} (needs {expected})",
        {"state": job["state"], "attempt": job["attempt"]},
    )


def check_attempt(job: RowMapping, action: str, attempt: int) -> None:
    """Refuse an action signed for another attempt of ``job`` (409 ``stale_attempt``)."""
    if attempt != job["attempt"]:
        raise ActionError(
            409,
            "stale_attempt",
            f"{action} for attempt {attempt} of job {job['job_id']}, which is at attempt "
            f"{job['attempt']}",
            {"state": job["state"], "attempt": job["attempt"]},
        )


def record_backing(c: Connection, action: str, job_id: str, signature: str, at: float) -> None:
    """Keep what a posted Ticket's leaf needs (table ``job_backing``): a ``RegisterJob``'s
    signature, the time of a ``Process`` (the latest attempt's)."""
    t = db.job_backing
    row = c.execute(select(t.c.job_id).where(t.c.job_id == job_id)).first()
    values: dict[str, Any] = (
        {"register_sig": signature} if action == "RegisterJob" else {"processed_at": int(at)}
    )
    if row is None:
        c.execute(t.insert().values(job_id=job_id, **values))
    else:
        c.execute(t.update().where(t.c.job_id == job_id).values(**values))


def backing_of(c: Connection, job_id: str) -> dict[str, Any]:
    """The ``JobBacking`` JSON (``offchain.emeth.backing``) of a processed job: its fee and
    fuel, the RegisterJob its requester signed (its parent's for a SubJob) with the signature,
    and its Process time.

    Raises:
        ActionError: 404 unknown job, 409 ``not_processed`` (no Process or fuel yet).
    """
    job = get_job(c, job_id)
    reg = get_job(c, job["parent_id"]) if job["parent_id"] else job
    t = db.job_backing
    sig = c.execute(select(t.c.register_sig).where(t.c.job_id == reg["job_id"])).scalar()
    at = c.execute(select(t.c.processed_at).where(t.c.job_id == job_id)).scalar()
    if at is None or job["fuel"] is None or sig is None:
        raise ActionError(409, "not_processed", f"job {job_id} has no Process and fuel yet")
    return {
        "jobId": job["job_id"],
        "requester": job["requester"],
        "fuel": str(job["fuel"]),
        "fee": str(job["fee"]),
        "part": 0 if not job["parent_id"] else int(job["sub_index"]) + 1,
        "register": {
            "jobId": reg["job_id"],
            "requester": reg["requester"],
            "programId": reg["program_id"],
            "datasetKey": reg["dataset_key"],
            "params": reg["params"],
            "fee": str(reg["fee"]),
            "timeoutSeconds": str(reg["timeout_s"]),
            "expiresAt": str(int(reg["expires_at"])),
            "splittable": bool(reg["splittable"]),
        },
        "registerSignature": sig,
        "processedAt": int(at),
    }
