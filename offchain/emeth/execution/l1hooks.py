"""What the L1 watcher (:mod:`offchain.emeth.agents.l1watch`) writes into the execution layer:
``JobCancelled`` declarations applied to jobs, and the watcher's saved cursors.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from offchain.emeth.execution import db
from offchain.emeth.execution.actions import is_subjob_id
from offchain.emeth.execution.jobstore import move
from offchain.emeth.execution.models import CANCELLED, REGISTERED, SPLIT


def apply_cancel(
    c: Connection, jid: str, requester: str, at: int, block: int, clock: Callable[[], float]
) -> str:
    """Apply an L1 ``JobCancelled`` of job ``jid`` by ``requester``. Returns the outcome.

    See ``ExecutionLayer.apply_l1_cancel``; outcomes are ``cancelled``, ``too_late``,
    ``unknown_job``, ``not_requester`` and ``subjob``; the first three are recorded under
    (job id, requester), so an outsider's cancel never blocks anyone else's job (idempotent).
    """
    seen = (
        c.execute(
            select(db.l1_cancels).where(
                db.l1_cancels.c.job_id == jid, db.l1_cancels.c.requester == requester
            )
        )
        .mappings()
        .first()
    )
    if seen is not None:
        return str(seen["outcome"])
    row = c.execute(select(db.jobs).where(db.jobs.c.job_id == jid)).mappings().first()
    detail = f"L1 block {block}"
    outcome = "cancelled"
    if is_subjob_id(jid):
        return "subjob"  # EmethCore refuses these; a parent's cancel covers its SubJobs
    if row is None:
        outcome = "unknown_job"  # registering it later is refused
    elif row["requester"] != requester:
        outcome = "not_requester"
    elif row["state"] == REGISTERED and not row["children"]:
        move(c, row, "L1Cancel", requester, CANCELLED, detail, now=clock())
    elif row["state"] == SPLIT:
        subs = list(c.execute(select(db.jobs).where(db.jobs.c.parent_id == jid)).mappings())
        if all(s["state"] == REGISTERED for s in subs):
            for s in subs:
                move(c, s, "L1Cancel", requester, CANCELLED, detail, now=clock())
            move(c, row, "L1Cancel", requester, CANCELLED, detail, now=clock())
        else:
            outcome = "too_late"
    else:
        outcome = "too_late"
    if outcome == "too_late" and row is not None:
        # Recorded: if the job is given back (Withdraw), it is cancelled then.
        move(c, row, "L1CancelTooLate", requester, row["state"], detail, now=clock())
    if outcome != "not_requester":
        c.execute(
            insert(db.l1_cancels).values(
                job_id=jid, requester=requester, at=at, block=block, outcome=outcome
            )
        )
    return outcome


def get_cursor(c: Connection, name: str) -> str | None:
    """The value saved under cursor ``name``, if any."""
    v = c.execute(select(db.cursors.c.value).where(db.cursors.c.name == name)).scalar()
    return str(v) if v is not None else None


def set_cursor(c: Connection, name: str, value: str) -> None:
    """Save ``value`` under cursor ``name`` (insert or update)."""
    n = c.execute(update(db.cursors).where(db.cursors.c.name == name).values(value=value)).rowcount
    if not n:
        c.execute(insert(db.cursors).values(name=name, value=value))
