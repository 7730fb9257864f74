"""Deploy step for the chain client's own helper contracts (used by tests and the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offchain.deploy import DeployContext


def deploy(ctx: DeployContext) -> None:
    """Deploy :sol:`Reverter` and :sol:`MerkleHarness` (chain-client checks, demo)."""
    ctx.deploy("reverter", "Reverter")
    ctx.deploy("merkle_harness", "MerkleHarness")
