"""Deploy step for the chain client's own helper contracts (tests and the demo; dev chains only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offchain.deploy import DeployContext


def deploy(ctx: DeployContext) -> None:
    """Deploy :sol:`Reverter` and :sol:`MerkleHarness` (chain-client checks, demo); dev only."""
    if not ctx.dev:
        ctx.log("  skipped: test helpers are deployed on a dev chain only")
        return
    ctx.deploy("reverter", "Reverter")
    ctx.deploy("merkle_harness", "MerkleHarness")
