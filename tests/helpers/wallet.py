"""Wallet tests' shared setup: one running node with ALICE funded in ETH and the test token."""

from __future__ import annotations

from offchain.chain.accounts import dev_account
from offchain.rollup.node.service import NodeService
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB = dev_account(10), dev_account(11)


def funded_node(
    env: RollupEnv, eth: int = 3 * 10**18, tokens: int = 5 * 10**18, block_time_ms: int = 100
) -> tuple[NodeService, str]:
    """Start one node (sealing every ``block_time_ms``); deposit ``eth`` and ``tokens`` of the
    test token for ALICE (credited).

    Returns:
        The node and the L1 test token's address.
    """
    (svc,) = env.start_nodes(env.signers[:1], block_time_ms=block_time_ms)
    token = env.addresses["test_token"]
    erc20 = env.chain.contract("TestToken", token)
    env.chain.sender(dev_account(0)).send(erc20.functions.mint(ALICE.address, 10**21))
    env.bridge(ALICE).deposit_eth(ALICE.address, eth)
    env.bridge(ALICE).deposit_erc20(token, ALICE.address, tokens)
    c = client(svc)
    wait_until(lambda: c.balance(ALICE.address, token) == tokens, what="deposits credited")
    return svc, token
