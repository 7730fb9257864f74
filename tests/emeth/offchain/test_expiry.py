"""A split job that expires with a SubJob still failing: the verified work is billed on L1."""

from __future__ import annotations

import time

import pytest

from offchain.chain.accounts import dev_account
from offchain.emeth.agents.node import CHEAT, NodePolicy, NodeWorker
from offchain.emeth.errors import ExecutionLayerError
from offchain.emeth.requester import submit_job, wait_for
from offchain.emeth.runtime import wait_until
from tests.emeth.offchain.conftest import EMETH, Env

RECORDS = "".join(f"rec{(i * 7919) % 97:03d}\n" for i in range(300)).encode()


def test_expired_split_job_bills_verified_subjobs_and_releases_the_rest(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    honest_acct, cheater_acct = env.stack.node_accounts[1], env.stack.node_accounts[0]
    paid0 = env.l1.token_balance(honest_acct.address)
    env.stack.config.split_parts = 3
    env.stack.start_agents(nodes=False, billing=True)
    job = submit_job(
        env.client,
        env.blobs,
        alice,
        "sortdedupe/v1",
        RECORDS,
        12 * EMETH,
        splittable=True,
        expires_in_s=12,
    )
    wait_for(env.client, job["jobId"], ("split",), timeout_s=10)
    # An honest node with capacity for two of the three SubJobs ...
    honest = NodeWorker(
        env.client,
        env.blobs,
        env.stack.programs,
        honest_acct,
        NodePolicy(max_jobs_per_tick=1, max_jobs=2, split_grace_s=0.0),
    )
    env.stack.agents.append(honest.start())

    def verified() -> list[dict]:  # type: ignore[type-arg]
        subs = env.client.jobs(parent=job["jobId"])
        return [s for s in subs if s["state"] in ("verified", "billed")]  # billed on their own

    wait_until(lambda: len(verified()) == 2, 10, "two verified SubJobs")
    # ... and a cheating node that takes the third one again and again until the deadline.
    cheater = NodeWorker(
        env.client,
        env.blobs,
        env.stack.programs,
        cheater_acct,
        NodePolicy(behaviour=CHEAT, max_jobs_per_tick=1, split_grace_s=0.0),
    )
    env.stack.agents.append(cheater.start())
    # Before expiry the parent waits for its last SubJob (not expired; its verified SubJobs
    # are billed on their own meanwhile).
    assert env.client.job(job["jobId"])["state"] == "split"
    parent = wait_for(env.client, job["jobId"], ("expired",), timeout_s=30)
    assert parent["state"] == "expired" and parent["ticketId"] is None
    subs = env.client.jobs(parent=job["jobId"])
    [failed] = [s for s in subs if s["state"] == "expired"]
    actions = [h["action"] for h in env.client.history(failed["jobId"])]
    assert "RejectResult" in actions and actions[-1] == "Timeout"
    assert failed["state"] == "expired"
    pens = env.client.penalties(node=cheater_acct.address)
    assert pens and all(p["reason"] == "rejected" for p in pens)
    # The two verified SubJobs are billed on their own, in Tickets settled on L1.
    good = [s["jobId"] for s in subs if s["jobId"] != failed["jobId"]]
    for sid in good:
        wait_for(env.client, sid, ("billed",), timeout_s=20)
    env.wait_settled(20)
    billed = {j for t in env.client.tickets() for j in t["jobIds"]}
    assert set(good) <= billed and failed["jobId"] not in billed
    fees = sum(env.client.job(sid)["fee"] for sid in good)
    assert fees == 8 * EMETH
    # The honest node is paid for its verified work; the requester pays only for it.
    assert env.l1.token_balance(honest_acct.address) == paid0 + fees
    assert env.paid_balance(alice) == 100 * EMETH - fees
    funds = env.client.funds(alice.address)
    assert funds["committed"] == 0 and funds["available"] == 100 * EMETH - fees
    # The parent stays expired (terminal): a late Confirm or Timeout is refused.
    assert env.client.job(job["jobId"])["state"] == "expired"


def test_parent_timeout_waits_for_expiry_and_work_in_flight(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 10 * EMETH)
    job = submit_job(
        env.client,
        env.blobs,
        alice,
        "sortdedupe/v1",
        RECORDS,
        4 * EMETH,
        splittable=True,
        timeout_s=120,
        expires_in_s=3,
    )
    cfg = env.stack.config
    splitter, verifier = dev_account(cfg.splitter_account), dev_account(cfg.verifier_account)
    node = env.stack.node_accounts[0]
    split = {"parentId": job["jobId"], "splitter": splitter.address, "datasetKeys": ["a", "b"]}
    subs = env.client.act("SplitJob", split, splitter)["subJobs"]
    timeout = {"jobId": job["jobId"], "verifier": verifier.address, "attempt": 1}
    with pytest.raises(ExecutionLayerError) as e:
        env.client.act("Timeout", timeout, verifier)
    assert (e.value.status, e.value.code) == (409, "not_timed_out")
    held = {"jobId": subs[0]["jobId"], "node": node.address, "attempt": 1}
    env.client.act("Process", held, node)
    # Past the job's expiry on the execution layer's clock (injectable), no wall-clock wait.
    assert env.stack.service is not None
    skew = job["expiresAt"] - time.time() + 0.5
    monkeypatch.setattr(env.stack.service, "clock", lambda: time.time() + skew)
    # Past the deadline, but a node still holds a SubJob within its processing deadline.
    with pytest.raises(ExecutionLayerError) as e:
        env.client.act("Timeout", timeout, verifier)
    assert (e.value.status, e.value.code) == (409, "subjobs_in_flight")
    assert env.client.job(job["jobId"])["state"] == "split"
    assert env.client.funds(alice.address)["committed"] == 4 * EMETH
    env.client.act("Withdraw", held, node)
    res = env.client.act("Timeout", timeout, verifier)
    assert res["job"]["state"] == "expired"
    assert [s["state"] for s in env.client.jobs(parent=job["jobId"])] == ["expired", "expired"]
    assert env.client.funds(alice.address)["committed"] == 0
    assert env.client.act("Timeout", timeout, verifier)["replayed"] is True
    # An expired SubJob is closed for good.
    rereg = {"jobId": subs[1]["jobId"], "verifier": verifier.address, "attempt": 1}
    with pytest.raises(ExecutionLayerError) as e:
        env.client.act("Reregister", rereg, verifier)
    assert (e.value.status, e.value.code) == (409, "illegal_transition")
