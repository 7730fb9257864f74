"""Under `ape test` (make ape-test): ape compiled our contracts and ape-foundry's Anvil runs them.

Plain pytest runs with ``-p no:ape_test`` (see pyproject.toml), so these tests skip there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def _ape(request: pytest.FixtureRequest, name: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip("runs under `ape test` only (make ape-test)")


def test_ape_compiles_and_runs_reverter(request: pytest.FixtureRequest) -> None:
    project = _ape(request, "project")
    accounts = _ape(request, "accounts")
    owner = accounts[0]
    reverter = owner.deploy(project.Reverter)
    receipt = reverter.poke(sender=owner)
    logs = list(receipt.decode_logs(reverter.Poked))
    assert len(logs) == 1 and logs[0].id == 1 and logs[0].by == owner.address
    assert reverter.pokes() == 1


def test_ape_decodes_our_custom_errors(request: pytest.FixtureRequest) -> None:
    project = _ape(request, "project")
    accounts = _ape(request, "accounts")
    import ape

    owner = accounts[0]
    reverter = owner.deploy(project.Reverter)
    with ape.reverts(reverter.ReverterCustom):
        reverter.failCustom(5, sender=owner)


def test_our_tx_sender_signs_through_an_ape_account(request: pytest.FixtureRequest) -> None:
    """scripts/deploy.py's adapter: ape test accounts sign our raw transactions."""
    _ape(request, "project")
    accounts = _ape(request, "accounts")
    from ape import chain as ape_chain

    from offchain.chain.ape_signer import ApeSigner
    from offchain.chain.artifacts import Artifacts
    from offchain.chain.compile import compile_contracts

    res = compile_contracts()
    w3 = ape_chain.provider.web3
    from offchain.chain.tx import TxSender

    s = TxSender(w3, ApeSigner(accounts[1]), Artifacts(res.artifacts_dir))
    c = s.deploy("Reverter")
    s.send(c.functions.poke())
    assert c.functions.pokes().call() == 1
    assert s.address == accounts[1].address


def test_ape_run_deploy_script_on_local_network(tmp_path: Path) -> None:
    """`ape run deploy --network ethereum:local:foundry` runs our deploy plan (subprocess)."""
    root = Path(__file__).resolve().parents[2]
    ape = Path(sys.executable).parent / "ape"
    if not ape.exists():
        pytest.skip("ape is not installed in this environment")
    out = tmp_path / "local.json"
    env = {
        **os.environ,
        "PATH": f"{root / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "SOLCX_BINARY_PATH": str(root / ".solcx"),
    }
    p = subprocess.run(
        [str(ape), "run", "deploy", "--network", "ethereum:local:foundry", "--out", str(out)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    dep = json.loads(out.read_text())
    assert dep["chain_id"] == 31337 and "reverter" in dep["addresses"]
    assert "deployment written to" in p.stdout


@pytest.mark.slow
def test_ape_run_deploy_with_an_account_alias(tmp_path: Path) -> None:
    """The testnet path: a keyfile account imported under an alias signs the whole plan."""
    root = Path(__file__).resolve().parents[2]
    ape = Path(sys.executable).parent / "ape"
    if not ape.exists():
        pytest.skip("ape is not installed in this environment")
    env = {
        **os.environ,
        "PATH": f"{root / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "SOLCX_BINARY_PATH": str(root / ".solcx"),
        "APE_DATA_FOLDER": str(tmp_path / "ape-data"),  # keep the user's ~/.ape untouched
        "APE_ACCOUNTS_l2kitdeployer_PASSPHRASE": "correct horse battery",
    }
    key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil dev 1
    imp = subprocess.run(
        [sys.executable, "-c",
         "from ape_accounts.accounts import import_account_from_private_key as i;"
         f"print(i('l2kitdeployer', 'correct horse battery', '{key}').address)"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert imp.returncode == 0, imp.stderr
    out = tmp_path / "dep.json"
    p = subprocess.run(
        [str(ape), "run", "deploy", "--network", "ethereum:local:foundry",
         "--account", "l2kitdeployer", "--yes", "--out", str(out)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    dep = json.loads(out.read_text())
    assert dep["deployer"] == imp.stdout.strip()
    assert dep["deployer"] == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
