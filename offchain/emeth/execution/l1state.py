"""What the execution layer reads from L1 to check an actor (the EmethCore views it needs)."""

from __future__ import annotations

from typing import Protocol


class L1State(Protocol):
    """Read-only view of EmethCore used for role and funds checks."""

    def requester_funds(self, requester: str) -> tuple[int, int]:
        """``(deposit balance, amount of pending withdrawal requests)`` of ``requester``."""
        ...

    def node_collateral(self, node: str) -> int:
        """Collateral ``node`` holds in EmethCore."""
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

    def is_cancelled(self, job_id: bytes) -> bool:
        """Whether the requester declared ``cancel(job_id)`` on EmethCore."""
        ...
