"""Staking fixtures: a fresh token / LockingPool / SequencerSet owned by ``owner`` (dev 0).

Sequencers are dev accounts 1..4 (owner == signer), locked with 20k/30k/40k/50k tokens; the
first epoch is drawn. ``owner`` is also registered as a rollup contract (so tests can call
``recordBatch`` / ``punish`` directly) and as the LockingPool's governance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.chain.tx import TxSender
from offchain.config import L2KitConfig
from offchain.deploy import DeployContext
from offchain.staking import deploy as staking_deploy
from offchain.staking.config import TOKEN

SEQ_IDX = [1, 2, 3, 4]
STAKES = [20_000, 30_000, 40_000, 50_000]


@dataclass
class Staking:
    """The deployed staking contracts and a few helpers."""

    chain: Chain
    token: Contract
    pool: Contract
    sset: Contract
    gov: TxSender  # owner of everything, also a registered rollup contract

    def warp(self, seconds: int) -> None:
        self.chain.rpc("evm_increaseTime", seconds)
        self.chain.rpc("evm_mine")

    def now(self) -> int:
        return int(self.chain.w3.eth.get_block("latest")["timestamp"])

    def current(self) -> str:
        return str(self.sset.functions.currentSequencer().call())

    def fund(self, who: str, tokens: int) -> None:
        self.gov.send(self.token.functions.mint(who, tokens * TOKEN))

    def as_(self, acct: LocalAccount) -> TxSender:
        return self.chain.sender(acct)

    def approve_and(self, acct: LocalAccount, tokens: int) -> TxSender:
        s = self.as_(acct)
        self.fund(acct.address, tokens)
        s.send(self.token.functions.approve(self.pool.address, tokens * TOKEN))
        return s


def deploy_staking(chain: Chain, config: L2KitConfig | None = None) -> Staking:
    """Run the real staking deploy step on ``chain`` and register dev 0 as a rollup contract."""
    gov = chain.sender(dev_account(0))
    ctx = DeployContext(chain, gov, config or L2KitConfig(), log=lambda *_: None)
    staking_deploy.deploy(ctx)
    st = Staking(chain, ctx.at("token"), ctx.at("locking_pool"), ctx.at("sequencer_set"), gov)
    gov.send(st.sset.functions.setRollup(gov.address, True))
    return st


@pytest.fixture(scope="module")
def staking(chain: Chain) -> Staking:
    return deploy_staking(chain)


@pytest.fixture
def st(staking: Staking, chain: Chain) -> Staking:
    """The module's deployment with fresh senders (nonce caches) for this test."""
    return Staking(chain, staking.token, staking.pool, staking.sset, chain.sender(dev_account(0)))


@pytest.fixture
def seqs() -> list[LocalAccount]:
    return [dev_account(i) for i in SEQ_IDX]


@pytest.fixture
def expect_revert() -> Callable[..., object]:
    """``expect_revert("ErrorName", fn, *args)``: call (a tx or an eth_call) and assert the
    decoded custom error; returns its arguments."""
    from web3.exceptions import ContractCustomError

    from offchain.chain.artifacts import Artifacts
    from offchain.errors import TxReverted

    arts = Artifacts()

    def check(name: str, fn: Callable[..., object], *args: object) -> tuple[object, ...]:
        with pytest.raises((TxReverted, ContractCustomError)) as e:
            fn(*args)
        if isinstance(e.value, TxReverted):
            assert e.value.error_name == name, str(e.value)
            return e.value.error_args
        got, err_args, text = arts.decode_error(e.value.data)  # type: ignore[arg-type]
        assert got == name, text
        return err_args

    return check
