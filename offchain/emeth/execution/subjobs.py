"""The split-job transitions of the state machine: SplitJob, Reregister, Confirm and the expiry
of a split job (``Timeout`` on a ``split`` parent); the other transitions are in :mod:`.jobs`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, RowMapping

from offchain.common.hashing import keccak
from offchain.emeth.errors import ActionError
from offchain.emeth.execution import db
from offchain.emeth.execution.actions import SUBJOB_ID_BIT, job_id_hex
from offchain.emeth.execution.config import Rules
from offchain.emeth.execution.funds import penalise
from offchain.emeth.execution.jobstore import check_attempt, get_job, illegal, insert_job, move
from offchain.emeth.execution.models import (
    BILLED,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    INPUT_REJECTED,
    INPUT_REPORTED,
    PROCESSING,
    REGISTERED,
    SPLIT,
    SUB_RETRY_STATES,
    SUBMITTED,
    VERIFIED,
)


def subjob_id(parent_id: str, index: int) -> str:
    """Deterministic SubJob id: the first 16 bytes of ``keccak256(parentId ‖ uint256 index)``
    with the top bit set (:data:`~.actions.SUBJOB_ID_BIT`: requester ids have it clear)."""
    raw = bytearray(keccak(bytes.fromhex(parent_id[2:]) + index.to_bytes(32, "big"))[:16])
    raw[0] |= SUBJOB_ID_BIT
    return "0x" + raw.hex()


def split_job(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``SplitJob``: a splitter cuts a registered splittable job into SubJobs sharing its fee."""
    jid = job_id_hex(m["parentId"])
    job = get_job(c, jid, lock=True)
    if job["state"] != REGISTERED:
        raise illegal(job, "SplitJob", REGISTERED)
    if not job["splittable"] or job["parent_id"] is not None:
        raise ActionError(409, "not_splittable", f"job {jid} may not be split")
    keys = m["datasetKeys"]
    n = len(keys)
    fee = int(job["fee"])
    if not 2 <= n <= r.config.max_subjobs:
        raise ActionError(422, "invalid_split", f"a split needs 2..{r.config.max_subjobs} SubJobs")
    if fee < n:
        raise ActionError(422, "invalid_split", f"fee {fee} cannot pay {n} SubJobs")
    if any(not k or len(k) > 200 for k in keys):
        raise ActionError(422, "invalid_dataset", "every datasetKey must be 1..200 characters")
    now = r.clock()
    for i, key in enumerate(keys):
        # Even shares; the last SubJob takes the remainder, so the fees sum to the parent's.
        sub_fee = fee // n + (fee % n if i == n - 1 else 0)
        sid = subjob_id(jid, i)
        insert_job(
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
    move(c, job, "SplitJob", actor, SPLIT, f"{n} SubJobs", now=r.clock(), children=n)
    return jid


def reregister(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``Reregister``: a rejected or timed-out SubJob is offered again under a new attempt."""
    job = get_job(c, job_id_hex(m["jobId"]), lock=True)
    if job["state"] not in SUB_RETRY_STATES or job["parent_id"] is None:
        raise illegal(job, "Reregister", "a rejected or timed-out SubJob")
    check_attempt(job, "Reregister", m["attempt"])
    move(
        c,
        job,
        "Reregister",
        actor,
        REGISTERED,
        now=r.clock(),
        attempt=job["attempt"] + 1,
        node=None,
        result_key=None,
        fuel=None,
        processing_deadline=None,
    )
    return str(job["job_id"])


def expire_split(r: Rules, c: Connection, job: RowMapping, actor: str, now: float) -> None:
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
        if s["state"] in (SUBMITTED, INPUT_REPORTED)
        or (s["state"] == PROCESSING and now <= s["processing_deadline"])
    ]
    if in_flight:
        raise ActionError(
            409,
            "subjobs_in_flight",
            f"{len(in_flight)} SubJobs of {job['job_id']} are still being processed or verified",
            {"inFlight": in_flight[:20]},
        )
    closed = 0
    for s in subs:
        if s["state"] in (VERIFIED, BILLED, CANCELLED, INPUT_REJECTED):
            continue  # done: billed (or billable) on its own, or never billed
        if s["state"] == PROCESSING:
            # Held past its processing deadline: the usual timeout penalty.
            penalise(c, s, "timeout", r.config, r.clock())
        move(
            c,
            s,
            "Timeout",
            actor,
            EXPIRED,
            "parent expired before this SubJob was verified",
            now=r.clock(),
            processing_deadline=None,
        )
        closed += 1
    verified = sum(1 for s in subs if s["state"] in (VERIFIED, BILLED))
    move(
        c,
        job,
        "Timeout",
        actor,
        EXPIRED,
        f"expired with {closed} of {len(subs)} SubJobs unfinished; "
        f"{verified} verified SubJobs billed on their own",
        now=r.clock(),
    )


def confirm(r: Rules, c: Connection, actor: str, m: dict[str, Any]) -> str:
    """``Confirm``: an aggregator closes a split job once every SubJob is verified."""
    job = get_job(c, job_id_hex(m["jobId"]), lock=True)
    if job["state"] != SPLIT:
        raise illegal(job, "Confirm", SPLIT)
    subs = list(c.execute(select(db.jobs).where(db.jobs.c.parent_id == job["job_id"])).mappings())
    # SubJobs are billed on their own as soon as they are verified: billed ones count.
    pending = [s["job_id"] for s in subs if s["state"] not in (VERIFIED, BILLED)]
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
    move(
        c,
        job,
        "Confirm",
        actor,
        CONFIRMED,
        now=r.clock(),
        result_key=m["resultKey"],
        fuel=str(fuel),
    )
    if all(s["state"] == BILLED for s in subs):
        # Every SubJob was billed already: the parent is billed with its confirmation.
        confirmed = get_job(c, job["job_id"])
        move(c, confirmed, "Confirm", actor, BILLED, "every SubJob already billed", now=r.clock())
    return str(job["job_id"])
