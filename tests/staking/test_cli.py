"""``l2kit sequencer ...`` and ``l2kit governance ...`` against a devnet deployment on Anvil."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.config import L2KitConfig
from offchain.deploy import Deployment, deploy_all


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> Iterator[tuple[str, Path, Chain]]:
    with Anvil() as a:
        chain = Chain(connect(a.url))
        dep = deploy_all(chain, chain.sender(dev_account(0)), L2KitConfig(), log=lambda *_: None)
        path = tmp_path_factory.mktemp("cli") / "deployment.json"
        dep.save(path)
        yield a.url, path, chain


@pytest.fixture
def l2kit(net, capsys, monkeypatch):
    """Run the CLI in-process as a user would (``main()``): (exit code, stdout, stderr)."""
    from offchain.cli import main

    url, path, _ = net
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> tuple[int, str, str]:
        common = ["--rpc-url", url, "--deployment", str(path)]
        monkeypatch.setattr(sys, "argv", ["l2kit", *args, *common])
        code = 0
        try:
            main()
        except SystemExit as e:
            code = int(e.code or 0)
        finally:
            # main() points structlog at this test's captured stderr; undo that for later tests.
            structlog.reset_defaults()
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_status_shows_the_active_set(l2kit) -> None:
    code, out, _ = l2kit("sequencer", "status", dev_account(1).address)
    assert code == 0
    assert "active set (4)" in out and "current" in out
    assert dev_account(4).address in out and "35.71%" in out
    assert "status" in out and "Active" in out


def test_lock_unlock_claim_flow_and_errors(l2kit, net) -> None:
    new_signer = dev_account(20).address
    code, _, err = l2kit("sequencer", "lock", "100", "--signer", new_signer, "--dev-account", "1")
    assert code == 1 and "LockingPoolStakeTooLow" in err and "hint:" in err
    assert "Traceback" not in err
    code, _, err = l2kit("sequencer", "lock", "20000", "--dev-account", "12")
    assert code == 1 and "holds 0 tokens" in err
    code, out, _ = l2kit("sequencer", "lock", "20000", "--signer", new_signer, "--dev-account", "1")
    assert code == 0 and "locked 20,000 tokens" in out and "5 sequencer(s)" in out
    code, _, err = l2kit("sequencer", "relock", new_signer, "--compound", "--dev-account", "1")
    assert code == 1 and "LockingPoolNothingToClaim" in err
    code, out, _ = l2kit(
        "sequencer", "relock", new_signer, "--amount", "1000", "--dev-account", "1"
    )
    assert code == 0 and "stake now 21,000" in out
    code, _, err = l2kit("sequencer", "unlock", new_signer, "--dev-account", "2")
    assert code == 1 and "LockingPoolNotSequencerOwner" in err
    code, out, _ = l2kit("sequencer", "unlock", new_signer, "--dev-account", "1")
    assert code == 0 and "unlocking" in out
    code, _, err = l2kit("sequencer", "claim", new_signer, "--dev-account", "1")
    assert code == 1 and "LockingPoolWithdrawalDelayNotOver" in err and "wait until" in err
    _, _, chain = net
    chain.rpc("evm_increaseTime", 31)
    chain.rpc("evm_mine")
    code, out, _ = l2kit("sequencer", "claim", new_signer, "--dev-account", "1")
    assert code == 0 and "claimed 21,000 tokens" in out
    code, _, err = l2kit("sequencer", "status", dev_account(33).address)
    assert code == 1 and "has never locked" in err


def test_governance_kick_through_the_cli(l2kit, net) -> None:
    _, _, chain = net
    target = dev_account(3).address
    code, out, _ = l2kit(
        "governance", "propose", "Kick dev 3", "--kick", target, "--dev-account", "5"
    )
    assert code == 0 and "proposed 1 action(s)" in out and "Pending" in out
    pid = next(line.split()[1] for line in out.splitlines() if line.startswith("proposal 0x"))
    code, _, err = l2kit("governance", "vote", pid, "--dev-account", "6")
    assert code == 1 and "GovernorUnexpectedProposalState" in err
    chain.rpc("anvil_mine", hex(2))
    for voter in ("5", "6"):
        code, out, _ = l2kit("governance", "vote", pid, "--dev-account", voter)
        assert code == 0 and "voted for" in out
    code, _, err = l2kit("governance", "vote", pid, "--dev-account", "6")
    assert code == 1 and "GovernorAlreadyCastVote" in err
    chain.rpc("anvil_mine", hex(10))
    code, out, _ = l2kit("governance", "queue", pid, "--dev-account", "5")
    assert code == 0 and "Queued" in out
    code, _, err = l2kit("governance", "execute", pid, "--dev-account", "5")
    assert code == 1 and "TimelockUnexpectedOperationState" in err
    chain.rpc("evm_increaseTime", 3)  # past the Timelock's delay
    chain.rpc("evm_mine")
    code, out, _ = l2kit("governance", "execute", pid, "--dev-account", "5")
    assert code == 0 and "Executed" in out
    code, out, _ = l2kit("governance", "status")
    assert code == 0 and "Executed" in out and "Kick dev 3" in out
    code, out, _ = l2kit("sequencer", "status", target)
    assert "Kicked" in out
    code, _, err = l2kit("governance", "status", "0x1234")
    assert code == 1 and "no proposal" in err
    code, _, err = l2kit("governance", "propose", "empty", "--dev-account", "5")
    assert code == 1 and "at least one action" in err
    code, _, err = l2kit(
        "governance", "propose", "x", "--call", "nothing kick(address) 0x1", "--dev-account", "5"
    )
    assert code == 1 and "unknown target" in err


def test_slash_reward_claim_and_burn_through_the_cli(l2kit, net) -> None:
    _, path, chain = net
    from offchain.deploy import Deployment

    dep = Deployment.load(path)
    pool = dep.contract(chain, "locking_pool")
    ben = dev_account(21)
    code, _, err = l2kit("sequencer", "slash-reward", "--claim", "--dev-account", "21")
    assert code == 1 and "LockingPoolNoSlashReward" in err and "hint:" in err
    code, _, err = l2kit("sequencer", "burn-slashed", "--dev-account", "21")
    assert code == 1 and "LockingPoolNothingToBurn" in err
    # Governance (the Timelock owns the pool) slashes 1,000 tokens of dev 4 for `ben`.
    gov = pool.functions.owner().call()
    chain.rpc("anvil_impersonateAccount", gov)
    chain.rpc("anvil_setBalance", gov, hex(10**18))
    call = pool.functions.slash(dev_account(4).address, 1000 * 10**18, ben.address)
    tx = chain.w3.eth.send_transaction(
        {"from": gov, "to": pool.address, "data": call._encode_transaction_data()}
    )
    assert chain.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    chain.rpc("anvil_stopImpersonatingAccount", gov)
    code, out, _ = l2kit("sequencer", "slash-reward", "--dev-account", "21")
    assert code == 0 and "may claim 500 slash reward tokens" in out
    code, out, _ = l2kit("sequencer", "slash-reward", "--claim", "--dev-account", "21")
    assert code == 0 and "claimed 500 slash reward tokens" in out
    token = dep.contract(chain, "token")
    assert token.functions.balanceOf(ben.address).call() == 500 * 10**18
    supply = token.functions.totalSupply().call()
    code, out, _ = l2kit("sequencer", "burn-slashed", "--dev-account", "21")
    assert code == 0 and "burned 500 slashed tokens" in out
    assert token.functions.totalSupply().call() == supply - 500 * 10**18


def test_unreachable_rpc_is_one_line_error(net) -> None:
    _, path, _ = net
    proc = subprocess.run(
        [sys.executable, "-m", "offchain.cli", "sequencer", "status", "--rpc-url",
         "http://127.0.0.1:1", "--deployment", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "cannot reach the L1 RPC" in proc.stderr and "Traceback" not in proc.stderr


def test_status_shows_group_key_and_recoveries(l2kit, net) -> None:
    import json as _json

    from offchain.staking.frost.group import random_scalar
    from offchain.staking.frost.keygen import trusted_dealer_keygen
    from offchain.staking.frost.l1 import group_key_digest, make_even
    from offchain.staking.signatures import order_signatures, sign_digest

    _, path, chain = net
    code, out, _ = l2kit("sequencer", "status")
    assert code == 0 and "no FROST group key on L1" in out
    dep = Deployment.load(path)
    sset = dep.contract(chain, "sequencer_set")
    keys = []
    for _ in range(2):
        shares, _ = trusted_dealer_keygen(random_scalar(), 4, 3)
        pk, _ = make_even(shares[0].group_public_key, {})
        keys.append(pk.xy())
    x, y = keys[0]
    digest = group_key_digest(chain.chain_id, sset.address, 0, x)
    active = set(sset.functions.activeSigners().call())
    signers = [a for a in (dev_account(i) for i in range(1, 30)) if a.address in active]
    signed = {a.address: sign_digest(a, digest) for a in signers}
    chain.sender(dev_account(9)).send(
        sset.functions.installGroupKey(x, y, order_signatures(signed))
    )
    # Recovery by governance (the Timelock owns the set on a devnet deployment).
    tl = dep.addresses["timelock"]
    chain.rpc("anvil_impersonateAccount", tl)
    chain.rpc("anvil_setBalance", tl, hex(10**20))
    call = sset.functions.setGroupKey(*keys[1])
    h = chain.w3.eth.send_transaction(call.build_transaction({"from": tl, "gas": 500_000}))
    assert chain.w3.eth.wait_for_transaction_receipt(h)["status"] == 1
    code, out, _ = l2kit("sequencer", "status")
    assert code == 0 and f"FROST group key x {hex(keys[1][0])}" in out
    assert "installed by governance, 1 recovery install(s)" in out
    code, out, _ = l2kit("sequencer", "status", "--json")
    doc = _json.loads(out)
    assert [i["by"] for i in doc["group_key"]["installs"]] == ["set (>2/3 ECDSA)", "governance"]
