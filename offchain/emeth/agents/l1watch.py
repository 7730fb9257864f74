"""The execution layer's L1 watcher: applies ``JobCancelled`` declarations, syncs settlements.

Follows ``EmethCore.sol`` ``event JobCancelled(bytes16 indexed jobId, address indexed requester,
uint256 at)`` from a cursor persisted in the execution layer's database, trailing the head by
``confirmations`` blocks and reading at most ``max_blocks`` per poll. Applying a cancellation is
idempotent (keyed by job id), so re-reading a range after a restart or reorg changes nothing.
In the same range it reports ``event PendingWithdrawalReduced(address indexed account, uint256
pending)`` (a Ticket lowered a pending withdrawal to what it left): one warning line each and
the ``pending_reduced`` counter (``emeth_agent_events_total`` on the service's ``/metrics``).
"""

from __future__ import annotations

import time

from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.base import Agent
from offchain.emeth.execution.service import ExecutionLayer
from offchain.emeth.l1 import EmethL1

CURSOR = "l1_cancel_block"


class L1Watcher(Agent):
    """Runs next to the execution layer (direct access to its service).

    Args:
        service: the execution layer.
        l1: EmethCore bindings.
        confirmations: blocks to trail the head by.
        max_blocks: most blocks read per poll.
        start_block: first block to read when no cursor is saved.
        settle_sync_s: how often unsettled Tickets are checked on L1.
    """

    name = "l1watch"

    def __init__(
        self,
        service: ExecutionLayer,
        l1: EmethL1,
        confirmations: int = 0,
        max_blocks: int = 2000,
        start_block: int = 0,
        loop: LoopConfig | None = None,
        settle_sync_s: float = 1.0,
    ) -> None:
        super().__init__(loop)
        self.settle_sync_s = settle_sync_s
        self._last_sync = 0.0
        self.service = service
        self.l1 = l1
        self.confirmations = confirmations
        self.max_blocks = max_blocks
        self.start_block = start_block

    def tick(self) -> dict[str, int]:
        out = {"cancels": 0, "settled": 0, "pending_reduced": 0}
        saved = self.service.get_cursor(CURSOR)
        frm = int(saved) + 1 if saved is not None else self.start_block
        head = int(self.l1.chain.w3.eth.block_number) - self.confirmations
        if head >= frm:
            to = min(head, frm + self.max_blocks - 1)
            for ev in self.l1.cancellations(frm, to):
                outcome = self.service.apply_l1_cancel(
                    ev.job_id, ev.requester, ev.at, ev.block_number
                )
                out["cancels"] += 1
                self.log.info("l1_cancel", job="0x" + ev.job_id.hex(), outcome=outcome)
            for red in self.l1.pending_reductions(frm, to):
                out["pending_reduced"] += 1
                self.log.warning(
                    "pending_withdrawal_reduced",
                    account=red.account,
                    pending=red.pending,
                    block=red.block_number,
                )
            self.service.set_cursor(CURSOR, str(to))
        # Tickets settled on L1 by anyone: record them (the service re-checks L1).
        if time.monotonic() - self._last_sync >= self.settle_sync_s:
            self._last_sync = time.monotonic()
            for t in self.service.tickets(settled=False, limit=200):
                if self.service.mark_settled(t.ticketId):
                    out["settled"] += 1
        return out
