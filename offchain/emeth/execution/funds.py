"""Funds accounting of the execution layer: requesters' deposits and committed fees, nodes'
collateral and the penalties recorded against it (billed later in a Ticket).
"""

from __future__ import annotations

from eth_utils import to_checksum_address
from sqlalchemy import and_, insert, or_, select
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from offchain.emeth.errors import ActionError
from offchain.emeth.execution import db
from offchain.emeth.execution.config import ServiceConfig
from offchain.emeth.execution.l1state import L1State
from offchain.emeth.execution.models import (
    COMMITTED_STATES,
    INPUT_REPORTED,
    PROCESSING,
    SUB_RETRY_STATES,
    SUBMITTED,
    FundsView,
    PenaltyView,
)

# States in which a node holds a job that may still cost it a penalty.
IN_FLIGHT_STATES = (PROCESSING, SUBMITTED, INPUT_REPORTED)


def penalty_amount(fee: int, config: ServiceConfig) -> int:
    """The penalty of one failed attempt at a job paying ``fee``:
    ``max(fee * penalty_bps / 10,000, min_penalty_wei)``."""
    return max(fee * config.penalty_bps // 10_000, config.min_penalty_wei)


def committed(c: Connection, requester: str) -> int:
    """Fees of the requester's live jobs plus debits of its unsettled, unexpired Tickets."""
    fees = c.execute(
        select(db.jobs.c.fee).where(
            db.jobs.c.requester == requester,
            or_(
                and_(db.jobs.c.state.in_(COMMITTED_STATES), db.jobs.c.ticket_id.is_(None)),
                and_(db.jobs.c.parent_id.is_not(None), db.jobs.c.state.in_(SUB_RETRY_STATES)),
            ),
        )
    ).scalars()
    debits = c.execute(
        select(db.ticket_debits.c.amount)
        .join(db.tickets, db.tickets.c.ticket_id == db.ticket_debits.c.ticket_id)
        .where(
            db.ticket_debits.c.requester == requester,
            db.tickets.c.settled.is_(False),
            db.tickets.c.expired.is_(False),
        )
    ).scalars()
    return sum(int(f) for f in fees) + sum(int(d) for d in debits)


def settled_debits(c: Connection, requester: str) -> int:
    """Debits of the requester in this execution layer's settled Tickets. EmethCore debits
    them lazily (only once proven), so its L1 balance still includes them."""
    rows = c.execute(
        select(db.ticket_debits.c.amount)
        .join(db.tickets, db.tickets.c.ticket_id == db.ticket_debits.c.ticket_id)
        .where(db.ticket_debits.c.requester == requester, db.tickets.c.settled.is_(True))
    ).scalars()
    return sum(int(a) for a in rows)


def funds_view(c: Connection, requester: str, deposit: int, pending: int) -> FundsView:
    """A requester's funds, given its L1 ``deposit`` (less other execution layers' proven
    debits) and ``pending`` withdrawal; ``deposit`` in the view is also net of this execution
    layer's settled debits."""
    deposit -= settled_debits(c, requester)
    used = committed(c, requester)
    return FundsView(
        requester=requester,
        deposit=deposit,
        pendingWithdrawal=pending,
        committed=used,
        available=deposit - pending - used,
    )


def check_funded(c: Connection, l1: L1State, requester: str, extra: int, what: str) -> None:
    """Refuse ``what`` unless ``requester`` has ``extra`` available (403 ``insufficient_deposit``).

    Available is the L1 deposit, less every debit of this execution layer's settled Tickets
    (proven on L1 or not), less the pending withdrawal, less the committed fees.
    """
    deposit, pending = l1.requester_funds(requester)
    deposit -= settled_debits(c, requester)
    used = committed(c, requester)
    available = deposit - pending - used
    if available < extra:
        raise ActionError(
            403,
            "insufficient_deposit",
            f"{what}: requester {requester} has {available} available on EmethCore "
            f"(deposit {deposit} - pending withdrawal {pending} - committed {used}), "
            f"needs {extra}",
            {"deposit": deposit, "pending": pending, "committed": used},
        )


def longest_timeout_s(l1: L1State, config: ServiceConfig) -> int:
    """The longest processing window (``timeoutSeconds``) the withdrawal delays cover.

    A requester (a node) that asks to withdraw can have no further job processed (taken),
    so what must still settle before its withdrawal is ready is the jobs already processing:
    each within ``timeoutSeconds`` of its ``Process``, plus ``settle_margin_s`` to be
    verified, put in a Ticket and posted, plus EmethCore's ``ticketDisputeWindow`` before
    the posted Ticket is final. Hence ``timeoutSeconds + settle_margin_s + window <
    min(withdrawalDelay, collateralWithdrawalDelay)``, capped by ``max_timeout_s``.
    """
    delay = min(l1.withdrawal_delays()) - l1.ticket_dispute_window_s()
    return min(config.max_timeout_s, delay - config.settle_margin_s - 1)


def owed_penalties(c: Connection, node: str) -> int:
    """Penalties of ``node`` not yet burned on L1: unbilled, or in a Ticket not yet settled."""
    settled = select(db.tickets.c.ticket_id).where(db.tickets.c.settled.is_(True))
    rows = c.execute(
        select(db.penalties.c.amount).where(
            db.penalties.c.node == node,
            or_(db.penalties.c.ticket_id.is_(None), db.penalties.c.ticket_id.not_in(settled)),
        )
    ).scalars()
    return sum(int(a) for a in rows)


def reserved_collateral(c: Connection, node: str, config: ServiceConfig) -> int:
    """The possible penalties of the jobs ``node`` holds (processing, submitted, reported)."""
    fees = c.execute(
        select(db.jobs.c.fee).where(db.jobs.c.node == node, db.jobs.c.state.in_(IN_FLIGHT_STATES))
    ).scalars()
    return sum(penalty_amount(int(f), config) for f in fees)


def check_node(
    c: Connection, l1: L1State, node: str, action: str, fee: int, config: ServiceConfig
) -> None:
    """Refuse ``action`` (taking a job paying ``fee``) unless ``node``'s collateral covers the
    minimum plus every penalty it may still owe: penalties not yet burned on L1 (unbilled or
    in an unsettled Ticket), its L1 ``penaltyShortfall``, the possible penalties of the jobs
    it holds, and this job's.

    Raises:
        ActionError: 403 ``insufficient_collateral``.
    """
    collateral = l1.node_collateral(node)
    minimum = l1.min_collateral()
    # Penalties the L1 could not burn (penaltyShortfall) are still owed: they stay counted.
    owed = owed_penalties(c, node) + l1.penalty_shortfall(node)
    reserved = reserved_collateral(c, node, config)
    this = penalty_amount(fee, config)
    if collateral - owed - reserved - this < minimum or collateral == 0:
        raise ActionError(
            403,
            "insufficient_collateral",
            f"{action}: node {node} holds {collateral} collateral with {owed} of penalties "
            f"unsettled and {reserved} reserved for jobs in flight; taking this job reserves "
            f"{this} more, and at least {minimum} must stay free",
            {
                "collateral": collateral,
                "pendingPenalties": owed,
                "reserved": reserved,
                "jobPenalty": this,
                "minimum": minimum,
            },
        )


def penalise(
    c: Connection, job: RowMapping, reason: str, config: ServiceConfig, now: float
) -> None:
    """Record the penalty of ``job``'s node for its current attempt (once per attempt)."""
    amount = penalty_amount(int(job["fee"]), config)
    try:
        with c.begin_nested():
            c.execute(
                insert(db.penalties).values(
                    node=job["node"],
                    job_id=job["job_id"],
                    attempt=job["attempt"],
                    amount=str(amount),
                    reason=reason,
                    created_at=now,
                )
            )
    except IntegrityError:
        pass  # already recorded for this attempt


def penalty_views(c: Connection, node: str | None, unbilled: bool) -> list[PenaltyView]:
    """Penalties recorded (optionally of one node, optionally not yet in a Ticket)."""
    q = select(db.penalties).order_by(db.penalties.c.id)
    if node:
        q = q.where(db.penalties.c.node == to_checksum_address(node))
    if unbilled:
        q = q.where(db.penalties.c.ticket_id.is_(None))
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
