"""A node worker process killed between process and submit, then restarted: nothing lost,
nothing duplicated, billed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from offchain.emeth.requester import submit_job, wait_for
from offchain.emeth.runtime import wait_until
from tests.emeth.offchain.conftest import EMETH, Env
from tests.helpers.waits import wait_rounds


def _spawn_node(env: Env, index: int, hold_s: float) -> subprocess.Popen[bytes]:
    p = env.devnet.config.emeth
    cmd = [
        sys.executable, "-m", "offchain.cli", "emeth",
        "--el-url", env.stack.url, "--storage-url", env.devnet.storage_url,
        "--dev-account", str(p.node_accounts[index]),
        "node", "run", "--hold-s", str(hold_s),
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_worker_killed_mid_job_restarts_exactly_once(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    node = env.stack.node_accounts[0]
    env.stack.start_agents(nodes=False)  # operators and billing only; the node is a process
    job = submit_job(
        env.client, env.blobs, alice, "wordcount/v1", b"a b a\n", 6 * EMETH, timeout_s=60
    )
    proc = _spawn_node(env, 0, hold_s=30)
    try:
        wait_for(env.client, job["jobId"], ("processing",), timeout_s=30)
        os.kill(proc.pid, signal.SIGKILL)  # dies between Process and Submit
        proc.wait(timeout=10)
        assert env.client.job(job["jobId"])["state"] == "processing"
        restarted = _spawn_node(env, 0, hold_s=0)
        try:
            wait_for(env.client, job["jobId"], ("billed",), timeout_s=40)
            env.wait_settled(20)
            # Stop it cleanly with SIGTERM.
            restarted.send_signal(signal.SIGTERM)
            assert restarted.wait(timeout=15) == 0
        finally:
            if restarted.poll() is None:
                restarted.kill()
    finally:
        if proc.poll() is None:
            proc.kill()
    actions = [h["action"] for h in env.client.history(job["jobId"])]
    assert actions == ["RegisterJob", "Process", "Submit", "Verify", "Ticket"]
    j = env.client.job(job["jobId"])
    assert j["node"] == node.address and j["attempt"] == 1
    tickets = [t for t in env.client.tickets() if job["jobId"] in t["jobIds"]]
    assert len(tickets) == 1 and tickets[0]["settled"]
    assert env.paid_balance(alice) == 94 * EMETH
    assert env.client.penalties(node=node.address) == []
    wait_rounds(env.stack.agents, 2)  # every operator and billing agent ran two more rounds
    assert len(env.client.tickets()) == 1


def test_run_all_process_serves_and_stops_on_sigterm(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    from offchain.emeth.execution.client import ExecutionClient

    alice = env.requesters[0]
    env.deposit(alice, 50 * EMETH)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable, "-m", "offchain.cli", "emeth",
        "--rpc-url", env.devnet.config.network.rpc_url,
        "--deployment", str(env.devnet.data_dir / "deployment.json"),
        "--storage-url", env.devnet.storage_url,
        "run-all", "--port", str(port), "--data-dir", str(tmp_path), "--nodes", "2",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        client = ExecutionClient(f"http://127.0.0.1:{port}")

        def up() -> bool:
            try:
                return len(client.health()["agents"]) >= 8
            except Exception:  # noqa: BLE001 - not listening yet
                return False

        try:
            wait_until(up, 60, "run-all to serve")
        except TimeoutError:
            proc.kill()
            raise AssertionError(proc.communicate()[1].decode()[-3000:]) from None
        job = submit_job(client, env.blobs, alice, "sortdedupe/v1", b"b\na\n", 2 * EMETH)
        wait_for(client, job["jobId"], ("billed",), timeout_s=40)
        h = client.health()
        assert h["status"] == "ok" and all(a["alive"] for a in h["agents"])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
