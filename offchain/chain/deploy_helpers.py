"""Deploy step for the chain client's own helper contracts (used by tests and the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offchain.deploy import DeployContext


def deploy(ctx: DeployContext) -> None:
    """Deploy :sol:`Reverter`, the contract the chain-client checks use."""
    ctx.deploy("reverter", "Reverter")
