"""`l2kit bridge ...` as a user runs it: deposits, batches, finalize a withdrawal from a proof
file, and one-line errors (replay, malformed proof, missing arguments)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.deploy import Deployment
from offchain.rollup.ledger.tx import Deposit, sign_withdraw, tx_hash
from tests.rollup_l1.conftest import WINDOW_S, Env
from tests.rollup_l1.l2sim import L2Sim

CLI = [sys.executable, "-m", "offchain.cli", "bridge"]
ALICE, CAROL = dev_account(10), dev_account(12)


def _run(env: Env, dep: Path, *args: str) -> subprocess.CompletedProcess[str]:
    url = env.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    return subprocess.run(
        [*CLI, *args, "--rpc-url", url, "--deployment", str(dep)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def _deployment(env: Env, tmp_path: Path) -> Path:
    names = {
        "state_commitment": "StateCommitment",
        "l1_bridge": "L1Bridge",
        "da_challenge": "DataAvailabilityChallenge",
        "fraud_prover": "FraudProver",
    }
    dep = Deployment(
        env.chain.chain_id,
        0,
        {k: env.addresses[k] for k in names},
        names,
        env.owner.address,
    )
    path = tmp_path / "deployment.json"
    dep.save(path)
    return path


def _one_line_error(p: subprocess.CompletedProcess[str], needle: str) -> None:
    assert p.returncode != 0 and "Traceback" not in p.stderr + p.stdout, p.stderr
    assert p.stderr.startswith("error: ") and needle in p.stderr, p.stderr


def test_bridge_cli_deposits_batches_finalize(env: Env, tmp_path: Path) -> None:
    dep = _deployment(env, tmp_path)
    d = env.bridge(ALICE).deposit_eth(ALICE.address, 3 * 10**18)
    out = _run(env, dep, "deposits")
    assert out.returncode == 0 and str(3 * 10**18) in out.stdout, out.stderr
    sim = L2Sim(env)
    data, pre = sim.build([(Deposit(0, d.sender, d.l2_recipient, ETH, d.amount), ETH, True)])
    sim.commit(data, pre)
    w = sign_withdraw(ALICE, sim.domain, CAROL.address, ETH, 10**18, 0, 0)
    data, pre = sim.build([(w, ETH, True)])
    header = sim.commit(data, pre)
    proof = {
        "batchIndex": 1,
        "txIndex": 0,
        "txHash": "0x" + tx_hash(w).hex(),
        "l1Recipient": CAROL.address,
        "token": ETH,
        "amount": str(10**18),
        "proof": ["0x" + p.hex() for p in merkle.MerkleTree(data.withdrawal_items).proof(0)],
        "header": header.to_json(),
    }
    pf = tmp_path / "proof.json"
    pf.write_text(json.dumps(proof))
    early = _run(env, dep, "finalize", "--proof", str(pf), "--dev", "11")
    _one_line_error(early, "L1BridgeBatchNotFinalized")
    env.warp(WINDOW_S + 1)
    carol0 = env.chain.w3.eth.get_balance(CAROL.address)
    ok = _run(env, dep, "finalize", "--proof", str(pf), "--dev", "11")
    assert ok.returncode == 0 and "withdrawal paid" in ok.stdout, ok.stderr
    assert env.chain.w3.eth.get_balance(CAROL.address) - carol0 == 10**18
    _one_line_error(
        _run(env, dep, "finalize", "--proof", str(pf), "--dev", "11"), "L1BridgeAlreadyFinalized"
    )
    listing = _run(env, dep, "batches")
    assert listing.returncode == 0 and "finalized" in listing.stdout, listing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"header": {}}))
    _one_line_error(
        _run(env, dep, "finalize", "--proof", str(bad), "--dev", "11"), "malformed withdrawal proof"
    )
    _one_line_error(_run(env, dep, "finalize", "--dev", "11"), "--proof")
