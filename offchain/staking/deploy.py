"""Deploy step: staking token, LockingPool, SequencerSet; on a devnet, lock four sequencers.

Address keys: ``token``, ``locking_pool``, ``sequencer_set``. On a local Anvil chain the
sequencers are dev accounts 1..4 (each the owner and the signer of its stake), the reward
reserve is funded, and the first epoch is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from offchain.chain.accounts import dev_account
from offchain.staking.config import ANVIL_CHAIN_ID, TOKEN

if TYPE_CHECKING:
    from offchain.deploy import DeployContext


def deploy(ctx: DeployContext) -> None:
    """Deploy ``L2KitToken``, ``LockingPool`` and ``SequencerSet`` and wire them together.

    Args:
        ctx: the deploy context (deployer = ``ctx.sender``, the initial owner of everything).
    """
    chain_id = ctx.chain.chain_id
    p = ctx.config.staking.effective(chain_id)
    me = ctx.sender.address
    token = ctx.deploy("token", "L2KitToken", p.token_name, p.token_symbol, me)
    pool = ctx.deploy("locking_pool", "LockingPool", token.address, p.pool_params(), me)
    seqset = ctx.deploy(
        "sequencer_set", "SequencerSet", pool.address, p.epoch_length_s, p.heartbeat_timeout_s, me
    )
    ctx.send(pool.functions.setSequencerSet(seqset.address))
    if p.miss_limit_batches:
        ctx.send(seqset.functions.setMissLimit(p.miss_limit_batches))
    if chain_id != ANVIL_CHAIN_ID:
        return
    stakes = [s * TOKEN for s in p.devnet_stakes_tokens]
    fund = p.reward_fund_tokens * TOKEN
    ctx.send(token.functions.mint(me, sum(stakes) + fund))
    ctx.send(token.functions.approve(pool.address, sum(stakes) + fund))
    for idx, stake in zip(p.devnet_sequencer_accounts, stakes, strict=False):
        acct = dev_account(idx)
        ctx.send(pool.functions.lockFor(acct.address, acct.address, stake))
        ctx.send(token.functions.mint(acct.address, p.devnet_owner_balance_tokens * TOKEN))
        ctx.log(f"  sequencer dev#{idx} {acct.address} locked {stake // TOKEN:,} tokens")
    if fund:
        ctx.send(pool.functions.fundRewards(fund))
    ctx.send(seqset.functions.advanceEpoch())
    ctx.log(f"  current sequencer {seqset.functions.currentSequencer().call()}")
