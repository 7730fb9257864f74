"""Outage of the execution layer while every EMETH agent runs (real HTTP service stopped and
started again on the same port): each agent resumes by itself, the agents' ``/health``
(served as ``--metrics-port`` does) answers 503 during the outage and 200 after, and every
job is billed exactly once and paid once on L1."""

from __future__ import annotations

import time

import pytest
import requests

from offchain.common.agent_http import agent_app
from offchain.common.http import BackgroundServer
from offchain.emeth.execution.api import ExecutionLayerServer
from offchain.emeth.requester import submit_job, wait_for
from offchain.emeth.runtime import wait_until
from tests.emeth.offchain.conftest import EMETH, Env
from tests.helpers.waits import wait_rounds

# Slow lane (make test-all): the default suite restarts the execution layer under agent
# processes in test_outage_processes.py (3 s) and tests/devnet/test_outage_processes.py.
pytestmark = pytest.mark.slow


def test_executionLayerOutageAgentsResumeAndBillOnce(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    stack = env.stack
    stack.start_agents()
    health = BackgroundServer(agent_app(lambda: stack.agents)).start()
    try:
        url = health.url + "/health"
        first = submit_job(env.client, env.blobs, alice, "sortdedupe/v1", b"b\na\n", 2 * EMETH)
        wait_for(env.client, first["jobId"], ("billed",), timeout_s=40)
        assert requests.get(url, timeout=5).status_code == 200
        assert stack.server is not None
        port = stack.server.port
        stack.server.stop()  # the outage
        wait_until(lambda: requests.get(url, timeout=5).status_code == 503, 30, "503")
        failing = requests.get(url, timeout=5).json()["failing"]
        assert failing and all("cannot reach the execution layer" in f or "Error" in f
                               for f in failing)  # fmt: skip
        # The outage lasts until every agent has failed two more ticks against it.
        wait_rounds(stack.agents, 2)
        assert requests.get(url, timeout=5).status_code == 503
        assert stack.service is not None
        stack.server = ExecutionLayerServer(stack.service, port=port, agents_health=stack.health)
        stack.server.start()
        t0 = time.monotonic()
        wait_until(lambda: requests.get(url, timeout=5).status_code == 200, 30, "200 after")
        assert time.monotonic() - t0 <= 10
        assert all(a.alive for a in stack.agents)  # nobody gave up
        second = submit_job(env.client, env.blobs, alice, "sortdedupe/v1", b"d\nc\n", 2 * EMETH)
        wait_for(env.client, second["jobId"], ("billed",), timeout_s=40)
        env.wait_settled(30)
        billed = [j for t in env.client.tickets() for j in t["jobIds"]]
        paid = sum(d["amount"] for t in env.client.tickets() for d in t["debits"])
        assert paid == 4 * EMETH  # each job paid exactly once
        assert sorted(billed) == sorted([first["jobId"], second["jobId"]])  # each once
        assert env.paid_balance(alice) == 96 * EMETH
    finally:
        health.stop()
