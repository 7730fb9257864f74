"""Unmodified ethers v6 and viem (npm, run under node) against a running node (real
NodeService on Anvil): each sends ETH and an ERC-20 transfer with its own local signing and
reads receipts, logs and balances; the test checks what they report against the node.

ethers and viem are npm devDependencies (``npm ci``); ``NODE_PATH`` may point elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger.ethtx import GAS_ETH_TRANSFER, GAS_TOKEN_TRANSFER, l2_token_address
from offchain.rollup.node.service import NodeService
from tests.helpers.wallet import funded_node
from tests.rollup.conftest import RollupEnv

JS = Path(__file__).parent / "js"
ROOT = Path(__file__).resolve().parents[2]
ALICE, BOB = dev_account(10), dev_account(11)


def _node_path() -> str:
    return os.pathsep.join(
        p for p in [str(ROOT / "node_modules"), os.environ.get("NODE_PATH", "")] if p
    )


def _has(pkg: str) -> bool:
    return any((Path(p) / pkg / "package.json").exists() for p in _node_path().split(os.pathsep))


def _run(script: str, *args: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "node is a prerequisite (the toolchain runs on it)"
    out = subprocess.run(
        [node, str(JS / script), *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": _node_path()},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture
def funded(rollup_env: RollupEnv) -> tuple[NodeService, str]:
    return funded_node(rollup_env)


@pytest.mark.parametrize("lib", ["ethers", "viem"])
def test_js_wallet_sends_eth_and_token(funded: tuple[NodeService, str], lib: str) -> None:
    if not _has(lib):
        pytest.skip(f"npm package {lib} not installed (npm ci installs the devDependencies)")
    svc, token = funded
    l2t = Web3.to_checksum_address(l2_token_address(token))
    out = _run(f"{lib}_wallet.cjs", svc.url, "0x" + bytes(ALICE.key).hex(), l2t, BOB.address)
    w3 = Web3(Web3.HTTPProvider(svc.url))
    assert int(out["chainId"]) == w3.eth.chain_id
    assert out["from"] == ALICE.address
    assert out["ethStatus"] in (1, "success") and out["tokenStatus"] in (1, "success")
    assert int(out["ethGasUsed"]) == GAS_ETH_TRANSFER
    value = 10**15 if lib == "ethers" else 2 * 10**15
    amount = 7 if lib == "ethers" else 11
    assert int(out["toBalance"]) == value == w3.eth.get_balance(BOB.address)
    assert int(out["tokenBalanceTo"]) == amount
    for h in (out["ethHash"], out["tokenHash"]):  # the node agrees on what happened
        r = w3.eth.get_transaction_receipt(h)
        assert r["status"] == 1
    assert w3.eth.get_transaction_receipt(out["tokenHash"])["gasUsed"] == GAS_TOKEN_TRANSFER
    if lib == "ethers":
        spent = int(out["balanceBefore"]) - int(out["balanceAfter"])
        fees = (GAS_ETH_TRANSFER + GAS_TOKEN_TRANSFER) * int(out["ethPrice"])
        assert spent == value + fees
        assert out["transferLog"] == [ALICE.address, BOB.address, str(amount)]
        assert out["symbol"] == "TT" and out["decimals"] == 18 and out["nonce"] == 2
    else:
        assert out["txType"] == "eip1559" and int(out["txValue"]) == value
        assert [ALICE.address, BOB.address, str(amount), out["tokenHash"]] in out["transferLogs"]
        assert out["nonceError"] is not None and "NonceTooLow" in out["nonceError"]
        assert w3.eth.get_transaction_count(ALICE.address) == 2
