"""Deploy step (last): Timelock + Governor; hand every Ownable contract to the Timelock.

Address keys: ``timelock``, ``governor``. The Timelock is the governance executor and holds
the treasury (``treasury_tokens`` of L2KitToken) that compensation proposals pay from. Its fast
lane is ``LockingPool.kick`` (``timelock_delay_s``); every other call waits ``exit_window_s``
(docs/spec.md, "What governance can and cannot do"). On a devnet, voting tokens go to a few dev
accounts, which delegate to themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from offchain.chain.accounts import dev_account
from offchain.errors import ConfigError
from offchain.governance.config import EXIT_WINDOW_MIN_S, MAX_CHALLENGE_WINDOW_S
from offchain.staking.config import ANVIL_CHAIN_ID, TOKEN

if TYPE_CHECKING:
    from offchain.deploy import DeployContext

ZERO = "0x0000000000000000000000000000000000000000"


def check(ctx: DeployContext) -> None:
    """Refuse, before the first transaction, an exit window a user's exit would not fit in.

    Off a devnet the exit window must be at least 30 days and longer than a user's full
    withdrawal path at its longest (the longest challenge window governance can set, plus the
    forced-inclusion window), and a configured guardian must not be a dev-mnemonic account.

    Raises:
        ConfigError: the exit window is too short, or the guardian is a dev account.
    """
    g = ctx.config.governance.effective(ctx.chain.chain_id)
    if g.guardian_address:
        ctx.role("guardian", g.guardian_address)
    if ctx.dev:
        return
    force = ctx.config.rollup.effective(ctx.chain.chain_id).force_inclusion_window_s
    need = max(EXIT_WINDOW_MIN_S, MAX_CHALLENGE_WINDOW_S + force + 1)
    if g.exit_window_s < need:
        raise ConfigError(
            f"governance.exit_window_s is {g.exit_window_s} s; chain {ctx.chain.chain_id} "
            f"needs at least {need} s (30 days, and longer than the longest challenge window "
            f"{MAX_CHALLENGE_WINDOW_S} s plus forced inclusion {force} s)",
            "raise governance.exit_window_s",
        )


def deploy(ctx: DeployContext) -> None:
    """Deploy ``L2KitTimelock`` and ``L2KitGovernor``; transfer ownerships to the Timelock.

    Args:
        ctx: the deploy context; ``token`` must be deployed (staking step).
    """
    chain_id = ctx.chain.chain_id
    g = ctx.config.governance.effective(chain_id)
    me = ctx.sender.address
    token = ctx.at("token")
    pool = ctx.at("locking_pool")
    kick = function_signature_to_4byte_selector("kick(address)")
    timelock = ctx.deploy(
        "timelock",
        "L2KitTimelock",
        g.timelock_delay_s,
        g.exit_window_s,
        [pool.address],
        [kick],
        [],
        [ZERO],
        me,
    )
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
    if g.guardian_address:
        ctx.send(pool.functions.setGuardian(ctx.role("guardian", g.guardian_address)))
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
