"""Governance fixtures: the full devnet deployment (staking + governance) on the module's Anvil."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from web3.contract import Contract

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.chain.tx import TxSender
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.governance.client import Governance


@dataclass
class Gov:
    chain: Chain
    dep: Deployment
    gov: Governance
    token: Contract
    pool: Contract
    sset: Contract
    proposer: TxSender
    voters: list[TxSender]


@pytest.fixture(scope="module")
def deployment(chain: Chain) -> Deployment:
    return deploy_all(chain, chain.sender(dev_account(0)), L2KitConfig(), log=lambda *_: None)


@pytest.fixture
def g(deployment: Deployment, chain: Chain) -> Gov:
    c = deployment.contract
    return Gov(
        chain,
        deployment,
        Governance(chain, c(chain, "governor"), c(chain, "timelock")),
        c(chain, "token"),
        c(chain, "locking_pool"),
        c(chain, "sequencer_set"),
        chain.sender(dev_account(0)),
        [chain.sender(dev_account(i)) for i in (5, 6)],
    )
