"""A deploy to a non-dev chain: a second Anvil with Sepolia's chain id (11155111).

What a user deploying to a testnet must see: production parameters read back from the
contracts, no test helpers, no faucet, no role held by an account of the public dev
mnemonic, and a deploy that runs out of funds half-way resumes to the very addresses and
state an uninterrupted deploy reaches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from offchain.chain.accounts import dev_account, is_dev_address
from offchain.chain.anvil import Anvil
from offchain.chain.artifacts import Artifacts
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all
from offchain.errors import ConfigError, TxError

SEPOLIA = 11155111
DAY = 86_400
ETH = 10**18


@pytest.fixture(scope="module")
def testnet() -> Iterator[Anvil]:
    a = Anvil(chain_id=SEPOLIA)
    a.start()
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture
def net(testnet: Anvil, artifacts: Artifacts) -> Iterator[Chain]:
    c = Chain(connect(testnet.url), artifacts)
    snap = c.rpc("evm_snapshot")
    try:
        yield c
    finally:
        c.rpc("evm_revert", snap)


@pytest.fixture
def deployer(net: Chain) -> LocalAccount:
    acct: LocalAccount = Account.create()
    net.rpc("anvil_setBalance", acct.address, hex(1000 * ETH))
    return acct


@pytest.fixture
def config() -> L2KitConfig:
    cfg = L2KitConfig()
    cfg.emeth.signer_address = Account.create().address
    cfg.governance.guardian_address = Account.create().address
    return cfg


def _state(net: Chain, dep: Deployment) -> dict[str, Any]:
    """What a user reads back from the deployed contracts."""
    c = {k: dep.contract(net, k) for k in dep.addresses}
    out: dict[str, Any] = {
        "pool_params": c["locking_pool"].functions.params().call(),
        "timing": c["sequencer_set"].functions.timing().call(),
        "challenge_window": c["state_commitment"].functions.challengeWindow().call(),
        "data_window": c["da_challenge"].functions.dataWindow().call(),
        "emeth": (
            c["emeth_core"].functions.withdrawalDelay().call(),
            c["emeth_core"].functions.collateralWithdrawalDelay().call(),
            c["emeth_core"].functions.minCollateral().call(),
        ),
        "timelock_delay": c["timelock"].functions.getMinDelay().call(),
        "exit_window": c["timelock"].functions.exitWindow().call(),
        "guardian": c["locking_pool"].functions.guardian().call(),
        "voting": (
            c["governor"].functions.votingDelay().call(),
            c["governor"].functions.votingPeriod().call(),
        ),
        "owners": {
            k: x.functions.owner().call()
            for k, x in c.items()
            if any(f.get("name") == "owner" for f in x.abi)
        },
        "token_supply": c["token"].functions.totalSupply().call(),
        "emeth_supply": c["emeth_token"].functions.totalSupply().call(),
    }
    return out


def test_testnetDeployUsesProductionParamsAndNoDevRoles(
    net: Chain, deployer: LocalAccount, config: L2KitConfig
) -> None:
    dep = deploy_all(net, net.sender(deployer), config, log=lambda _: None)
    s = _state(net, dep)
    assert dep.complete and dep.chain_id == SEPOLIA
    # no test helpers, no test token
    assert not {"reverter", "merkle_harness", "test_token"} & set(dep.addresses)
    # production values, read from the contracts
    assert s["pool_params"][3] == 21 * DAY  # LockingPool withdrawal delay
    assert s["timing"][0] == 3600 and s["timing"][1] == 60  # epoch, heartbeat timeout
    assert s["challenge_window"] == 7 * DAY and s["data_window"] == DAY
    assert s["emeth"] == (3 * DAY, 7 * DAY, 10_000 * ETH)
    assert s["timelock_delay"] == 2 * DAY  # the fast lane (kicks)
    assert s["exit_window"] == 30 * DAY  # every other call
    assert s["guardian"] == config.governance.guardian_address  # pauses at once, 7 days at most
    assert s["voting"] == (7_200, 50_400)
    # the configured signer, and only it, signs Tickets; dev account #30 does not
    core = dep.contract(net, "emeth_core")
    assert core.functions.isSigner(config.emeth.signer_address).call()
    assert not core.functions.isSigner(dev_account(30).address).call()
    # no faucet: no EMETH minted at all; no dev account holds staking tokens
    assert s["emeth_supply"] == 0
    token = dep.contract(net, "token")
    for i in range(40):
        assert token.functions.balanceOf(dev_account(i).address).call() == 0
    # every Ownable is owned by the Timelock; no dev address has any role anywhere
    assert set(s["owners"].values()) == {dep.addresses["timelock"]}
    timelock = dep.contract(net, "timelock")
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "DEFAULT_ADMIN_ROLE"):
        rid = b"\0" * 32 if role == "DEFAULT_ADMIN_ROLE" else net.w3.keccak(text=role)
        for who in [deployer.address, *(dev_account(i).address for i in range(40))]:
            assert not timelock.functions.hasRole(rid, who).call()
    assert not is_dev_address(config.emeth.signer_address)


def test_testnetDeployRefusesDevMnemonicDeployer(net: Chain, config: L2KitConfig) -> None:
    dev0 = dev_account(0)
    with pytest.raises(ConfigError, match="public test mnemonic"):
        deploy_all(net, net.sender(dev0), config, log=lambda _: None)
    assert net.w3.eth.get_transaction_count(dev0.address) == 0  # nothing was sent


@pytest.mark.parametrize("signer", ["dev30", "missing"])
def test_testnetDeployRefusesDevOrMissingSigner(
    net: Chain, deployer: LocalAccount, config: L2KitConfig, signer: str
) -> None:
    config.emeth.signer_address = dev_account(30).address if signer == "dev30" else ""
    want = "public test mnemonic" if signer == "dev30" else "no emeth signer address"
    with pytest.raises(ConfigError, match=want):
        deploy_all(net, net.sender(deployer), config, log=lambda _: None)


def test_testnetDeployRefusesShortExitWindowOrDevGuardian(
    net: Chain, deployer: LocalAccount, config: L2KitConfig
) -> None:
    sent = net.w3.eth.get_transaction_count(deployer.address)
    config.governance.exit_window_s = 22 * DAY  # under 30 days
    want = r"exit_window_s is 1900800 s; .* needs at least 2592000 s"
    with pytest.raises(ConfigError, match=want):
        deploy_all(net, net.sender(deployer), config, log=lambda _: None)
    config.governance.exit_window_s = 30 * DAY
    config.governance.guardian_address = dev_account(31).address
    with pytest.raises(ConfigError, match="guardian .* public test mnemonic"):
        deploy_all(net, net.sender(deployer), config, log=lambda _: None)
    assert net.w3.eth.get_transaction_count(deployer.address) == sent  # nothing was sent


def test_interruptedDeployResumesToSameAddressesAndState(
    net: Chain, deployer: LocalAccount, config: L2KitConfig, tmp_path: Path
) -> None:
    snap = net.rpc("evm_snapshot")
    whole = deploy_all(net, net.sender(deployer), config, log=lambda _: None)
    want = _state(net, whole)
    net.rpc("evm_revert", snap)

    # Enough ETH for part of the plan only: the deploy stops with a one-line error ...
    net.rpc("anvil_setBalance", deployer.address, hex(ETH // 50))
    out = tmp_path / "deployment.json"
    with pytest.raises(TxError, match="(?i)insufficient funds") as e:
        deploy_all(net, net.sender(deployer), config, log=lambda _: None, out=out)
    assert "{" not in e.value.message  # not a raw JSON-RPC dict
    partial = Deployment.load(out)
    assert not partial.complete and len(partial.actions) > 0
    assert set(partial.addresses) < set(whole.addresses)

    # ... and, once funded, continues to the same result.
    net.rpc("anvil_setBalance", deployer.address, hex(1000 * ETH))
    lines: list[str] = []
    done = deploy_all(net, net.sender(deployer), config, log=lines.append, out=out, resume=partial)
    assert done.complete and Deployment.load(out).complete
    assert done.addresses == whole.addresses
    assert _state(net, done) == want
    assert any("resumed" in line for line in lines)


def test_resumeRefusesAnotherDeployer(
    net: Chain, deployer: LocalAccount, config: L2KitConfig, tmp_path: Path
) -> None:
    net.rpc("anvil_setBalance", deployer.address, hex(ETH // 50))
    out = tmp_path / "deployment.json"
    with pytest.raises(TxError):
        deploy_all(net, net.sender(deployer), config, log=lambda _: None, out=out)
    other: LocalAccount = Account.create()
    net.rpc("anvil_setBalance", other.address, hex(1000 * ETH))
    with pytest.raises(ConfigError, match="started by"):
        deploy_all(
            net, net.sender(other), config, log=lambda _: None, out=out,
            resume=Deployment.load(out),
        )  # fmt: skip
