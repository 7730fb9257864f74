"""The job state machine: one handler per signed action, each checking and applying a transition.

Handlers run inside the transaction the service opens (:meth:`ExecutionLayer.apply`), after it
has checked the signature and role; the split-job transitions live in :mod:`.subjobs`.

States and transitions (docs/spec.md "EMETH execution layer")::

    registered --Process--> processing --Submit--> submitted --Verify--> verified
        |                    processing --ReportInput--> input_reported
        |                    input_reported --RejectInput--> input_rejected (requester billed)
        |                    input_reported --RefuseReport--> registered (attempt+1, penalty)
        |  \\--SplitJob--> split --Confirm (all SubJobs verified)--> confirmed
        |                    processing --Withdraw--> registered (attempt+1, penalty)
        |                    processing --Timeout--> timed_out (penalty)
        |                    submitted --RejectResult--> rejected (penalty)
        |                    rejected|timed_out --Reregister (SubJobs)--> registered (attempt+1)
        \\--L1 cancel--> cancelled
    split --Timeout (past expiresAt, a SubJob unverified, none in flight)--> expired
        (its unfinished SubJobs -> expired too; its verified SubJobs stay billable)
    verified | input_rejected (a plain job or any SubJob) --Ticket--> billed
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, RowMapping

from offchain.emeth.errors import ActionError
from offchain.emeth.execution import db, subjobs
from offchain.emeth.execution.actions import is_subjob_id, job_id_hex
from offchain.emeth.execution.config import Rules
from offchain.emeth.execution.funds import (
    check_funded,
    check_node,
    longest_timeout_s,
    penalise,
)
from offchain.emeth.execution.jobstore import (
    cancel_declared,
    check_attempt,
    get_job,
    illegal,
    insert_job,
    move,
)
from offchain.emeth.execution.models import (
    CANCELLED,
    INPUT_REJECTED,
    INPUT_REPORTED,
    PROCESSING,
    REGISTERED,
    REJECTED,
    SPLIT,
    SUBMITTED,
    TIMED_OUT,
    VERIFIED,
)

Handler = Callable[[Rules, Connection, str, dict[str, Any]], str]
"""A transition: ``(rules, connection, actor, normalized message) -> id of the job it moved``."""


def register_job(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``RegisterJob``: a new job, its fee backed by the requester's available deposit."""
    jid = job_id_hex(m["jobId"])
    now = r.clock()
    cfg = r.config
    if is_subjob_id(jid):
        raise ActionError(
            422,
            "reserved_job_id",
            f"job id {jid} has its top bit set: that id space is reserved for SubJobs",
        )
    if m["programId"] not in r.programs:
        raise ActionError(
            422,
            "unknown_program",
            f"unknown program {m['programId']!r}",
            {"known": sorted(r.programs)},
        )
    if m["fee"] == 0:
        raise ActionError(422, "invalid_fee", "fee must be positive")
    longest = longest_timeout_s(r.l1, cfg)
    if not 1 <= m["timeoutSeconds"] <= longest:
        raise ActionError(
            422,
            "invalid_timeout",
            f"timeoutSeconds must be 1..{longest}: the job must settle on L1 before a "
            f"withdrawal its requester or node asks for meanwhile is ready (the withdrawal "
            f"delays less a settle margin of {cfg.settle_margin_s}s and the Ticket dispute "
            f"window of {r.l1.ticket_dispute_window_s()}s)",
            {"maxTimeoutSeconds": longest},
        )
    if m["expiresAt"] <= now:
        raise ActionError(422, "invalid_expiry", "expiresAt is in the past")
    if m["expiresAt"] > now + cfg.max_expiry_s:
        raise ActionError(
            422,
            "invalid_expiry",
            f"expiresAt is more than {cfg.max_expiry_s}s ahead",
            {"maxExpiresAt": int(now + cfg.max_expiry_s)},
        )
    if not m["datasetKey"] or len(m["datasetKey"]) > 200:
        raise ActionError(422, "invalid_dataset", "datasetKey must be 1..200 characters")
    # Length first: a huge or deeply nested params string is never parsed.
    if len(m["params"]) > cfg.max_params_bytes:
        raise ActionError(422, "invalid_params", f"params over {cfg.max_params_bytes} bytes")
    try:
        params = json.loads(m["params"] or "{}")
        if not isinstance(params, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError) as e:
        raise ActionError(422, "invalid_params", f"params must be a JSON object: {e}") from e
    if c.execute(select(db.jobs.c.job_id).where(db.jobs.c.job_id == jid)).first():
        raise ActionError(409, "job_exists", f"job {jid} is already registered")
    own_cancel = select(db.l1_cancels.c.job_id).where(
        db.l1_cancels.c.job_id == jid, db.l1_cancels.c.requester == actor
    )
    if c.execute(own_cancel).first():
        raise ActionError(409, "job_cancelled", f"job {jid} was cancelled on L1")
    check_funded(c, r.l1, actor, m["fee"], "RegisterJob")
    insert_job(
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


def process(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``Process``: a node with enough free collateral takes a registered job."""
    job = get_job(c, job_id_hex(m["jobId"]), lock=True)
    if job["state"] != REGISTERED or job["children"]:
        raise illegal(job, "Process", REGISTERED)
    check_attempt(job, "Process", m["attempt"])
    now = r.clock()
    if now > job["expires_at"]:
        raise ActionError(409, "job_expired", f"job {job['job_id']} expired")
    # The requester's own cancel of the job (a SubJob: of its parent), recorded or live on L1.
    target = job["parent_id"] or job["job_id"]
    if cancel_declared(c, job) or r.l1.is_cancelled(bytes.fromhex(target[2:]), job["requester"]):
        raise ActionError(409, "job_cancelled", f"job {target} was cancelled on L1")
    if actor == job["requester"]:
        # A node paying itself would add fuel to its own totalFuel for nothing.
        raise ActionError(
            403,
            "self_dealing",
            f"node {actor} is the requester of job {job['job_id']}: it cannot process it",
        )
    longest = longest_timeout_s(r.l1, r.config)
    if job["timeout_s"] > longest:
        # The withdrawal delays were lowered since it was registered.
        raise ActionError(
            409,
            "timeout_exceeds_delay",
            f"job {job['job_id']} has a {job['timeout_s']}s processing window; the "
            f"withdrawal delays now cover at most {longest}s",
            {"maxTimeoutSeconds": longest},
        )
    failed = select(db.penalties.c.id).where(
        db.penalties.c.job_id == job["job_id"], db.penalties.c.node == actor
    )
    if c.execute(failed).first():
        raise ActionError(
            409,
            "retake_refused",
            f"node {actor} failed an earlier attempt of job {job['job_id']}: no retake",
        )
    check_node(c, r.l1, actor, "Process", int(job["fee"]), r.config)
    # The requester's deposit must still back this job (it may have asked to withdraw).
    check_funded(c, r.l1, job["requester"], 0, "Process")
    move(
        c,
        job,
        "Process",
        actor,
        PROCESSING,
        now=r.clock(),
        node=actor,
        processing_deadline=now + job["timeout_s"],
    )
    return str(job["job_id"])


def _node_job(c: Connection, m: dict[str, Any], action: str) -> RowMapping:
    """The processing job ``m`` names, checked to be held by ``m["node"]`` at that attempt."""
    job = get_job(c, job_id_hex(m["jobId"]), lock=True)
    if job["state"] != PROCESSING:
        raise illegal(job, action, PROCESSING)
    check_attempt(job, action, m["attempt"])
    if job["node"] != m["node"]:
        raise ActionError(403, "not_assigned", f"job {job['job_id']} is processed by {job['node']}")
    return job


def withdraw(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``Withdraw``: the node gives the job back (penalised); it is re-offered or cancelled."""
    job = _node_job(c, m, "Withdraw")
    penalise(c, job, "withdrawn", r.config, r.clock())
    return _reoffer(r, c, job, "Withdraw", actor, "node withdrew; penalty recorded")


def report_input(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``ReportInput``: the node says the job's input is unusable (no penalty yet: the
    verifier runs the program and confirms with ``RejectInput`` or refuses with
    ``RefuseReport``)."""
    job = _node_job(c, m, "ReportInput")
    reason = m["reason"][:500]
    move(c, job, "ReportInput", actor, INPUT_REPORTED, reason, now=r.clock(), reason=reason)
    return str(job["job_id"])


def _reported(c: Connection, m: dict[str, Any], action: str) -> RowMapping:
    """The ``input_reported`` job ``m`` names, at that attempt."""
    job = get_job(c, job_id_hex(m["jobId"]), lock=True)
    if job["state"] != INPUT_REPORTED:
        raise illegal(job, action, INPUT_REPORTED)
    check_attempt(job, action, m["attempt"])
    return job


def reject_input(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``RejectInput``: the verifier confirms the input is unusable. The requester caused the
    failure, so it is charged the fee (billable to the reporting node, fuel 0); no penalty."""
    job = _reported(c, m, "RejectInput")
    reason = m["reason"][:500]
    move(
        c, job, "RejectInput", actor, INPUT_REJECTED, reason, now=r.clock(), reason=reason, fuel="0"
    )
    return str(job["job_id"])


def refuse_report(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``RefuseReport``: the verifier ran the program on the input without failure: the node's
    report was false, it is penalised and the job re-offered (to other nodes)."""
    job = _reported(c, m, "RefuseReport")
    penalise(c, job, "false_report", r.config, r.clock())
    return _reoffer(r, c, job, "RefuseReport", actor, "input report refused; penalty recorded")


def _reoffer(r: Rules, c: Connection, job: RowMapping, action: str, actor: str, why: str) -> str:
    """Give ``job`` back to the market under a new attempt, or cancel it if its requester
    cancelled it on L1 meanwhile."""
    if cancel_declared(c, job):
        # The requester cancelled on L1 while it was processing: not re-offered.
        move(
            c,
            job,
            action,
            actor,
            CANCELLED,
            f"{why}; cancelled on L1 meanwhile",
            now=r.clock(),
            node=None,
            processing_deadline=None,
        )
        return str(job["job_id"])
    # Re-offer: back to registered under a new attempt.
    move(
        c,
        job,
        action,
        actor,
        REGISTERED,
        why,
        now=r.clock(),
        attempt=job["attempt"] + 1,
        node=None,
        processing_deadline=None,
    )
    return str(job["job_id"])


def submit(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``Submit``: the node hands in a result before its processing deadline."""
    job = _node_job(c, m, "Submit")
    if r.clock() > job["processing_deadline"]:
        raise ActionError(
            409,
            "deadline_passed",
            f"job {job['job_id']} passed its processing deadline; it will be timed out",
        )
    if not m["resultKey"] or len(m["resultKey"]) > 200:
        raise ActionError(422, "invalid_result", "resultKey must be 1..200 characters")
    price = r.config.min_fuel_price_wei
    if job["parent_id"] is None and price and m["fuel"] * price > int(job["fee"]):
        # A plain job's fuel is paid for by its fee (a SubJob's by its parent's, checked
        # at registration; the verifier checks every fuel against the program).
        raise ActionError(
            422,
            "invalid_fuel",
            f"fuel {m['fuel']} is more than the fee {job['fee']} pays for at {price} wei per unit",
            {"maxFuel": int(job["fee"]) // price},
        )
    move(
        c,
        job,
        "Submit",
        actor,
        SUBMITTED,
        now=r.clock(),
        result_key=m["resultKey"],
        fuel=str(m["fuel"]),
    )
    return str(job["job_id"])


def _submitted(c: Connection, m: dict[str, Any], action: str) -> RowMapping:
    """The submitted job ``m`` names, at that attempt."""
    job = get_job(c, job_id_hex(m["jobId"]), lock=True)
    if job["state"] != SUBMITTED:
        raise illegal(job, action, SUBMITTED)
    check_attempt(job, action, m["attempt"])
    return job


def verify(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``Verify``: a verifier accepts the submitted result (the job becomes billable)."""
    job = _submitted(c, m, "Verify")
    move(c, job, "Verify", actor, VERIFIED, now=r.clock())
    return str(job["job_id"])


def reject_result(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``RejectResult``: a verifier refuses the submitted result (the node is penalised)."""
    job = _submitted(c, m, "RejectResult")
    penalise(c, job, "rejected", r.config, r.clock())
    move(
        c,
        job,
        "RejectResult",
        actor,
        REJECTED,
        m["reason"][:500],
        now=r.clock(),
        reason=m["reason"][:500],
    )
    return str(job["job_id"])


def timeout(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``Timeout``: a job past its processing deadline or expiry (a split job: expired)."""
    job = get_job(c, job_id_hex(m["jobId"]), lock=True)
    check_attempt(job, "Timeout", m["attempt"])
    now = r.clock()
    if job["state"] == PROCESSING:
        if now <= job["processing_deadline"]:
            raise ActionError(
                409,
                "not_timed_out",
                f"job {job['job_id']} is within its deadline "
                f"({job['processing_deadline'] - now:.1f}s left)",
            )
        penalise(c, job, "timeout", r.config, r.clock())
        if job["parent_id"] is None and now < job["expires_at"]:
            # A top-level job is offered again (a SubJob waits for Reregister).
            _reoffer(r, c, job, "Timeout", actor, "processing deadline passed; penalty recorded")
        else:
            move(c, job, "Timeout", actor, TIMED_OUT, "processing deadline passed", now=r.clock())
    elif job["state"] == REGISTERED and not job["children"]:
        if now <= job["expires_at"]:
            raise ActionError(409, "not_timed_out", f"job {job['job_id']} has not expired")
        move(c, job, "Timeout", actor, TIMED_OUT, "expired before processing", now=r.clock())
    elif job["state"] == SPLIT:
        subjobs.expire_split(r, c, job, actor, now)
    else:
        raise illegal(job, "Timeout", "processing (past deadline), registered or split (expired)")
    return str(job["job_id"])


HANDLERS: dict[str, Handler] = {
    "RegisterJob": register_job,
    "SplitJob": subjobs.split_job,
    "Process": process,
    "Withdraw": withdraw,
    "Submit": submit,
    "ReportInput": report_input,
    "RejectInput": reject_input,
    "RefuseReport": refuse_report,
    "Verify": verify,
    "RejectResult": reject_result,
    "Reregister": subjobs.reregister,
    "Timeout": timeout,
    "Confirm": subjobs.confirm,
}
"""The transition of each EIP-712 action (``actions.ACTION_TYPES``)."""


def transition(r: Rules, c: Connection, action: str, actor: str, m: dict[str, Any]) -> str:
    """Check and apply ``action`` (already normalized and authenticated) in transaction ``c``.

    Returns:
        The id of the job the action moved.
    """
    return HANDLERS[action](r, c, actor, m)
