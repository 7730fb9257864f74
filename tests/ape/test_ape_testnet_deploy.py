"""``ape run deploy`` to a non-dev chain (Anvil with Sepolia's chain id 11155111, reached as an
ad-hoc ape network by its URL), signed by an ape account alias: the same safety rules as
``l2kit deploy``. The alias's keyfile also signs for ``l2kit --account ALIAS``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from offchain.chain.accounts import account_from_alias
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.deploy import Deployment

ROOT = Path(__file__).resolve().parents[2]


PASSPHRASE = "a long testnet passphrase 42!"


def _ape_account(tmp_path: Path) -> tuple[Path, Any, dict[str, str]]:
    """The ape binary, a fresh key imported as ape account ``l2kittestnet``, and the
    environment that finds it (its own ape data folder)."""
    ape = Path(sys.executable).parent / "ape"
    if not ape.exists():
        pytest.skip("ape is not installed in this environment")
    key = Account.create()
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "SOLCX_BINARY_PATH": str(ROOT / ".solcx"),
        "APE_DATA_FOLDER": str(tmp_path / "ape-data"),
        "APE_ACCOUNTS_l2kittestnet_PASSPHRASE": PASSPHRASE,
    }
    imp = subprocess.run(
        [sys.executable, "-c",
         "from ape_accounts.accounts import import_account_from_private_key as i;"
         f"print(i('l2kittestnet', '{PASSPHRASE}', '{key.key.hex()}').address)"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert imp.returncode == 0, imp.stderr
    return ape, key, env


@pytest.mark.slow  # ~90 s under load (ape's start-up and a forked deploy); `l2kit deploy
# --dry-run`, the same simulation, is in the default suite (tests/deploy/test_deploy_cli.py)
def test_apeDryRunPrintsGasAndCostAndSendsNothing(tmp_path: Path) -> None:
    """``ape run deploy --dry-run`` on a testnet: the plan with each step's gas and cost and
    the deployer's shortfall, simulated on a fork; nothing is sent, no file is written."""
    ape, key, env = _ape_account(tmp_path)
    with Anvil(chain_id=11155111) as a:
        chain = Chain(connect(a.url))
        chain.rpc("anvil_setBalance", key.address, hex(10**15))  # far too little
        out = tmp_path / "dry.json"
        p = subprocess.run(
            [str(ape), "run", "deploy", "--network", a.url, "--account", "l2kittestnet",
             "--yes", "--dry-run", "--emeth-signer", Account.create().address, "--out", str(out)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        rows = {ln.split()[0]: ln.split()[1:] for ln in p.stdout.splitlines() if ln.strip()}
        for step in ("staking", "emeth", "total"):
            assert step in rows, p.stdout
            gas, cost = rows[step][0], rows[step][1]
            assert int(gas.replace(",", "")) > 0 and Decimal(cost) > 0, rows[step]
        assert "short by" in p.stdout, p.stdout
        assert chain.w3.eth.get_transaction_count(key.address) == 0  # nothing sent
        assert int(chain.w3.eth.get_balance(key.address)) == 10**15
        assert not out.exists()


@pytest.mark.slow
def test_apeDeployToTestnetIsSafeAndAliasSignsForL2kit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ape, key, env = _ape_account(tmp_path)
    signer = Account.create().address
    monkeypatch.setenv("APE_DATA_FOLDER", env["APE_DATA_FOLDER"])
    monkeypatch.setenv("APE_ACCOUNTS_l2kittestnet_PASSPHRASE", PASSPHRASE)
    assert account_from_alias("l2kittestnet").address == key.address
    with Anvil(chain_id=11155111) as a:
        chain = Chain(connect(a.url))
        chain.rpc("anvil_setBalance", key.address, hex(1000 * 10**18))
        out = tmp_path / "sepolia.json"
        p = subprocess.run(
            [str(ape), "run", "deploy", "--network", a.url, "--account", "l2kittestnet",
             "--yes", "--emeth-signer", signer, "--out", str(out)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        dep = Deployment.load(out)
        assert dep.chain_id == 11155111 and dep.complete and dep.deployer == key.address
        assert not {"reverter", "merkle_harness", "test_token"} & set(dep.addresses)
        core = dep.contract(chain, "emeth_core")
        assert core.functions.isSigner(signer).call()
        assert core.functions.withdrawalDelay().call() == 3 * 86_400
        timelock = dep.addresses["timelock"]
        assert dep.contract(chain, "emeth_core").functions.owner().call() == timelock
        assert json.loads(out.read_text())["gas_by_step"]["emeth"] > 0
