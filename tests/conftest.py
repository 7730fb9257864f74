"""Shared fixtures: compiled artifacts, an Anvil per test module, snapshot/revert per test.

Role accounts are Anvil's dev accounts; every test that uses ``chain`` runs between an
``evm_snapshot`` and an ``evm_revert``, so no chain state leaks between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from eth_account.signers.local import LocalAccount

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.artifacts import Artifacts
from offchain.chain.client import Chain, connect
from offchain.chain.compile import compile_contracts
from offchain.chain.tx import TxConfig, TxSender


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    res = compile_contracts()
    return Artifacts(res.artifacts_dir)


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    a = Anvil()
    a.start()
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture(scope="module")
def chain(anvil: Anvil, artifacts: Artifacts) -> Chain:
    return Chain(connect(anvil.url), artifacts)


@pytest.fixture(autouse=True)
def _isolate_chain(request: pytest.FixtureRequest) -> Iterator[None]:
    """Snapshot before and revert after each test that touches the chain."""
    if "chain" not in request.fixturenames:
        yield
        return
    c: Chain = request.getfixturevalue("chain")
    snap = c.rpc("evm_snapshot")
    try:
        yield
    finally:
        c.rpc("evm_revert", snap)


@pytest.fixture
def sender(chain: Chain) -> Callable[[LocalAccount], TxSender]:
    """``sender(account)``: a fresh TxSender (fresh nonce cache) for this test."""

    def make(account: LocalAccount, config: TxConfig | None = None) -> TxSender:
        return chain.sender(account, config)

    return make


# Role accounts (Anvil dev accounts, funded on every devnet).
@pytest.fixture(scope="session")
def owner() -> LocalAccount:
    return dev_account(0)


@pytest.fixture(scope="session")
def alice() -> LocalAccount:
    return dev_account(10)


@pytest.fixture(scope="session")
def bob() -> LocalAccount:
    return dev_account(11)
