"""Posting a stored Ticket on EmethCore: its ``JobBacking`` leaves built from the execution
layer's ``GET /jobs/{id}/backing``, ``postTicket``, then ``POST /tickets/{id}/leaves`` for the
watchers (docs/spec.md, "Disputes and the bonded Signer set"). Shared by the Signer (which
posts what it signs) and the billing agents (which post a stored Ticket left unposted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from offchain.emeth.backing import JobBacking
from offchain.errors import TxReverted

if TYPE_CHECKING:
    from offchain.emeth.execution.client import ExecutionClient
    from offchain.emeth.l1 import EmethL1
    from offchain.emeth.ticket import Ticket


def backed_leaves(
    client: ExecutionClient, job_ids: Sequence[str], l1_time: int
) -> list[JobBacking]:
    """The jobs' ``JobBacking`` leaves, each Process dated ``min(processedAt, l1_time)``
    (``l1_time``: the Signer's L1 time, ``validUntil − settleMargin``; the service's clock may
    run ahead of L1, and a leaf dated after the posting is disputable).

    Raises:
        ExecutionLayerError: a job has no backing (404 / 409 ``not_processed``).
    """
    out = []
    for jid in job_ids:
        doc = client.backing(jid)
        doc["processedAt"] = min(int(doc["processedAt"]), l1_time)
        out.append(JobBacking.from_dict(doc))
    return out


def post_and_publish(
    l1: EmethL1,
    sender: Any,
    client: ExecutionClient,
    ticket: Ticket,
    signatures: Sequence[bytes],
    leaves: Sequence[JobBacking],
) -> int | None:
    """Post ``ticket`` (``signatures`` by ascending slot) and publish its leaves.

    Returns:
        The Ticket's ``finalAt``, or None when someone else posted it first (its leaves are
        published all the same: publishing the same document again is a no-op).

    Raises:
        TxReverted: any other revert of ``postTicket`` (e.g. ``EmethCoreTicketExpired``).
    """
    final_at: int | None = None
    try:
        final_at = l1.post_ticket(sender, ticket, signatures).final_at
    except TxReverted as e:
        if e.error_name != "EmethCoreTicketAlreadyPosted":
            raise
    client.publish_leaves(ticket.to_dict(), [x.to_dict() for x in leaves])
    return final_at
