"""Two execution-layer processes on one database, serving the same agents at the same time.

On PostgreSQL (``.ci/postgres.sh``) in the default run; on a SQLite file (the default
database) as a slow test (``make test-all``): the same guarantees, from the database's write
lock (``BEGIN IMMEDIATE``) instead of row locks.

Process A (this test's stack) and process B (``l2kit emeth run-all``) share one database;
each runs every agent with the same keys (nodes, signer, splitter, verifier, billing), so
every job is raced for by two workers and every Ticket round by two signers. Nothing may
happen twice: no job changes state twice, no job lands in two Tickets, no Ticket is built
twice, and L1 ends with exactly the fees and fuel of one execution.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
import requests

from offchain.chain.anvil import free_port
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.requester import submit_job, wait_for
from offchain.emeth.runtime import wait_until
from tests.emeth.offchain.conftest import EMETH, Env
from tests.helpers.db import on_postgres
from tests.helpers.waits import http_code, wait_rounds, wait_true

pytestmark = [] if on_postgres() else [pytest.mark.slow]
JOBS = 12


def _start_b(env: Env, port: int) -> subprocess.Popen[bytes]:
    d = env.devnet
    assert d.anvil is not None
    cfg = env.stack.config
    envs = {
        **os.environ,
        "L2KIT_EMETH_AGENTS__DB_URL": cfg.db_url,
        "L2KIT_EMETH_AGENTS__POLL_INTERVAL_MS": "50",
        "L2KIT_EMETH_AGENTS__SIGNER_INTERVAL_S": "0.5",
    }
    cmd = [
        sys.executable, "-m", "offchain.cli", "emeth",
        "--rpc-url", d.anvil.url, "--deployment", str(d.data_dir / "deployment.json"),
        "--storage-url", d.storage_url,
        "run-all", "--port", str(port), "--nodes", "3", "--data-dir", str(d.data_dir),
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=envs, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_twoExecutionLayersOneDatabaseNothingHappensTwice(env: Env) -> None:
    alice, bob = env.requesters
    env.deposit(alice, 1000 * EMETH)
    env.deposit(bob, 1000 * EMETH)
    port = free_port()
    b = _start_b(env, port)
    try:
        client_b = ExecutionClient(f"http://127.0.0.1:{port}")

        def serving() -> bool:  # an exited process B ends the wait with its stderr
            assert b.poll() is None, b.communicate()[1].decode()[-2000:]
            return http_code(f"http://127.0.0.1:{port}/health") != 0

        wait_true(serving, 60, "process B serving")
        env.stack.start_agents()
        jobs = []
        for i in range(JOBS):  # registered through both processes, by two requesters
            client = env.client if i % 2 else client_b
            who = alice if i % 3 else bob
            data = f"w{i} x y x\n".encode()
            jobs.append(submit_job(client, env.blobs, who, "wordcount/v1", data, 2 * EMETH))
        for j in jobs:
            wait_for(env.client, j["jobId"], ("billed",), timeout_s=90)
        env.wait_settled(60)

        # Let both signers and billings run a few more rounds: still nothing new may appear.
        def rounds_b() -> list[int]:
            agents = requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["agents"]
            return [int(a["ticks"]) + int(a["failuresTotal"]) for a in agents]

        marks_b = rounds_b()
        wait_rounds(env.stack.agents, 3)
        wait_until(
            lambda: all(r >= m + 3 for r, m in zip(rounds_b(), marks_b, strict=True)),
            30,
            "three more rounds of the second execution layer's agents",
        )
        tickets_a, tickets_b = env.client.tickets(), client_b.tickets()
        agents_b = requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["agents"]
        agents_a = env.stack.health()
    finally:
        b.send_signal(signal.SIGTERM)
        try:
            b.wait(timeout=30)
        finally:
            if b.poll() is None:
                b.kill()
    assert [t["ticketId"] for t in tickets_a] == [t["ticketId"] for t in tickets_b]

    def submitted(agents: list[dict[str, object]]) -> int:
        return sum(
            int(a.get("totals", {}).get("submitted", 0))  # type: ignore[union-attr]
            for a in agents
            if str(a.get("agent", "")).startswith("node-")
        )

    # Both processes' nodes did work (a result sent to both is replayed, not applied twice:
    # the histories below show one Submit per job), and no race ever ended in an HTTP 500.
    assert submitted(agents_a) > 0 and submitted(agents_b) > 0
    assert "Internal Server Error" not in json.dumps([agents_a, agents_b])
    in_tickets = Counter(jid for t in tickets_a for jid in t["jobIds"])
    for j in jobs:
        jid = j["jobId"]
        history = env.client.history(jid)
        moves = Counter((h["action"], h["attempt"], h["from_state"]) for h in history)
        assert max(moves.values()) == 1, (jid, history)  # no state change twice
        assert [h["action"] for h in history].count("Ticket") == 1
        assert in_tickets[jid] == 1  # in exactly one Ticket
    assert len(set(in_tickets)) == sum(in_tickets.values())
    # L1: every Ticket settled once; requesters paid each fee exactly once.
    assert all(env.l1.is_settled(t["ticketId"]) for t in tickets_a)
    paid = sum(d["amount"] for t in tickets_a for d in t["debits"])
    assert paid == JOBS * 2 * EMETH
    spent = (2000 * EMETH) - sum(env.paid_balance(r) for r in (alice, bob))
    assert spent == JOBS * 2 * EMETH
