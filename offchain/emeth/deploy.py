"""Deploy step ``emeth``: EmethToken and EmethCore, a Ticket signer, devnet funding.

Off a devnet the signer must be configured (``emeth.signer_address``) and nobody is funded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from offchain.chain.accounts import dev_account
from offchain.emeth.l1 import EMETH_CORE_KEY, EMETH_TOKEN_KEY

if TYPE_CHECKING:
    from offchain.deploy import DeployContext


def _signer(ctx: DeployContext) -> str:
    p = ctx.config.emeth
    signer = p.signer_address or (dev_account(p.signer_account).address if ctx.dev else "")
    return ctx.role("emeth signer", signer)


def check(ctx: DeployContext) -> None:
    """Refuse a missing or dev-mnemonic Ticket signer before the first transaction."""
    _signer(ctx)


def deploy(ctx: DeployContext) -> None:
    """Deploy EmethToken (owned by the deployer) and EmethCore, authorise the signer, fund accounts.

    Keys: ``emeth_token``, ``emeth_core``. Parameters: ``ctx.config.emeth``
    (:class:`~offchain.emeth.config.EmethParams`). The governance step later hands the ownership
    of both contracts to the Timelock.
    """
    p = ctx.config.emeth.effective(ctx.chain.chain_id)
    owner = ctx.sender.address
    token = ctx.deploy(EMETH_TOKEN_KEY, "EmethToken", owner)
    core = ctx.deploy(
        EMETH_CORE_KEY,
        "EmethCore",
        token.address,
        owner,
        p.withdrawal_delay_s,
        p.collateral_withdrawal_delay_s,
        p.settle_margin_s,
        p.min_collateral_wei,
    )
    signer = _signer(ctx)
    ctx.send(core.functions.setSigner(signer, True))
    ctx.log(f"  emeth signer           {signer}")
    # The bonded Signer set of posted Tickets (docs/spec.md, "Disputes and the bonded Signer
    # set"): the window, k, the bond; the signer joins it. Off a devnet it bonds itself.
    ctx.send(core.functions.setTicketDisputeWindow(p.ticket_dispute_window_s))
    ctx.send(
        core.functions.setSignerSetParams(
            p.signer_threshold, p.signer_bond_wei, p.disputer_share_bps
        )
    )
    ctx.send(core.functions.addSigner(signer))
    dev_signer = dev_account(p.signer_account)
    if p.faucet_wei and p.signer_bond_wei and signer == dev_signer.address:
        ctx.send(token.functions.mint(signer, p.signer_bond_wei))
        bonder = ctx.chain.sender(dev_signer)
        bonder.send(token.functions.approve(core.address, p.signer_bond_wei))
        bonder.send(core.functions.depositSignerBond(p.signer_bond_wei))
        ctx.log(f"  emeth signer bond      {p.signer_bond_wei} wei, k = {p.signer_threshold}")
    if p.faucet_wei:
        for i in [*p.requester_accounts, *p.node_accounts]:
            ctx.send(token.functions.mint(dev_account(i).address, p.faucet_wei))
        n = len(p.requester_accounts) + len(p.node_accounts)
        ctx.log(f"  emeth faucet           {p.faucet_wei} wei to {n} dev accounts")
