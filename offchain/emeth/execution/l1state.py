"""What the execution layer reads from L1 to check an actor (the EmethCore views it needs).

:class:`EmethCoreState` reads them live; :class:`L1Snapshot` holds the answers one action
needs, read **before** the service takes its write lock (so a slow or stalled L1 answer about
one actor never holds anyone else's write).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from offchain.emeth.l1 import EmethL1


class L1State(Protocol):
    """Read-only view of EmethCore used for role and funds checks."""

    def requester_funds(self, requester: str) -> tuple[int, int]:
        """``(deposit, amount pending withdrawal)`` of ``requester``: ``deposit`` is its
        balance (pending included) less the debits of other execution layers proven on L1
        (this execution layer subtracts its own Tickets' debits itself)."""
        ...

    def node_collateral(self, node: str) -> int:
        """Collateral ``node`` holds in EmethCore, not pending withdrawal."""
        ...

    def min_collateral(self) -> int:
        """Minimum collateral a node must hold to process jobs."""
        ...

    def is_signer(self, address: str) -> bool:
        """Whether ``address`` is an authorised Ticket signer on EmethCore."""
        ...

    def ticket_settled(self, ticket_id: int) -> bool:
        """Whether Ticket ``ticket_id`` was settled on EmethCore."""
        ...

    def ticket_jobs_root(self, ticket_id: int) -> bytes:
        """``jobsRootOf[ticket_id]`` on EmethCore (32 zero bytes if never settled)."""
        ...

    def posted_ticket(self, ticket_id: int) -> tuple[str, bytes]:
        """``(ticketStatus, posted hash)`` of ``ticket_id`` on EmethCore (``none`` / ``posted``
        / ``finalized`` / ``reversed``; 32 zero bytes if never posted)."""
        ...

    def settle_margin_s(self) -> int:
        """EmethCore ``settleMargin``: a Ticket's ``validUntil`` less it is its Signer's L1
        time (the cap on its leaves' ``processedAt``)."""
        ...

    def ticket_dispute_window_s(self) -> int:
        """EmethCore ``ticketDisputeWindow``: how long a posted Ticket waits to be final."""
        ...

    def penalty_shortfall(self, node: str) -> int:
        """``penaltyShortfall[node]`` on EmethCore: penalties its collateral could not cover."""
        ...

    def is_cancelled(self, job_id: bytes, requester: str) -> bool:
        """Whether ``requester`` declared ``cancel(job_id)`` on EmethCore."""
        ...

    def withdrawal_delays(self) -> tuple[int, int]:
        """``(withdrawalDelay, collateralWithdrawalDelay)`` of EmethCore, in seconds."""
        ...

    def l1_time(self) -> int:
        """Timestamp of the latest L1 block (no later block settles a Ticket valid only
        until before it)."""
        ...


class EmethCoreState:
    """:class:`L1State` read live from EmethCore (one ``eth_call`` per question; the
    parameters only governance changes, the withdrawal delays and the minimum collateral, are
    kept ``params_ttl_s``).

    Args:
        l1: bindings of the deployed EmethCore.
        el_id: this execution layer's id (whose proven debits it counts itself).
        params_ttl_s: how long the withdrawal delays read from L1 are reused.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        l1: EmethL1,
        el_id: int = 0,
        params_ttl_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.l1 = l1
        self.el_id = el_id
        self.params_ttl_s = params_ttl_s
        self.clock = clock
        self._params: tuple[float, tuple[int, int, int, int, int]] | None = None

    def requester_funds(self, requester: str) -> tuple[int, int]:
        st = self.l1.deposit_of(requester)
        others = self.l1.proven_debits(requester) - self.l1.debit_mark(requester, self.el_id)[1]
        return st.balance - others, st.pending

    def node_collateral(self, node: str) -> int:
        return self.l1.collateral_of(node).available

    def min_collateral(self) -> int:
        return self._governed()[2]

    def is_signer(self, address: str) -> bool:
        return self.l1.is_signer(address)

    def ticket_settled(self, ticket_id: int) -> bool:
        return self.l1.is_settled(ticket_id)

    def ticket_jobs_root(self, ticket_id: int) -> bytes:
        return self.l1.jobs_root_of(ticket_id)

    def posted_ticket(self, ticket_id: int) -> tuple[str, bytes]:
        p = self.l1.posted_ticket(ticket_id)
        return p.status, p.ticket_hash

    def settle_margin_s(self) -> int:
        return self._governed()[3]

    def ticket_dispute_window_s(self) -> int:
        return self._governed()[4]

    def penalty_shortfall(self, node: str) -> int:
        return self.l1.penalty_shortfall(node)

    def is_cancelled(self, job_id: bytes, requester: str) -> bool:
        return self.l1.cancelled_at(job_id, requester) != 0

    def withdrawal_delays(self) -> tuple[int, int]:
        req, coll = self._governed()[:2]
        return req, coll

    def l1_time(self) -> int:
        return int(self.l1.chain.w3.eth.get_block("latest")["timestamp"])

    def _governed(self) -> tuple[int, int, int, int, int]:
        """``(withdrawalDelay, collateralWithdrawalDelay, minCollateral, settleMargin,
        ticketDisputeWindow)``, re-read from L1 once ``params_ttl_s`` have passed
        (``setParams`` and ``setTicketDisputeWindow`` go through governance's delay)."""
        now = self.clock()
        if self._params is None or now - self._params[0] > self.params_ttl_s:
            self._params = (
                now,
                (
                    self.l1.withdrawal_delay_s(),
                    self.l1.collateral_withdrawal_delay_s(),
                    self.l1.min_collateral(),
                    self.l1.settle_margin_s(),
                    self.l1.ticket_dispute_window_s(),
                ),
            )
        return self._params[1]


class L1Snapshot:
    """The L1 answers one action needs, read before the write lock (:meth:`read`), served to
    its transition as an :class:`L1State`.

    A transition asking for an answer that was not read raises ``LookupError`` (a bug in the
    service's list of reads, never an L1 call under the lock).

    Args:
        live: where :meth:`read` reads (the service's live L1 view).
    """

    def __init__(self, live: L1State) -> None:
        self.live = live
        self._answers: dict[tuple[Any, ...], Any] = {}

    def read(self, name: str, *args: Any) -> None:
        """Ask the live view ``name(*args)`` now and keep the answer."""
        self._answers[(name, *args)] = getattr(self.live, name)(*args)

    def read_all(self, questions: list[tuple[Any, ...]]) -> None:
        """:meth:`read` every ``(name, *args)`` of ``questions`` at once (one thread each, so
        their round trips to the L1 node overlap). Raises the first question's error if any
        failed (the action is refused as ``l1_unavailable``)."""
        if len(questions) <= 1:
            for q in questions:
                self.read(*q)
            return
        errors: list[BaseException] = []

        def ask(q: tuple[Any, ...]) -> None:
            try:
                self.read(*q)
            except BaseException as e:  # noqa: BLE001 - re-raised below in the caller's thread
                errors.append(e)

        threads = [threading.Thread(target=ask, args=(q,), daemon=True) for q in questions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def _get(self, name: str, *args: Any) -> Any:
        try:
            return self._answers[(name, *args)]
        except KeyError:
            raise LookupError(f"L1 {name}{args} was not read before the write lock") from None

    def requester_funds(self, requester: str) -> tuple[int, int]:
        deposit, pending = self._get("requester_funds", requester)
        return int(deposit), int(pending)

    def node_collateral(self, node: str) -> int:
        return int(self._get("node_collateral", node))

    def min_collateral(self) -> int:
        return int(self._get("min_collateral"))

    def is_signer(self, address: str) -> bool:
        return bool(self._get("is_signer", address))

    def ticket_settled(self, ticket_id: int) -> bool:
        return bool(self._get("ticket_settled", ticket_id))

    def ticket_jobs_root(self, ticket_id: int) -> bytes:
        return bytes(self._get("ticket_jobs_root", ticket_id))

    def penalty_shortfall(self, node: str) -> int:
        return int(self._get("penalty_shortfall", node))

    def is_cancelled(self, job_id: bytes, requester: str) -> bool:
        return bool(self._get("is_cancelled", job_id, requester))

    def withdrawal_delays(self) -> tuple[int, int]:
        req, coll = self._get("withdrawal_delays")
        return int(req), int(coll)

    def posted_ticket(self, ticket_id: int) -> tuple[str, bytes]:
        status, h = self._get("posted_ticket", ticket_id)
        return str(status), bytes(h)

    def settle_margin_s(self) -> int:
        return int(self._get("settle_margin_s"))

    def ticket_dispute_window_s(self) -> int:
        return int(self._get("ticket_dispute_window_s"))

    def l1_time(self) -> int:
        return int(self._get("l1_time"))
