"""Deploy step (last): Timelock + Governor; hand every Ownable contract to the Timelock.

Address keys: ``timelock``, ``governor``. The Timelock is the governance executor and holds
the treasury (``treasury_tokens`` of L2KitToken) that compensation proposals pay from. On a
devnet, voting tokens go to a few dev accounts, which delegate to themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from web3 import Web3

from offchain.chain.accounts import dev_account
from offchain.staking.config import ANVIL_CHAIN_ID, TOKEN

if TYPE_CHECKING:
    from offchain.deploy import DeployContext

ZERO = "0x0000000000000000000000000000000000000000"


def deploy(ctx: DeployContext) -> None:
    """Deploy ``L2KitTimelock`` and ``L2KitGovernor``; transfer ownerships to the Timelock.

    Args:
        ctx: the deploy context; ``token`` must be deployed (staking step).
    """
    chain_id = ctx.chain.chain_id
    g = ctx.config.governance.effective(chain_id)
    me = ctx.sender.address
    token = ctx.at("token")
    timelock = ctx.deploy("timelock", "L2KitTimelock", g.timelock_delay_s, [], [ZERO], me)
    governor = ctx.deploy(
        "governor",
        "L2KitGovernor",
        token.address,
        timelock.address,
        g.voting_delay_blocks,
        g.voting_period_blocks,
        g.proposal_threshold_tokens * TOKEN,
        g.quorum_percent,
    )
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        ctx.send(timelock.functions.grantRole(_role(role), governor.address))
    if g.treasury_tokens:
        ctx.send(token.functions.mint(timelock.address, g.treasury_tokens * TOKEN))
    if chain_id == ANVIL_CHAIN_ID:
        for idx in g.devnet_voter_accounts:
            voter = dev_account(idx)
            ctx.send(token.functions.mint(voter.address, g.devnet_voter_tokens * TOKEN))
            s = ctx.sender if voter.address == me else ctx.chain.sender(voter)
            s.send(token.functions.delegate(voter.address))
        ctx.log(
            f"  voters: dev accounts {g.devnet_voter_accounts} ({g.devnet_voter_tokens:,} each)"
        )
    _hand_over(ctx, timelock.address)
    ctx.send(timelock.functions.renounceRole(_role("DEFAULT_ADMIN_ROLE"), me))


def _role(name: str) -> bytes:
    if name == "DEFAULT_ADMIN_ROLE":
        return b"\x00" * 32
    return Web3.keccak(text=name)


def _hand_over(ctx: DeployContext, timelock: str) -> None:
    """Transfer ownership of every deployed Ownable still owned by the deployer."""
    for key in list(ctx.addresses):
        if key in ("timelock", "governor"):
            continue
        c = ctx.at(key)
        names = {f.get("name") for f in c.abi if f.get("type") == "function"}
        if not {"owner", "transferOwnership"} <= names:
            continue
        if c.functions.owner().call() != ctx.sender.address:
            continue
        ctx.send(c.functions.transferOwnership(timelock))
        ctx.log(f"  {key} now owned by the Timelock")
