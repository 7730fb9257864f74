"""Billing: a node downloads its Tickets and finalizes them on EmethCore once posted and past
their dispute window (``finalizeTicket``; docs/spec.md, "Disputes and the bonded Signer set").

The Signer posts each Ticket it stores (``postTicket``) and publishes its leaves; a stored
Ticket still unposted (the Signer stopped in between) is posted here with its stored signature
and its leaves published. Idempotent: a Ticket already final on L1 is only reported back.
Lazy debits (docs/spec.md, "Debits and lazy balances"): each tick it also reads new
``WithdrawalRequested`` events and proves the requester's newest settled debit leaf when L1 has
not counted it yet, so a requester who asks with an old proof (or none) withdraws only what its
debits left.
Disputes: each tick a :class:`~offchain.emeth.disputes.TicketWatcher` for the node rechecks
every Ticket posted on EmethCore that pays it and disputes an unbacked one within its window
(docs/spec.md, "Disputes and the bonded Signer set").
L1 reorgs: each Ticket this agent finalized is re-checked on L1 until its finalization is
``recheck_blocks`` deep; one a reorg removed (the execution layer still records it settled)
is posted and finalized again.
"""

from __future__ import annotations

import time
from typing import Any

from offchain.chain.clock import L1Clock
from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.base import Agent
from offchain.emeth.disputes import TicketWatcher
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.l1 import EmethL1
from offchain.emeth.posting import backed_leaves, post_and_publish
from offchain.emeth.requester import newest_debit_proof
from offchain.emeth.ticket import Ticket
from offchain.errors import TxReverted

FINALIZE_GAS = 400_000  # above any finalizeTicket (first Ticket of a node with a penalty burn)


class Billing(Agent):
    """Posts (if needed) and finalizes the unsettled Tickets of ``node`` with the node's L1
    sender.

    Args:
        client: execution layer client.
        l1: EmethCore bindings.
        sender: a TxSender (usually the node's own key; anyone may settle).
        node: whose Tickets to settle (``None``: every node's, an operator's billing).
        penalties_after_s: operator mode: settle only Tickets that burn a penalty and that
            their node left unsettled this long (a node has no reason to settle its own
            penalty-only Tickets; anyone may send them).
        recheck_blocks: L1 blocks after which a settlement is taken as final (re-checked on
            L1 until then, and settled again if a reorg removed it).
    """

    name = "billing"

    def __init__(
        self,
        client: ExecutionClient,
        l1: EmethL1,
        sender: Any,
        node: str | None = None,
        loop: LoopConfig | None = None,
        penalties_after_s: float | None = None,
        recheck_blocks: int = 64,
    ) -> None:
        name = f"billing-{node[2:8].lower()}" if node else "billing-operator"
        super().__init__(loop, name=name)
        self._checked_at: Any = None  # hash of the L1 head at the last re-check
        self.penalties_after_s = penalties_after_s
        self.client = client
        self.l1 = l1
        self.sender = sender
        self.node = node
        self.settled: list[Any] = []
        self.rejected: dict[int, str] = {}
        self._retry_at: dict[int, float] = {}
        self.retry_after_s = 10.0
        self.recheck_blocks = recheck_blocks
        self.withdrawal_lookback_blocks = 100_000
        self._recent: dict[int, int] = {}  # ticket id -> L1 block of its settlement
        self.resettled = 0
        self._withdrawals_from: int | None = None  # next L1 block to scan for withdrawals
        self._watched: set[str] = set()  # requesters with a withdrawal pending
        self.debits_proven = 0
        self.expired: set[int] = set()  # Tickets seen expired unsettled (skipped)
        self.reversed: set[int] = set()  # posted Tickets a dispute reversed (never final)
        self._clock = L1Clock(l1.chain.w3)
        self.watcher = TicketWatcher(client, l1, sender, watch=node) if node else None

    def _l1_now(self) -> int:
        """The timestamp the next L1 block will carry (about)."""
        return self._clock.now()

    def _watch_withdrawals(self) -> int:
        """Prove the newest settled debit of every requester with a pending withdrawal (seen
        in ``WithdrawalRequested`` events), when EmethCore has not counted it: also debits of
        Tickets settled during the delay. Returns the number of proofs sent."""
        head = int(self.l1.chain.w3.eth.block_number)
        start = self._withdrawals_from
        if start is None:  # first tick: look back over the withdrawal delay's worth of blocks
            start = max(0, head - self.withdrawal_lookback_blocks)
        if start > head:
            return 0  # no new L1 block: no new request, settlement or proof to act on
        self._watched.update(self.l1.withdrawal_requesters(start, head))
        self._withdrawals_from = head + 1
        proven = 0
        for r in sorted(self._watched):
            if self.l1.deposit_of(r).pending == 0:
                self._watched.discard(r)  # withdrawn (or lowered to nothing): done
                continue
            p = newest_debit_proof(self.client, self.l1, r)
            if p is None or p.ticket_id <= self.l1.debit_mark(r, self.l1.el_of(p.ticket_id))[0]:
                continue
            try:
                self.l1.prove_debit(self.sender, r, p)
            except TxReverted as e:
                if e.error_name == "EmethCoreStaleDebitProof":
                    continue  # proven by someone else meanwhile
                raise
            proven += 1
            self.log.info("debit_proven", requester=r, ticket=p.ticket_id, cumulative=p.cumulative)
        self.debits_proven += proven
        return proven

    def health(self) -> dict[str, Any]:
        h = super().health()
        h["unsettleable"] = {str(k): v for k, v in self.rejected.items()}
        if self.watcher is not None:
            h["tickets"] = self.watcher.health()
        return h

    def _recheck(self) -> list[dict[str, Any]]:
        """Recent settlements L1 no longer holds (a reorg removed them), as Ticket documents."""
        if not self._recent:
            return []
        latest = self.l1.chain.w3.eth.get_block("latest")
        if latest["hash"] == self._checked_at:
            return []  # no new block, no reorg since the last check: nothing can have changed
        self._checked_at = latest["hash"]
        head = int(latest["number"])
        gone = []
        for tid, block in list(self._recent.items()):
            if head - block >= self.recheck_blocks:
                del self._recent[tid]  # deep enough: final
            elif not self.l1.is_settled(tid):
                del self._recent[tid]
                self.log.warning("settlement_reorged_out", ticket=tid, block=block)
                gone.append(self.client.ticket(tid))
        return gone

    def _rejected(self, tid: int, e: TxReverted) -> None:
        """One Ticket L1 refuses must not stop the others: record it, retry it on later
        ticks."""
        self.rejected[tid] = e.error_name or str(e)
        self._retry_at[tid] = time.monotonic() + self.retry_after_s
        self.log.warning("ticket_reverted", ticket=tid, error=e.error_name, args=e.error_args)

    def _post(self, t: dict[str, Any], ticket: Ticket, out: dict[str, int]) -> None:
        """Post a stored Ticket nobody posted yet (its stored signature; the devnet's
        threshold is 1) and publish its leaves; an expired one is left to the execution
        layer to release."""
        tid = ticket.ticket_id
        if ticket.valid_until < self._l1_now():
            # Expired unposted: EmethCore would revert EmethCoreTicketExpired. Its jobs are
            # the execution layer's to bill again (docs/spec.md, "Ticket validity").
            if tid not in self.expired:
                self.expired.add(tid)
                self.log.warning("ticket_expired", ticket=tid, valid_until=ticket.valid_until)
            out["expired"] = out.get("expired", 0) + 1
            return
        cap = ticket.valid_until - self.l1.settle_margin_s()
        leaves = backed_leaves(self.client, t["jobIds"], cap)
        try:
            post_and_publish(
                self.l1,
                self.sender,
                self.client,
                ticket,
                [bytes.fromhex(t["signature"][2:])],
                leaves,
            )
        except TxReverted as e:
            self._rejected(tid, e)
            return
        out["posted"] = out.get("posted", 0) + 1
        self.log.info("posted", ticket=tid)

    def tick(self) -> dict[str, int]:
        out = {"settled": 0, "already": 0}
        again = self._recheck()
        self.resettled += len(again)
        for t in again + self.client.tickets(node=self.node, settled=False):
            tid = int(t["ticketId"])
            if self._retry_at.get(tid, 0.0) > time.monotonic():
                continue  # reverted recently; try again later
            if self.penalties_after_s is not None and (
                not int(t["penalty"]) or time.time() - t["createdAt"] < self.penalties_after_s
            ):
                continue
            if self.l1.is_settled(tid):
                self.client.mark_settled(tid)
                out["already"] += 1
                continue
            ticket = Ticket.from_dict(t)
            posted = self.l1.posted_ticket(tid)
            if posted.status == "reversed":
                if tid not in self.reversed:
                    self.reversed.add(tid)
                    self.log.warning("ticket_reversed", ticket=tid)
                out["reversed"] = out.get("reversed", 0) + 1
                continue
            if posted.status == "none":
                self._post(t, ticket, out)
                continue
            if posted.final_at > self._l1_now():
                out["open"] = out.get("open", 0) + 1  # in its dispute window
                continue
            try:
                # An idle L1's latest block may still see the window open: no estimate then.
                gas = FINALIZE_GAS if self._clock.stale_for(posted.final_at - 1) else None
                s = self.l1.finalize_ticket(self.sender, ticket, gas)
            except TxReverted as e:
                if e.error_name == "EmethCoreTicketAlreadySettled":
                    self.client.mark_settled(tid)
                    out["already"] += 1
                    continue
                self._rejected(tid, e)
                continue
            self.client.mark_settled(tid, s.tx_hash)
            self._recent[tid] = s.block_number
            self.rejected.pop(tid, None)
            self.settled.append(s)
            out["settled"] += 1
            self.log.info(
                "settled", ticket=tid, paid=s.paid, burned=s.burned, fuel=s.fuel, gas=s.gas_used
            )
        out["debits_proven"] = self._watch_withdrawals()
        if self.watcher is not None:
            out["disputed"] = self.watcher.step()["disputed"]
        return out
