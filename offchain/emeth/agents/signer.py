"""Signer: periodically signs one Ticket per node over its confirmed, unbilled work, posts it
on EmethCore (``postTicket``) and publishes its job leaves.

A Ticket bills a node's verified plain jobs and the verified SubJobs of confirmed parents
(``GET /jobs?billable=true``): debits per requester are the sums of their fees, each chained to
the requester's newest leaf (cumulative debit, previous Ticket; ``GET /requesters/{r}/debit``)
under ``debitsRoot``, fuel the sum of the jobs' fuel, ``jobsRoot`` the Merkle root of their
``JobBacking`` leaves (``GET /jobs/{id}/backing``, each Process dated at most at the round's L1
time), ``penalty`` the sum of the node's penalties recorded since its last Ticket, and
``validUntil`` the L1 time read before the round's funds + EmethCore ``settleMargin``
(docs/spec.md, "Ticket validity"): a requester's pending withdrawal is never billed. The
execution layer re-checks all of it and marks every job billed in the same transaction, so a
job is in exactly one Ticket. The stored Ticket is then posted with this Signer's signature
(the devnet's ``signerThreshold`` is 1) and its leaves published (``POST /tickets/{id}/leaves``)
for the watchers; the nodes' billing agents finalize it after the dispute window (docs/spec.md,
"Disputes and the bonded Signer set").
"""

from __future__ import annotations

import time
from typing import Any

from offchain.chain.clock import L1Clock
from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.base import ActingAgent, refused
from offchain.emeth.backing import JobBacking, backed_jobs_root
from offchain.emeth.errors import ExecutionLayerError
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.posting import backed_leaves, post_and_publish
from offchain.emeth.ticket import Ticket, build_ticket, sign_ticket
from offchain.errors import TxReverted


class Signer(ActingAgent):
    """Builds, signs and stores Tickets.

    Args:
        client: execution layer client.
        account: an authorised Ticket signer key (EmethCore ``isSigner``).
        chain_id: L1 chain id (EIP-712 domain).
        core_address: EmethCore address (EIP-712 verifying contract).
        interval_s: time between Ticket rounds.
        max_jobs: most jobs in one Ticket.
        l1: EmethCore bindings, for the L1 clock and ``settleMargin`` (``validUntil``); None
            (tests without an L1): ``validUntil`` = wall time + ``settle_margin_s``.
        settle_margin_s: validity used without ``l1``.
        sender: the TxSender that posts the Tickets (``postTicket``; any key with gas);
            None: Tickets are only stored (a node's billing agent posts them).
    """

    name = "signer"

    def __init__(
        self,
        client: ExecutionClient,
        account: Any,
        chain_id: int,
        core_address: str,
        interval_s: float = 2.0,
        max_jobs: int = 1000,
        loop: LoopConfig | None = None,
        l1: Any = None,
        settle_margin_s: int = 30,
        sender: Any = None,
    ) -> None:
        super().__init__(client, account, loop)
        self.chain_id = chain_id
        self.core_address = core_address
        self.interval_s = interval_s
        self.max_jobs = max_jobs
        self._last_round = 0.0
        self.l1 = l1
        self.settle_margin_s = settle_margin_s
        self._clock = L1Clock(l1.chain.w3) if l1 is not None else None
        self.sender = sender

    def tick(self) -> dict[str, int]:
        # A round that failed is due again at once (the loop's backoff spaces the retries),
        # so failures add up in a row and /health reports the signer down, not idle and fine.
        if time.monotonic() - self._last_round < self.interval_s:
            return {}
        out = self.sign_round()
        self._last_round = time.monotonic()
        return out

    def _post(self, ticket: Ticket, sig: bytes, leaves: list[JobBacking]) -> None:
        """Post a stored Ticket on EmethCore and publish its leaves. A revert is logged: the
        Ticket stays unposted (a billing agent may post it) until the execution layer releases
        it once it expires."""
        if self.sender is None or self.l1 is None:
            return
        try:
            final_at = post_and_publish(self.l1, self.sender, self.client, ticket, [sig], leaves)
        except TxReverted as e:
            self.log.warning(
                "post_reverted", ticket=ticket.ticket_id, error=e.error_name, args=e.error_args
            )
            return
        self.log.info("posted", ticket=ticket.ticket_id, final_at=final_at)

    def _valid_until(self) -> int:
        """The L1 time now (read before the round's funds) + ``settleMargin``."""
        if self._clock is None or self.l1 is None:
            return int(time.time()) + self.settle_margin_s
        return self._clock.now() + int(self.l1.settle_margin_s())

    def _budgets(self, requesters: set[str]) -> dict[str, int]:
        """What each requester's L1 deposit can still pay: its balance less its debits in
        Tickets not yet settled, less its pending withdrawal (a Ticket that can settle once
        the withdrawal is ready bills only what the withdrawal leaves; docs/spec.md, "Ticket
        validity")."""
        unsettled: dict[str, int] = {}
        for t in self.client.tickets(settled=False):
            if t.get("expired"):
                continue  # released: its jobs are billable again
            for d in t["debits"]:
                unsettled[d["requester"]] = unsettled.get(d["requester"], 0) + int(d["amount"])
        out = {}
        for r in requesters:
            f = self.client.funds(r)
            out[r] = int(f["deposit"]) - int(f["pendingWithdrawal"]) - unsettled.get(r, 0)
        return out

    def _prior(self, requesters: set[str], carry: dict[str, int]) -> dict[str, tuple[int, int]]:
        """Each requester's ``(cumulative debit, Ticket id)`` of its newest leaf here (and
        into ``carry`` its expired debits not yet carried)."""
        prior: dict[str, tuple[int, int]] = {}
        for r in requesters:
            try:
                d = self.client.debit(r)
            except ExecutionLayerError as e:
                if e.status == 404:
                    continue  # never debited: its chain starts at (0, 0)
                raise
            prior[d["requester"]] = (int(d["cumulative"]), int(d["ticketId"]))
            if int(d.get("carry", 0)):
                carry[d["requester"]] = int(d["carry"])
        return prior

    def sign_round(self) -> dict[str, int]:
        """Sign a Ticket for every node with billable jobs or pending penalties.

        Balances are checked before bundling: a job whose requester's deposit cannot pay it
        (after its unsettled Tickets) waits, still billable, instead of becoming a debit that
        EmethCore would skip.
        """
        valid_until = self._valid_until()  # before reading funds: see _budgets
        margin = self.settle_margin_s if self.l1 is None else int(self.l1.settle_margin_s())
        l1_time = valid_until - margin
        released = self.client.expire_tickets()  # expired unsettled: bill their jobs again
        if released:
            self.log.warning("tickets_expired", ids=released)
        billable = self.client.jobs(billable=True, limit=1000)
        budgets = self._budgets({j["requester"] for j in billable})
        by_node: dict[str, list[dict[str, Any]]] = {}
        held = 0
        for j in billable:
            if int(j["fee"]) > budgets[j["requester"]]:
                held += 1
                continue
            budgets[j["requester"]] -= int(j["fee"])
            by_node.setdefault(j["node"], []).append(j)
        if held:
            self.log.warning("jobs_held_unfunded", jobs=held)
        pens: dict[str, list[dict[str, Any]]] = {}
        for p in self.client.penalties(unbilled=True):
            pens.setdefault(p["node"], []).append(p)
        out = {"tickets": 0, "jobs_billed": 0}
        carry: dict[str, int] = {}
        prior = self._prior({j["requester"] for js in by_node.values() for j in js}, carry)
        for node in sorted(set(by_node) | set(pens)):
            jobs = by_node.get(node, [])[: self.max_jobs]
            node_pens = pens.get(node, [])
            ticket_id = self.client.next_ticket_id()
            prior_before = dict(prior)
            leaves = backed_leaves(self.client, [j["jobId"] for j in jobs], l1_time)
            ticket = build_ticket(
                ticket_id,
                node,
                [
                    (bytes.fromhex(j["jobId"][2:]), j["requester"], int(j["fuel"]), j["fee"])
                    for j in jobs
                ],
                penalty=sum(p["amount"] for p in node_pens),
                prior=prior,
                valid_until=valid_until,
                carry=carry,
                jobs_root=backed_jobs_root(leaves),
            )
            sig = sign_ticket(self.account, self.chain_id, self.core_address, ticket)
            payload = ticket.to_dict()
            payload.update(
                ticketId=ticket_id,
                jobIds=[j["jobId"] for j in jobs],
                penaltyIds=[p["id"] for p in node_pens],
                signature="0x" + sig.hex(),
            )
            try:
                self.client.store_ticket(payload)
            except Exception as e:
                if refused(e) or getattr(e, "status", 0) == 422:
                    self.log.warning("ticket_refused", node=node, error=str(e))
                    continue  # state moved under us: next round rebuilds it
                raise
            self._post(ticket, sig, leaves)
            prior.update({d.requester: (d.cumulative, ticket_id) for d in ticket.debits})
            for d in ticket.debits:
                used = d.amount - (d.cumulative - (prior_before.get(d.requester, (0, 0))[0]))
                carry[d.requester] = carry.get(d.requester, 0) - used
            out["tickets"] += 1
            out["jobs_billed"] += len(jobs)
            self.log.info(
                "ticket",
                id=ticket_id,
                node=node,
                jobs=len(jobs),
                penalty=ticket.penalty,
                paid=ticket.total_debit,
            )
        return out
