"""The preamble every L1-reorg test shares (tests/rollup/test_reorg.py).

:func:`funded_rollup` starts the three sequencer nodes of a ``rollup_env`` with a batcher
configuration, credits alice's deposit on L2 and buries it under :data:`DEEP` L1 blocks, so
that a later ``anvil_reorg`` of depth 1-5 removes only what the test sent after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from offchain.chain.accounts import dev_account
from offchain.rollup.node.client import L2Client

if TYPE_CHECKING:
    from offchain.rollup.node.config import BatcherConfig
    from offchain.rollup.node.service import NodeService
    from tests.rollup.conftest import RollupEnv

ALICE, BOB = dev_account(10), dev_account(11)
ALICE_DEPOSIT_WEI = 10**18
DEEP = 8  # L1 blocks mined over alice's deposit: deeper than any reorg the tests make


@dataclass
class FundedRollup:
    """Running nodes (``svc``: the current sequencer, ``c``: its RPC client)."""

    nodes: list[NodeService]
    svc: NodeService
    c: L2Client


def funded_rollup(env: RollupEnv, batcher: BatcherConfig | None = None) -> FundedRollup:
    """Start every signer's node, deposit 1 ETH for alice and wait until L2 credits it, then
    mine :data:`DEEP` L1 blocks over the deposit."""
    from tests.rollup.conftest import client, wait_until

    nodes = env.start_nodes(env.signers, batcher)
    svc = nodes[0]
    c = client(svc)
    env.bridge(ALICE).deposit_eth(ALICE.address, ALICE_DEPOSIT_WEI)
    wait_until(lambda: c.balance(ALICE.address) >= ALICE_DEPOSIT_WEI, what="deposit credited")
    for _ in range(DEEP):
        env.chain.rpc("evm_mine")
    return FundedRollup(nodes, svc, c)
