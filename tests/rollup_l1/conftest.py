"""Fixtures for the rollup L1 contracts: a test sequencer set (one FROST signature under the
signers' dealt group key, checked for real), StateCommitment,
L1Bridge, the challenge contracts and a test token, deployed once per module (each test runs
between an evm_snapshot and an evm_revert)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import DEFAULT_L2_CHAIN_ID
from tests.helpers.frost import dealt_key
from tests.helpers.rollup import (
    BatchAppender,
    TestRollupParams,
    deploy_test_rollup,
    placeholder_header,
)

WINDOW_S = 100
DA_WINDOW_S = 30
DA_FEE = 10**16
STAKE = 10 * 10**18
SLASH = 4 * 10**18
GENESIS = State().root  # the ledger's genesis state root
L2_CHAIN_ID = DEFAULT_L2_CHAIN_ID


@dataclass
class Env(BatchAppender):
    chain: Chain
    owner: LocalAccount
    signers: list[LocalAccount]  # sorted by address; signers[0] is current
    addresses: dict[str, str]

    def sc(self, acct: LocalAccount) -> RollupL1:
        a = self.addresses
        return RollupL1(
            self.chain,
            a["state_commitment"],
            a["da_challenge"],
            a.get("fraud_prover"),
            self.chain.sender(acct),
        )

    def bridge(self, acct: LocalAccount) -> BridgeClient:
        return BridgeClient(self.chain, self.addresses["l1_bridge"], self.chain.sender(acct))

    def contract(self, name: str, key: str) -> Any:
        return self.chain.contract(name, self.addresses[key])

    def current(self) -> LocalAccount:
        cur = self.contract("TestSequencerSet", "sequencer_set").functions.currentSequencer().call()
        return next(s for s in self.signers if s.address == cur)

    def sign(self, header: BatchHeader) -> list[bytes]:
        """The set's one FROST signature of ``header`` (the signers' dealt group key)."""
        return [dealt_key(self.signers).sign(self.sc(self.owner).digest(header))]

    def header(self, index: int, **kw: Any) -> BatchHeader:
        return placeholder_header(index, **kw)


def deploy_env(chain: Chain) -> Env:
    owner = dev_account(0)
    signers = sorted((dev_account(i) for i in range(20, 24)), key=lambda a: int(a.address, 16))
    params = TestRollupParams(WINDOW_S, DA_WINDOW_S, DA_FEE, STAKE, SLASH, L2_CHAIN_ID)
    addresses = deploy_test_rollup(chain, owner, signers, params)
    fee_token = chain.sender(owner).deploy("FeeOnTransferToken")
    addresses["fee_token"] = fee_token.address
    return Env(chain, owner, signers, addresses)


@pytest.fixture(scope="module")
def env(chain: Chain) -> Env:
    return deploy_env(chain)


@pytest.fixture
def expect_revert() -> Callable[..., Any]:
    """``expect_revert("ErrorName", fn, *args)``: calls fn and asserts the decoded custom error."""
    from offchain.errors import TxReverted

    def check(name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> TxReverted:
        with pytest.raises(TxReverted) as ei:
            fn(*args, **kw)
        assert ei.value.error_name == name, str(ei.value)
        return ei.value

    return check


@pytest.fixture
def expect_call_revert(chain: Chain) -> Callable[..., Any]:
    """``expect_call_revert("ErrorName", c.functions.f(...))``: an eth_call reverts with it."""
    from web3.exceptions import ContractCustomError

    def check(name: str, call: Any, tx: dict[str, Any] | None = None) -> tuple[Any, ...]:
        with pytest.raises(ContractCustomError) as ei:
            call.call(tx or {})
        data = ei.value.data if isinstance(ei.value.data, str) else str(ei.value.args[0])
        got, args, _ = chain.artifacts.decode_error(data)
        assert got == name, f"{got} != {name}"
        return args

    return check
