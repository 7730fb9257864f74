"""What the execution layer reads from L1 to check an actor (the EmethCore views it needs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from offchain.emeth.l1 import EmethL1


class L1State(Protocol):
    """Read-only view of EmethCore used for role and funds checks."""

    def requester_funds(self, requester: str) -> tuple[int, int]:
        """``(deposit balance incl. pending, amount pending withdrawal)`` of ``requester``."""
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

    def penalty_shortfall(self, node: str) -> int:
        """``penaltyShortfall[node]`` on EmethCore: penalties its collateral could not cover."""
        ...

    def is_cancelled(self, job_id: bytes, requester: str) -> bool:
        """Whether ``requester`` declared ``cancel(job_id)`` on EmethCore."""
        ...


class EmethCoreState:
    """:class:`L1State` read live from EmethCore (one ``eth_call`` per question).

    Args:
        l1: bindings of the deployed EmethCore.
    """

    def __init__(self, l1: EmethL1) -> None:
        self.l1 = l1
        self._min: int | None = None

    def requester_funds(self, requester: str) -> tuple[int, int]:
        st = self.l1.deposit_of(requester)
        return st.balance, st.pending

    def node_collateral(self, node: str) -> int:
        return self.l1.collateral_of(node).available

    def min_collateral(self) -> int:
        return self.l1.min_collateral()

    def is_signer(self, address: str) -> bool:
        return self.l1.is_signer(address)

    def ticket_settled(self, ticket_id: int) -> bool:
        return self.l1.is_settled(ticket_id)

    def ticket_jobs_root(self, ticket_id: int) -> bytes:
        return self.l1.jobs_root_of(ticket_id)

    def penalty_shortfall(self, node: str) -> int:
        return self.l1.penalty_shortfall(node)

    def is_cancelled(self, job_id: bytes, requester: str) -> bool:
        return self.l1.cancelled_at(job_id, requester) != 0
