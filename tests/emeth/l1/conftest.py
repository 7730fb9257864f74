"""EMETH L1 fixtures: EmethToken + EmethCore deployed by the real deploy step, once per module."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from eth_account.signers.local import LocalAccount

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.chain.tx import TxSender
from offchain.config import L2KitConfig
from offchain.deploy import DeployContext
from offchain.emeth.deploy import deploy as deploy_emeth
from offchain.emeth.l1 import EmethL1
from offchain.emeth.ticket import Ticket, build_ticket, sign_ticket

EMETH = 10**18


@dataclass
class EmethEnv:
    """The deployed EMETH contracts plus the dev roles the deploy step funded."""

    l1: EmethL1
    owner: LocalAccount
    signer: LocalAccount
    requesters: list[LocalAccount]
    nodes: list[LocalAccount]
    config: L2KitConfig
    chain: Chain
    prior: dict[str, tuple[int, int]] = field(default_factory=dict)

    def book(self, ticket: Ticket) -> None:
        """Record ``ticket``'s debit leaves as the requesters' newest (after settling it), so
        the next Tickets of this module chain to them, as a Signer's would."""
        self.prior.update({d.requester: (d.cumulative, ticket.ticket_id) for d in ticket.debits})

    def sign(self, ticket: Ticket, account: LocalAccount | None = None) -> bytes:
        return sign_ticket(account or self.signer, self.l1.chain_id, self.l1.core_address, ticket)

    def advance(self, seconds: int) -> None:
        """Move the chain clock forward and mine a block."""
        self.chain.rpc("evm_increaseTime", seconds)
        self.chain.rpc("evm_mine")


@pytest.fixture(scope="module")
def emeth(chain: Chain) -> EmethEnv:
    """Deploy with the `emeth` deploy step (devnet parameters) on this module's Anvil."""
    cfg = L2KitConfig()
    owner = dev_account(0)
    ctx = DeployContext(chain, chain.sender(owner), cfg, log=lambda *_: None)
    deploy_emeth(ctx)
    p = cfg.emeth
    return EmethEnv(
        l1=EmethL1(chain, ctx.addresses["emeth_core"], ctx.addresses["emeth_token"]),
        owner=owner,
        signer=dev_account(p.signer_account),
        requesters=[dev_account(i) for i in p.requester_accounts],
        nodes=[dev_account(i) for i in p.node_accounts],
        config=cfg,
        chain=chain,
    )


@pytest.fixture
def make_ticket(emeth: EmethEnv) -> Callable[..., Ticket]:
    """``make_ticket(ticket_id, node, [(requester, fuel, fee), ...], penalty)``; random job ids;
    debits chained to the Tickets ``emeth.book`` recorded in this test (each test starts from
    the module's deployment snapshot, so the book starts empty)."""
    emeth.prior.clear()

    def make(
        ticket_id: int,
        node: LocalAccount,
        jobs: Sequence[tuple[LocalAccount, int, int]],
        penalty: int = 0,
    ) -> Ticket:
        rows = [(os.urandom(16), r.address, fuel, fee) for r, fuel, fee in jobs]
        return build_ticket(
            ticket_id,
            node.address,
            rows,
            penalty=penalty,
            prior=emeth.prior,
            valid_until=emeth.l1.ticket_valid_until(),
        )

    return make


@pytest.fixture
def tx(sender: Callable[[LocalAccount], TxSender]) -> Callable[[LocalAccount], TxSender]:
    return sender
