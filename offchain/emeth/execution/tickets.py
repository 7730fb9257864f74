"""Tickets in the execution layer: checking a signed Ticket against the jobs and penalties it
bills, storing it (jobs move to ``billed``), and reading Tickets back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from offchain.common import merkle
from offchain.emeth.backing import JobBacking
from offchain.emeth.errors import ActionError
from offchain.emeth.execution import db, jobstore
from offchain.emeth.execution.jobstore import get_job, move
from offchain.emeth.execution.models import (
    BILLABLE_STATES,
    BILLED,
    CONFIRMED,
    DebitProofView,
    TicketSubmission,
    TicketView,
)
from offchain.emeth.ticket import debit_leaf


def backed_leaf(c: Connection, job_id: str, processed_cap: int) -> JobBacking:
    """The ``JobBacking`` leaf of a billable job in a posted Ticket whose Signer read L1
    time ``processed_cap``: its stored backing with the Process dated
    ``min(processedAt, processed_cap)`` (the service's clock may run ahead of L1, and a leaf
    dated after the posting is disputable; docs/spec.md, "Disputes and the bonded Signer
    set")."""
    doc = jobstore.backing_of(c, job_id)
    doc["processedAt"] = min(int(doc["processedAt"]), processed_cap)
    return JobBacking.from_dict(doc)


def signed_body(t: TicketSubmission) -> dict[str, Any]:
    """The fields of ``t`` its signature covers, directly or through ``debitsRoot``
    (addresses checksummed; the derived ``debitsRoot``/``debitCount``/``totalDebit`` if given)."""
    body: dict[str, Any] = {
        "ticketId": t.ticketId,
        "node": to_checksum_address(t.node),
        "jobsRoot": t.jobsRoot,
        "jobCount": t.jobCount,
        "fuel": t.fuel,
        "penalty": t.penalty,
        "validUntil": t.validUntil,
        "debits": [
            {
                "requester": to_checksum_address(d.requester),
                "amount": d.amount,
                "cumulative": d.cumulative,
                "prevTicketId": d.prevTicketId,
            }
            for d in t.debits
        ],
    }
    for k in ("debitsRoot", "debitCount", "totalDebit"):
        if getattr(t, k) is not None:
            body[k] = getattr(t, k)
    return body


def _ticket_debits(c: Connection, ticket_id: int) -> list[dict[str, Any]]:
    """The debits of a stored Ticket, in leaf order, as API dicts."""
    rows = c.execute(
        select(db.ticket_debits)
        .where(db.ticket_debits.c.ticket_id == ticket_id)
        .order_by(db.ticket_debits.c.idx)
    ).mappings()
    return [
        {
            "requester": d["requester"],
            "amount": int(d["amount"]),
            "cumulative": int(d["cumulative"]),
            "prevTicketId": int(d["prev_ticket_id"]),
        }
        for d in rows
    ]


def _debit_leaves(debits: list[dict[str, Any]]) -> list[bytes]:
    return [debit_leaf(d["requester"], d["cumulative"], d["prevTicketId"]) for d in debits]


def ticket_view(c: Connection, row: RowMapping) -> TicketView:
    """The API view of a ``tickets`` row, with its jobs and debits."""
    tid = row["ticket_id"]
    jobs_ = c.execute(
        select(db.ticket_jobs.c.job_id)
        .where(db.ticket_jobs.c.ticket_id == tid)
        .order_by(db.ticket_jobs.c.idx)
    ).scalars()
    debs = _ticket_debits(c, int(tid))
    return TicketView(
        ticketId=tid,
        node=row["node"],
        signer=row["signer"],
        jobsRoot=row["jobs_root"],
        jobCount=row["job_count"],
        fuel=int(row["fuel"]),
        penalty=int(row["penalty"]),
        debitsRoot="0x" + merkle.root(_debit_leaves(debs)).hex(),
        debitCount=len(debs),
        totalDebit=sum(d["amount"] for d in debs),
        validUntil=int(row["valid_until"]),
        debits=debs,  # type: ignore[arg-type]
        jobIds=list(jobs_),
        signature=row["signature"],
        settled=row["settled"],
        expired=row["expired"],
        settledTx=row["settled_tx"],
        createdAt=row["created_at"],
    )


def list_tickets(
    c: Connection, node: str | None, settled: bool | None, limit: int
) -> list[TicketView]:
    """Stored Tickets, by id (optionally of one node, optionally by settled flag)."""
    q = select(db.tickets).order_by(db.tickets.c.ticket_id).limit(max(1, min(limit, 1000)))
    if node:
        q = q.where(db.tickets.c.node == to_checksum_address(node))
    if settled is not None:
        q = q.where(db.tickets.c.settled == settled)
    return [ticket_view(c, r) for r in c.execute(q).mappings()]


def _row(c: Connection, ticket_id: int) -> RowMapping | None:
    return (
        c.execute(select(db.tickets).where(db.tickets.c.ticket_id == ticket_id)).mappings().first()
    )


def get_ticket(c: Connection, ticket_id: int) -> TicketView:
    """One Ticket. Raises ActionError 404 when unknown."""
    row = _row(c, ticket_id)
    if row is None:
        raise ActionError(404, "unknown_ticket", f"no Ticket {ticket_id}")
    return ticket_view(c, row)


def next_ticket_id(c: Connection, el_id: int) -> int:
    """The id the next stored Ticket must carry: ``el_id << 32 | n`` for this execution
    layer's ``n``-th Ticket (so no two execution layers share a Ticket id on EmethCore)."""
    last = c.execute(select(func.max(db.tickets.c.ticket_id))).scalar()
    return int(last) + 1 if last else (el_id << 32) | 1


def prior_debits(c: Connection, requesters: set[str]) -> dict[str, tuple[int, int]]:
    """Per requester, ``(cumulative debit, Ticket id)`` of its newest leaf in this execution
    layer's Tickets (requesters never debited are absent)."""
    if not requesters:
        return {}
    newest = (
        select(db.ticket_debits.c.requester, func.max(db.ticket_debits.c.ticket_id).label("tid"))
        .where(db.ticket_debits.c.requester.in_(requesters))
        .group_by(db.ticket_debits.c.requester)
        .subquery()
    )
    rows = c.execute(
        select(db.ticket_debits.c.requester, db.ticket_debits.c.cumulative, newest.c.tid).join(
            newest,
            (db.ticket_debits.c.requester == newest.c.requester)
            & (db.ticket_debits.c.ticket_id == newest.c.tid),
        )
    ).all()
    return {r: (int(cum), int(tid)) for r, cum, tid in rows}


def carries(c: Connection, requesters: set[str]) -> dict[str, int]:
    """Per requester, its debits in expired Tickets not yet used as ``carried`` by a later
    debit: counted in its chain's cumulative, paid to nobody (docs/spec.md, "Ticket
    validity")."""
    if not requesters:
        return {}
    rows = c.execute(
        select(
            db.ticket_debits.c.requester,
            db.ticket_debits.c.amount,
            db.ticket_debits.c.carried,
            db.tickets.c.expired,
        )
        .join(db.tickets, db.tickets.c.ticket_id == db.ticket_debits.c.ticket_id)
        .where(db.ticket_debits.c.requester.in_(requesters))
    ).all()
    out: dict[str, int] = {}
    for r, amount, carried, expired in rows:
        out[r] = out.get(r, 0) + (int(amount) if expired else 0) - int(carried)
    return {r: v for r, v in out.items() if v > 0}


def expire(c: Connection, ticket_id: int, clock: Callable[[], float]) -> None:
    """Mark Ticket ``ticket_id`` expired (the caller checked L1: past ``validUntil``, never
    settled) and release what it billed: each job back to the state it was billed from, each
    confirmed parent it billed back to ``confirmed``, each penalty back to unbilled."""
    c.execute(update(db.tickets).where(db.tickets.c.ticket_id == ticket_id).values(expired=True))
    job_ids = list(
        c.execute(
            select(db.ticket_jobs.c.job_id).where(db.ticket_jobs.c.ticket_id == ticket_id)
        ).scalars()
    )
    c.execute(delete(db.ticket_jobs).where(db.ticket_jobs.c.ticket_id == ticket_id))
    detail = f"Ticket {ticket_id}"
    billed_parents = list(
        c.execute(
            select(db.history.c.job_id).where(
                db.history.c.action == "Ticket",
                db.history.c.to_state == BILLED,
                db.history.c.detail == detail,
                db.history.c.job_id.not_in(job_ids),
            )
        ).scalars()
    )
    for jid in [*job_ids, *billed_parents]:
        job = get_job(c, jid)
        if job["state"] != BILLED:
            continue
        back = c.execute(
            select(db.history.c.from_state)
            .where(
                db.history.c.job_id == jid,
                db.history.c.to_state == BILLED,
                db.history.c.detail == detail,
            )
            .order_by(db.history.c.id.desc())
            .limit(1)
        ).scalar()
        if back is None:
            continue
        values: dict[str, Any] = {"ticket_id": None} if jid in job_ids else {}
        move(c, job, "TicketExpired", "l1", str(back), detail, now=clock(), **values)
    c.execute(
        update(db.penalties).where(db.penalties.c.ticket_id == ticket_id).values(ticket_id=None)
    )


def debit_proof(c: Connection, requester: str, settled: bool) -> DebitProofView:
    """The requester's newest leaf (in a settled Ticket if ``settled``) and its proof.

    Raises:
        ActionError: 404 when no such Ticket debits the requester.
    """
    q = (
        select(db.ticket_debits.c.ticket_id)
        .join(db.tickets, db.tickets.c.ticket_id == db.ticket_debits.c.ticket_id)
        .where(db.ticket_debits.c.requester == requester)
    )
    if settled:
        q = q.where(db.tickets.c.settled.is_(True))
    tid = c.execute(q.order_by(db.ticket_debits.c.ticket_id.desc()).limit(1)).scalar()
    if tid is None:
        what = "settled Ticket" if settled else "Ticket"
        raise ActionError(404, "no_debit", f"no {what} of this execution layer debits {requester}")
    debs = _ticket_debits(c, int(tid))
    index = next(i for i, d in enumerate(debs) if d["requester"] == requester)
    tree = merkle.MerkleTree(_debit_leaves(debs))
    row = _row(c, int(tid))
    return DebitProofView(
        requester=requester,
        ticketId=int(tid),
        cumulative=debs[index]["cumulative"],
        prevTicketId=debs[index]["prevTicketId"],
        index=index,
        proof=["0x" + p.hex() for p in tree.proof(index)],
        settled=bool(row is not None and row["settled"]),
        carry=carries(c, {requester}).get(requester, 0),
    )


def set_settled(c: Connection, ticket_id: int, tx_hash: str | None) -> None:
    """Flag Ticket ``ticket_id`` as settled on L1 (by ``tx_hash`` if known)."""
    c.execute(
        update(db.tickets)
        .where(db.tickets.c.ticket_id == ticket_id)
        .values(settled=True, settled_tx=tx_hash)
    )


def store(
    c: Connection,
    t: TicketSubmission,
    body: dict[str, Any],
    signer: str,
    job_ids: list[str],
    clock: Callable[[], float],
    el_id: int,
    processed_cap: int,
) -> TicketView:
    """Check Ticket ``t`` (``body``: its :func:`signed_body`, signed by ``signer``) against the
    database and store it, billing ``job_ids`` (its ``jobIds``, checked distinct).
    ``jobsRoot`` must be the root of the jobs' :func:`backed_leaf` items dated at most
    ``processed_cap`` (the Signer's L1 time, ``validUntil − settleMargin``).

    See ``ExecutionLayer.store_ticket`` for what is checked; storing the same Ticket again is a
    no-op that returns it.

    Raises:
        ActionError: 404 unknown job, 409 a job/penalty is not billable or the id is taken,
            422 inconsistent content.
    """
    node: str = body["node"]
    debits: list[dict[str, Any]] = body["debits"]
    existing = _row(c, t.ticketId)
    if existing is not None:
        if existing["signature"] == t.signature:
            return ticket_view(c, existing)
        raise ActionError(409, "ticket_exists", f"Ticket {t.ticketId} is already stored")
    expected_id = next_ticket_id(c, el_id)
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
                db.jobs.c.job_id.in_({r["parent_id"] for r in rows.values() if r["parent_id"]})
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
        billable = r["state"] in BILLABLE_STATES and r["ticket_id"] is None and r["node"] == node
        if not billable:
            raise ActionError(
                409,
                "not_billable",
                f"job {jid} (state {r['state']}, node {r['node']}) is not billable to {node}",
            )
        leaves.append(backed_leaf(c, jid, processed_cap).leaf)
        sums[r["requester"]] = sums.get(r["requester"], 0) + int(r["fee"])
        fuel += int(r["fuel"])
    # Debits in order of each requester's first job (as ticket.build_ticket makes them), each
    # chained to the requester's newest leaf in this execution layer.
    prior = prior_debits(c, set(sums))
    carry = carries(c, set(sums))
    carried = {k: min(v, carry.get(k, 0)) for k, v in sums.items()}
    want_debits = [
        {
            "requester": k,
            "amount": v,
            "cumulative": prior.get(k, (0, 0))[0] + v - carried[k],
            "prevTicketId": prior.get(k, (0, 0))[1],
        }
        for k, v in sums.items()
    ]
    root = "0x" + merkle.root(leaves).hex()
    pens = list(
        c.execute(select(db.penalties).where(db.penalties.c.id.in_(t.penaltyIds))).mappings()
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
    _insert(c, t, node, signer, root, job_ids, fuel, penalty, want_debits, carried, clock())
    if pens:
        c.execute(
            update(db.penalties)
            .where(db.penalties.c.id.in_([p["id"] for p in pens]))
            .values(ticket_id=t.ticketId)
        )
    _bill(c, t.ticketId, signer, job_ids, rows, parents, clock)
    row = c.execute(select(db.tickets).where(db.tickets.c.ticket_id == t.ticketId)).mappings().one()
    return ticket_view(c, row)


def _insert(
    c: Connection,
    t: TicketSubmission,
    node: str,
    signer: str,
    root: str,
    job_ids: list[str],
    fuel: int,
    penalty: int,
    debits: list[dict[str, Any]],
    carried: dict[str, int],
    now: float,
) -> None:
    """Insert the checked Ticket, its job list and its debits."""
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
            valid_until=t.validUntil,
            settled=False,
            created_at=now,
        )
    )
    if job_ids:
        c.execute(
            insert(db.ticket_jobs),
            [{"ticket_id": t.ticketId, "idx": i, "job_id": j} for i, j in enumerate(job_ids)],
        )
    if debits:
        c.execute(
            insert(db.ticket_debits),
            [
                {
                    "ticket_id": t.ticketId,
                    "idx": i,
                    "requester": d["requester"],
                    "amount": str(d["amount"]),
                    "cumulative": str(d["cumulative"]),
                    "prev_ticket_id": d["prevTicketId"],
                    "carried": str(carried.get(d["requester"], 0)),
                }
                for i, d in enumerate(debits)
            ],
        )


def _bill(
    c: Connection,
    ticket_id: int,
    signer: str,
    job_ids: list[str],
    rows: dict[str, RowMapping],
    parents: dict[str, str],
    clock: Callable[[], float],
) -> None:
    """Move the Ticket's jobs to ``billed``, and each confirmed parent once all its SubJobs are."""
    for jid in job_ids:
        move(
            c,
            rows[jid],
            "Ticket",
            signer,
            BILLED,
            f"Ticket {ticket_id}",
            now=clock(),
            ticket_id=ticket_id,
        )
    # A confirmed parent is billed once every SubJob is (an expired one stays expired).
    for pid in {r["parent_id"] for r in rows.values() if r["parent_id"]}:
        if parents.get(pid) != CONFIRMED:
            continue
        left = c.execute(
            select(func.count()).where(db.jobs.c.parent_id == pid, db.jobs.c.state != BILLED)
        ).scalar()
        if not left:
            move(c, get_job(c, pid), "Ticket", signer, BILLED, f"Ticket {ticket_id}", now=clock())
