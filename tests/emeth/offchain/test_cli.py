"""The requester CLI against a running execution layer: deposit, submit, status, result,
cancel, funds, and one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from offchain.emeth.requester import wait_for
from tests.emeth.offchain.conftest import Env


def _cli(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return env.cli(*args)


@pytest.mark.slow  # ~10 subprocesses, each importing web3
def test_requester_cli(env: Env, tmp_path: Path) -> None:
    r = _cli(env, "deposit", "20")
    assert r.returncode == 0, r.stderr
    assert "balance 20 EMETH" in r.stdout
    data = tmp_path / "records.txt"
    data.write_text("pear\napple\npear\n")
    r = _cli(env, "job", "submit", str(data), "-p", "sortdedupe/v1", "--fee", "3")
    assert r.returncode == 0, r.stderr
    job_id = r.stdout.strip()
    r = _cli(env, "funds")
    assert '"committed": 3000000000000000000' in r.stdout
    env.stack.start_agents()
    wait_for(env.client, job_id, ("billed",), timeout_s=30)
    r = _cli(env, "job", "status", job_id)
    assert r.returncode == 0 and "billed" in r.stdout and "Verify" in r.stdout
    r = _cli(env, "job", "status", job_id, "--json")
    doc = json.loads(r.stdout)
    assert doc["job"]["state"] == "billed" and doc["history"][-1]["action"] == "Ticket"
    out = tmp_path / "out.txt"
    r = _cli(env, "job", "result", job_id, "-o", str(out))
    assert r.returncode == 0 and out.read_text() == "apple\npear\n"
    # Cancel declared on L1 for a fresh id: the job can no longer be registered.
    r = _cli(env, "job", "cancel", "0x" + "2b" * 16)
    assert r.returncode == 0, r.stderr
    # Bad input: one line, no traceback, non-zero exit.
    for args, text in [
        (("job", "status", "0x12"), "not 16 bytes"),
        (("job", "submit", str(data), "-p", "wordcont/v1", "--fee", "1"), "unknown program"),
        (("job", "submit", str(data), "-p", "wordcount/v1", "--fee", "9999"), "available"),
        (("deposit", "0"), "positive"),
        (("job", "result", "0x" + "cd" * 16), "no job"),
    ]:
        r = _cli(env, *args)
        assert r.returncode != 0 and text in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_cli_errors_are_one_line() -> None:
    base = [sys.executable, "-m", "offchain.cli", "emeth", "--el-url", "http://127.0.0.1:9"]
    r = subprocess.run(
        [*base, "job", "status", "0x" + "ab" * 16], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1 and "cannot reach the execution layer" in r.stderr
    assert "Traceback" not in r.stderr


def test_requester_cli_withdraw_proves_its_newest_debit(env: Env) -> None:
    """``emeth withdraw`` proves the requester's newest debit leaf (EmethCore debits lazily),
    so exactly the deposit less the fees Tickets billed can be requested and withdrawn."""
    from offchain.chain.accounts import dev_account
    from offchain.emeth.requester import submit_job
    from tests.emeth.offchain.conftest import EMETH

    me = dev_account(env.devnet.config.emeth.requester_accounts[1])
    env.deposit(me, 20 * EMETH)
    job = submit_job(env.client, env.blobs, me, "wordcount/v1", b"a b a\n", 3 * EMETH)
    env.stack.start_agents()
    wait_for(env.client, job["jobId"], ("billed",), timeout_s=30)
    env.wait_settled(30)
    assert env.l1.proven_debits(me.address) == 0  # nothing debited on L1 yet
    r = _cli(env, "withdraw", "17")
    assert r.returncode == 0, r.stderr
    assert env.l1.proven_debits(me.address) == 3 * EMETH  # the CLI's proof
    r = _cli(env, "withdraw", "1")
    assert r.returncode != 0 and "EmethCoreWithdrawalExceedsBalance" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    env.advance(env.l1.withdrawal_delay_s())
    wallet = env.l1.token_balance(me.address)
    r = _cli(env, "withdraw", "--finalize")
    assert r.returncode == 0, r.stderr
    assert env.l1.token_balance(me.address) - wallet == 17 * EMETH
