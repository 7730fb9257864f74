"""``l2kit deploy`` to a non-dev chain (Anvil, chain id 11155111) as an operator runs it.

A keystore key, a deploy that runs out of funds (one line, no traceback, a partial file),
``--resume`` to the end, ``--dry-run`` with gas and cost, and role checks from the flags.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.deploy import Deployment

SEPOLIA = 11155111
ETH = 10**18


@pytest.fixture(scope="module")
def testnet() -> Iterator[tuple[str, Chain]]:
    with Anvil(chain_id=SEPOLIA) as a:
        yield a.url, Chain(connect(a.url))


@pytest.fixture
def keystore(tmp_path: Path) -> tuple[Path, str]:
    acct = Account.create()
    path = tmp_path / "deployer.json"
    path.write_text(json.dumps(Account.encrypt(acct.key, "s3cret", kdf="pbkdf2", iterations=2)))
    return path, acct.address


def l2kit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    full.pop("L2KIT_PRIVATE_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "offchain.cli", *args],
        capture_output=True, text=True, env=full, timeout=300,
    )  # fmt: skip


def test_deployCliOutOfFundsThenResume(
    testnet: tuple[str, Chain], keystore: tuple[Path, str], tmp_path: Path
) -> None:
    url, chain = testnet
    path, me = keystore
    signer = Account.create().address
    out = tmp_path / "sepolia.json"
    common = ["deploy", "--rpc-url", url, "--keystore", str(path), "--out", str(out)]
    common += ["--emeth-signer", signer]
    env = {"L2KIT_KEYSTORE_PASSWORD": "s3cret"}
    chain.rpc("anvil_setBalance", me, hex(ETH // 100))

    plan = l2kit(*common, "--dry-run", env=env)
    assert plan.returncode == 0, plan.stderr
    assert "total" in plan.stdout and "short by" in plan.stdout
    assert chain.w3.eth.get_transaction_count(me) == 0  # a dry run sends nothing
    assert not out.exists()

    first = l2kit(*common, env=env)
    assert first.returncode != 0
    assert "Traceback" not in first.stderr
    assert "insufficient funds" in first.stderr.lower() and "--resume" in first.stderr
    partial = Deployment.load(out)
    assert not partial.complete and partial.actions

    again = l2kit(*common, env=env)  # without --resume: refuses to overwrite
    assert again.returncode != 0 and "--resume" in again.stderr

    chain.rpc("anvil_setBalance", me, hex(1000 * ETH))
    done = l2kit(*common, "--resume", env=env)
    assert done.returncode == 0, done.stderr
    dep = Deployment.load(out)
    assert dep.complete and set(partial.addresses) <= set(dep.addresses)
    assert all(dep.addresses[k] == v for k, v in partial.addresses.items())
    core = dep.contract(chain, "emeth_core")
    assert core.functions.isSigner(signer).call()


def test_deployCliRefusesDevSignerAndWrongPassphrase(
    testnet: tuple[str, Chain], keystore: tuple[Path, str], tmp_path: Path
) -> None:
    url, chain = testnet
    path, me = keystore
    chain.rpc("anvil_setBalance", me, hex(1000 * ETH))
    out = tmp_path / "x.json"
    base = ["deploy", "--rpc-url", url, "--keystore", str(path), "--out", str(out)]
    bad = l2kit(*base, "--emeth-signer", dev_account(30).address,
                env={"L2KIT_KEYSTORE_PASSWORD": "s3cret"})  # fmt: skip
    assert bad.returncode != 0 and "public test mnemonic" in bad.stderr
    assert "Traceback" not in bad.stderr
    wrong = l2kit(*base, "--emeth-signer", me, env={"L2KIT_KEYSTORE_PASSWORD": "nope"})
    assert wrong.returncode != 0 and "cannot decrypt keystore" in wrong.stderr
    assert chain.w3.eth.get_transaction_count(me) == 0
