"""Deploy step (after rollup): L1Bridge, wired into StateCommitment; a test ERC20 on a devnet.

Address keys: ``l1_bridge``, ``test_token`` (local Anvil chain only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from offchain.rollup.l1.config import ANVIL_CHAIN_ID

if TYPE_CHECKING:
    from offchain.deploy import DeployContext


def deploy(ctx: DeployContext) -> None:
    """Deploy ``L1Bridge`` and set it on StateCommitment (once) and, with the real
    ``SequencerSet``, as its deposit queue (waiting deposits are work: liveness by progress);
    on a devnet, a ``TestToken``.

    Args:
        ctx: the deploy context; ``state_commitment`` must be deployed (rollup step).
    """
    sc = ctx.at("state_commitment")
    p = ctx.config.rollup.effective(ctx.chain.chain_id)
    bridge = ctx.deploy("l1_bridge", "L1Bridge", sc.address, p.force_inclusion_window_s)
    ctx.send(sc.functions.setBridge(bridge.address))
    if ctx.contracts.get("sequencer_set") == "SequencerSet":
        ctx.send(ctx.at("sequencer_set").functions.setDepositQueue(bridge.address))
    if ctx.chain.chain_id == ANVIL_CHAIN_ID:
        ctx.deploy("test_token", "TestToken", "L2Kit Test Token", "TT")
