"""The whole seed flow end to end on Anvil: deposit, register (plain and splittable), split,
process on several nodes, verify, aggregate, Ticket, settle on L1."""

from __future__ import annotations

import json

import pytest

from offchain.emeth.requester import fetch_result, submit_job, wait_for
from tests.emeth.offchain.conftest import EMETH, Env

TEXT = "".join(f"the quick brown fox {i} jumps over the lazy dog\n" for i in range(40)).encode()


def test_full_flow_billed_on_l1(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 1000 * EMETH)
    env.stack.start_agents()
    parent = submit_job(
        env.client, env.blobs, alice, "wordcount/v1", TEXT, 40 * EMETH, splittable=True
    )
    plain = [
        submit_job(env.client, env.blobs, alice, "sortdedupe/v1", b"c\nb\na\nb\n", 10 * EMETH),
        submit_job(
            env.client,
            env.blobs,
            alice,
            "matmul/v1",
            json.dumps({"a": [[1, 2], [3, 4]], "b": [[5], [6]]}).encode(),
            10 * EMETH,
        ),
    ]
    ids = [parent["jobId"]] + [j["jobId"] for j in plain]
    for jid in ids:
        wait_for(env.client, jid, ("billed",), timeout_s=40)
    assert fetch_result(env.client, env.blobs, plain[0]["jobId"]) == b"a\nb\nc\n"
    assert json.loads(fetch_result(env.client, env.blobs, plain[1]["jobId"]))["c"] == [[17], [39]]
    counts = json.loads(fetch_result(env.client, env.blobs, parent["jobId"]))
    assert counts["counts"]["fox"] == 40 and counts["total"] == 40 * 10
    subs = env.client.jobs(parent=parent["jobId"])
    assert len(subs) == 4 and all(s["state"] == "billed" for s in subs)
    env.wait_settled(30)
    tickets = env.client.tickets()
    paid = sum(d["amount"] for t in tickets for d in t["debits"])
    assert paid == 60 * EMETH
    # On L1: the requester paid exactly the fees; the nodes got them and their fuel counted.
    assert env.paid_balance(alice) == 940 * EMETH
    fuel = sum(env.l1.total_fuel(n.address) for n in env.stack.node_accounts)
    assert fuel == 400 + 4 + 4


@pytest.mark.slow  # `make demo` plays it too
def test_demo_scene(devnet) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from offchain.demo.emeth import run

    chain = devnet.chain
    snap = chain.rpc("evm_snapshot")
    console = Console(record=True, width=120)
    try:
        run(devnet, console)
    finally:
        chain.rpc("evm_revert", snap)
    out = console.export_text()
    for code in ("invalid_dataset", "invalid_expiry", "invalid_timeout"):
        assert f"refused 422 {code}" in out  # the hostile requester's three jobs
    assert "hostile requester: nothing registered" in out
    assert "Timeout of" in out and "RejectResult of SubJob" in out and "Reregister of SubJob" in out
    burned = float(out.split("burned by penalties: ")[1].split()[0])
    assert burned >= 4.0  # one timeout and two rejections, 25% of their fees each
