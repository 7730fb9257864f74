"""Hostile requesters and nodes against the execution layer and the agents on Anvil (issue 16).

Each test performs one attacker move against today's code and asserts what the honest
parties end with: the agents keep running, honest jobs still complete and are paid, and the
attacker gains nothing.
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from offchain.chain.accounts import dev_account
from offchain.emeth.agents.signer import Signer
from offchain.emeth.errors import ActionError, ExecutionLayerError
from offchain.emeth.execution.subjobs import subjob_id
from offchain.emeth.programs import SortDedupe, WordCount
from offchain.emeth.requester import new_job_id, submit_job, wait_for
from offchain.emeth.runtime import wait_until
from offchain.emeth.ticket import build_ticket, sign_ticket
from offchain.errors import TxReverted
from tests.emeth.offchain.conftest import EMETH, Env
from tests.helpers.waits import wait_rounds

RECORDS = "".join(f"rec{(i * 7919) % 97:03d}\n" for i in range(300)).encode()
MISSING_KEY = "0x" + "ab" * 32  # never stored in the blob store


def _register(env: Env, who, program: str, key: str, fee: int, **kw) -> dict:  # type: ignore[no-untyped-def]
    msg = {
        "jobId": kw.get("job_id") or new_job_id(),
        "requester": who.address,
        "programId": program,
        "datasetKey": key,
        "params": "{}",
        "fee": fee,
        "timeoutSeconds": kw.get("timeout_s", 30),
        "expiresAt": int(time.time()) + kw.get("expires_in_s", 600),
        "splittable": kw.get("splittable", False),
    }
    return env.client.act("RegisterJob", msg, who)["job"]  # type: ignore[no-any-return]


def _without_registration_check(env: Env) -> None:
    """Turn off the registration-time dataset check, to attack the agents behind it."""
    assert env.stack.service is not None
    env.stack.service.dataset_check = None


def _agents_running(env: Env) -> None:
    for h in env.stack.health():
        assert h["alive"] and not h["tripped"], h


def test_poison_dataset_key_never_stops_an_agent(env: Env) -> None:
    """A high-fee splittable job whose dataset key was never stored: the splitter and every
    node meet it first; each handles it as one job and keeps serving the honest ones."""
    mallory, alice = env.requesters[1], env.requesters[0]
    env.deposit(mallory, 100 * EMETH)
    env.deposit(alice, 100 * EMETH)
    _without_registration_check(env)
    _register(env, mallory, "wordcount/v1", MISSING_KEY, 50 * EMETH, splittable=True)
    env.stack.start_agents()
    # Every agent ran well past max_failures rounds since it met the job.
    wait_rounds(env.stack.agents, env.stack.config.max_failures + 2, timeout_s=60)
    honest = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"a b c\n", 4 * EMETH)
    wait_for(env.client, honest["jobId"], ("billed",), timeout_s=40)
    _agents_running(env)


def test_deeply_nested_result_is_rejected_not_fatal(env: Env) -> None:
    """A node submits a ``matmul`` result nested 100,000 deep (RecursionError in a naive
    parser): the verifier rejects that one result and goes on verifying."""
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    data = json.dumps({"a": [[1, 2]], "b": [[3], [4]]}).encode()
    job = submit_job(env.client, env.blobs, alice, "matmul/v1", data, 4 * EMETH)
    cheat = env.stack.node_accounts[0]
    env.client.act("Process", {"jobId": job["jobId"], "node": cheat.address, "attempt": 1}, cheat)
    bomb = env.blobs.put(b'{"c":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    env.client.act(
        "Submit",
        {"jobId": job["jobId"], "node": cheat.address, "attempt": 1, "resultKey": bomb, "fuel": 2},
        cheat,
    )
    env.stack.start_agents(nodes=False, billing=False)
    rejected = wait_for(env.client, job["jobId"], ("rejected", "registered"), timeout_s=20)
    assert rejected["node"] in (None, cheat.address)
    assert any(h["action"] == "RejectResult" for h in env.client.history(job["jobId"]))
    honest = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"x y\n", 4 * EMETH)
    node = env.stack.node_accounts[1]
    env.client.act("Process", {"jobId": honest["jobId"], "node": node.address, "attempt": 1}, node)
    key = env.blobs.put(WordCount().compute(b"x y\n", {})[0])
    env.client.act(
        "Submit",
        {"jobId": honest["jobId"], "node": node.address, "attempt": 1, "resultKey": key, "fuel": 2},
        node,
    )
    wait_for(env.client, honest["jobId"], ("verified",), timeout_s=20)
    _agents_running(env)


def test_subjob_id_squatting_is_refused(env: Env) -> None:
    """A requester registers the id the first SubJob of another's parent will get: refused
    at registration (never an HTTP 500 at split time), and the parent still completes."""
    alice, mallory = env.requesters[0], env.requesters[1]
    env.deposit(alice, 100 * EMETH)
    env.deposit(mallory, 100 * EMETH)
    parent = submit_job(
        env.client, env.blobs, alice, "sortdedupe/v1", RECORDS, 16 * EMETH, splittable=True
    )
    squat = subjob_id(parent["jobId"], 0)
    with pytest.raises(ExecutionLayerError) as e:
        submit_job(env.client, env.blobs, mallory, "sortdedupe/v1", b"z\n", EMETH, job_id=squat)
    assert e.value.status == 422 and e.value.code == "reserved_job_id"
    env.stack.start_agents()
    wait_for(env.client, parent["jobId"], ("billed",), timeout_s=40)
    assert len(env.client.jobs(parent=parent["jobId"])) >= 2
    assert env.client.funds(mallory.address)["committed"] == 0
    _agents_running(env)


def _cancel(env: Env, who, job_id: str):  # type: ignore[no-untyped-def]
    return env.cancel(who, job_id)


def test_outsider_cancel_of_a_predictable_subjob_id_blocks_nothing(env: Env) -> None:
    """An outsider pre-cancels (on L1, from its own address) a parent's id and the SubJob ids
    it will get: cancels are keyed by (job id, requester), so the requester still registers
    it, the split still runs and every SubJob is billed."""
    alice, mallory = env.requesters[0], env.requesters[1]
    env.deposit(alice, 100 * EMETH)
    parent_id = new_job_id()
    _cancel(env, mallory, parent_id)  # the parent's id itself, before alice registers it
    for i in range(4):
        with contextlib.suppress(TxReverted):  # EmethCore refuses SubJob ids outright
            _cancel(env, mallory, subjob_id(parent_id, i))
    env.stack.start_agents()
    wait_rounds(env.stack.agents, 2)  # the L1 watcher has read the cancels
    submit_job(
        env.client,
        env.blobs,
        alice,
        "sortdedupe/v1",
        RECORDS,
        16 * EMETH,
        splittable=True,
        job_id=parent_id,
    )
    wait_for(env.client, parent_id, ("billed",), timeout_s=40)
    assert all(s["state"] == "billed" for s in env.client.jobs(parent=parent_id))


def test_expiry_is_bounded(env: Env) -> None:
    """``expiresAt = 2**200`` would keep a job (and its verified SubJobs) unbilled forever."""
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    key = env.blobs.put(RECORDS)
    with pytest.raises(ExecutionLayerError) as e:
        msg = {
            "jobId": new_job_id(),
            "requester": alice.address,
            "programId": "sortdedupe/v1",
            "datasetKey": key,
            "params": "{}",
            "fee": 4 * EMETH,
            "timeoutSeconds": 30,
            "expiresAt": 2**200,
            "splittable": True,
        }
        env.client.act("RegisterJob", msg, alice)
    assert e.value.status == 422 and e.value.code == "invalid_expiry"
    assert env.client.funds(alice.address)["committed"] == 0


def test_single_subjob_cancel_refused_and_verified_subjobs_billed_on_their_own(env: Env) -> None:
    """Free compute through a split job: the requester cancels one SubJob on L1 so the parent
    never confirms. EmethCore refuses cancels of SubJob ids, and every verified SubJob is
    billed on its own while the parent is still ``split``."""
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    env.stack.start_agents(nodes=False)
    parent = submit_job(
        env.client, env.blobs, alice, "sortdedupe/v1", RECORDS, 16 * EMETH, splittable=True
    )
    wait_for(env.client, parent["jobId"], ("split",), timeout_s=15)
    subs = sorted(env.client.jobs(parent=parent["jobId"]), key=lambda s: s["subIndex"])
    with pytest.raises(TxReverted) as e:
        _cancel(env, alice, subs[-1]["jobId"])
    assert e.value.error_name == "EmethCoreSubJobCancel"
    node = env.stack.node_accounts[0]
    program = SortDedupe()
    for s in subs[:-1]:  # every SubJob but the last is computed and verified
        env.client.act("Process", {"jobId": s["jobId"], "node": node.address, "attempt": 1}, node)
        result, fuel = program.compute(env.blobs.get(s["datasetKey"]), {})
        msg = {
            "jobId": s["jobId"],
            "node": node.address,
            "attempt": 1,
            "resultKey": env.blobs.put(result),
            "fuel": fuel,
        }
        env.client.act("Submit", msg, node)
    for s in subs[:-1]:
        wait_for(env.client, s["jobId"], ("billed",), timeout_s=20)
    assert env.client.job(parent["jobId"])["state"] == "split"
    paid = sum(s["fee"] for s in subs[:-1])
    env.wait_settled(20)
    assert env.paid_balance(alice) == 100 * EMETH - paid


def test_requester_bad_input_is_charged_to_the_requester_not_the_nodes(env: Env) -> None:
    """A high-fee ``wordcount`` job whose dataset is not UTF-8 (the stored blob was never
    checked): nodes meet it, report it, the verifier confirms by running the program, and
    the requester is charged; no node is penalised and honest work goes on."""
    mallory, alice = env.requesters[1], env.requesters[0]
    env.deposit(mallory, 100 * EMETH)
    env.deposit(alice, 100 * EMETH)
    collateral0 = {
        n.address: env.l1.collateral_of(n.address).balance for n in env.stack.node_accounts
    }
    _without_registration_check(env)
    bad = _register(env, mallory, "wordcount/v1", env.blobs.put(b"\xff\xfe not utf-8"), 40 * EMETH)
    env.stack.start_agents()
    honest = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"a b c\n", 4 * EMETH)
    wait_for(env.client, honest["jobId"], ("billed",), timeout_s=40)
    done = wait_for(env.client, bad["jobId"], ("billed",), timeout_s=40)
    assert any(h["action"] == "RejectInput" for h in env.client.history(bad["jobId"]))
    assert env.client.penalties() == []
    env.wait_settled(20)
    assert env.paid_balance(mallory) == 60 * EMETH  # charged the fee
    for n in env.stack.node_accounts:
        assert env.l1.collateral_of(n.address).balance == collateral0[n.address]
    assert done["node"] in collateral0
    _agents_running(env)


def test_bad_dataset_refused_at_registration(env: Env) -> None:
    """Where the program can check a dataset (``fuel``), the execution layer does so at
    registration: the bad job never reaches a node."""
    mallory = env.requesters[1]
    env.deposit(mallory, 100 * EMETH)
    with pytest.raises(ExecutionLayerError) as e:
        submit_job(env.client, env.blobs, mallory, "wordcount/v1", b"\xff\xfe", 40 * EMETH)
    assert e.value.status == 422 and e.value.code == "invalid_dataset"
    with pytest.raises(ExecutionLayerError) as e:
        _register(env, mallory, "wordcount/v1", MISSING_KEY, 40 * EMETH)
    assert e.value.status == 422 and e.value.code == "invalid_dataset"
    assert env.client.funds(mallory.address)["committed"] == 0


def _process(env: Env, node, job: dict, attempt: int = 1) -> dict:  # type: ignore[no-untyped-def,type-arg]
    msg = {"jobId": job["jobId"], "node": node.address, "attempt": attempt}
    return env.client.act("Process", msg, node)  # type: ignore[no-any-return]


def test_collateral_reserved_per_job_and_penalties_count_until_settled(env: Env) -> None:
    """A node with 200 EMETH (minimum 100) takes jobs it means to let time out: each in-flight
    job reserves its possible penalty (40 EMETH for a 160 EMETH fee), so the third is
    refused; a penalty bundled in a Ticket not yet settled still counts."""
    alice = env.requesters[0]
    env.deposit(alice, 1000 * EMETH)
    node = env.stack.node_accounts[0]
    jobs = [
        submit_job(env.client, env.blobs, alice, "wordcount/v1", b"w%d\n" % i, 160 * EMETH)
        for i in range(3)
    ]
    _process(env, node, jobs[0])
    _process(env, node, jobs[1])
    with pytest.raises(ExecutionLayerError) as e:
        _process(env, node, jobs[2])
    assert e.value.status == 403 and e.value.code == "insufficient_collateral"
    # Give one back: its penalty (40) replaces its reservation (40); a Ticket bundles it.
    env.client.act(
        "Withdraw", {"jobId": jobs[0]["jobId"], "node": node.address, "attempt": 1}, node
    )
    signer = Signer(env.client, env.stack.signer_account, env.l1.chain_id, env.l1.core_address)
    assert signer.sign_round()["tickets"] == 1
    [t] = env.client.tickets(settled=False)
    assert t["penalty"] == 40 * EMETH and t["node"] == node.address
    with pytest.raises(ExecutionLayerError) as e:
        _process(env, node, jobs[2])
    assert e.value.status == 403 and e.value.code == "insufficient_collateral"


def test_no_retake_after_a_failed_attempt_and_a_minimum_penalty(env: Env) -> None:
    """A 3-wei job: the penalty would round to 0, and the same node would retake the job
    (a fresh chance against Freivalds each time). Refused: minimum penalty, no retake."""
    alice = env.requesters[0]
    env.deposit(alice, 10 * EMETH)
    node, other = env.stack.node_accounts[0], env.stack.node_accounts[1]
    data = json.dumps({"a": [[1, 2]], "b": [[3], [4]]}).encode()
    job = submit_job(env.client, env.blobs, alice, "matmul/v1", data, 3)
    _process(env, node, job)
    env.client.act("Withdraw", {"jobId": job["jobId"], "node": node.address, "attempt": 1}, node)
    [pen] = env.client.penalties(node=node.address)
    assert pen["amount"] > 0
    with pytest.raises(ExecutionLayerError) as e:
        _process(env, node, job, attempt=2)
    assert e.value.status == 409 and e.value.code == "retake_refused"
    assert _process(env, other, job, attempt=2)["job"]["node"] == other.address


def test_timed_out_top_level_job_is_reoffered(env: Env) -> None:
    """A node lets a plain job time out: the requester's job is offered again (attempt 2),
    not lost, and the node is penalised."""
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    slow = env.stack.node_accounts[1]
    job = submit_job(
        env.client, env.blobs, alice, "wordcount/v1", b"a b c\n", 4 * EMETH, timeout_s=1
    )
    _process(env, slow, job)
    env.stack.start_agents(nodes=False, billing=False)
    wait_until(lambda: env.client.job(job["jobId"])["attempt"] == 2, 15, "the job offered again")
    again = env.client.job(job["jobId"])
    assert again["state"] == "registered" and again["node"] is None
    [pen] = env.client.penalties(node=slow.address)
    assert pen["reason"] == "timeout"


def test_tickets_and_actions_bound_to_one_execution_layer(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second execution layer (or a fresh database) on the same EmethCore: its Ticket ids
    never reuse the first one's (settled on L1), an action signed for the first is refused by
    the second, and a Ticket id settled on L1 with another jobsRoot is never marked settled."""
    from offchain.emeth.execution.actions import sign_action
    from offchain.emeth.runtime import build_service

    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    env.stack.start_agents()
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"a b\n", 4 * EMETH)
    wait_for(env.client, job["jobId"], ("billed",), timeout_s=40)
    env.wait_settled(20)
    settled = {t["ticketId"] for t in env.client.tickets()}
    other = build_service(
        env.l1, f"sqlite:///{tmp_path / 'other.db'}", env.stack.roles(), env.stack.programs
    )
    try:
        assert other.next_ticket_id() not in settled
        assert not other.mark_settled(next(iter(settled)))  # not its Ticket
        msg = {
            "jobId": new_job_id(),
            "requester": alice.address,
            "programId": "wordcount/v1",
            "datasetKey": env.blobs.put(b"x\n"),
            "params": "{}",
            "fee": EMETH,
            "timeoutSeconds": 30,
            "expiresAt": int(time.time()) + 600,
            "splittable": False,
        }
        sig = sign_action(env.client.domain(), "RegisterJob", msg, alice)
        with pytest.raises(ActionError) as e:
            other.apply("RegisterJob", msg, sig)
        assert e.value.status == 401
    finally:
        other.engine.dispose()


def test_signer_never_bundles_an_unpayable_debit(env: Env) -> None:
    """A requester withdraws its whole deposit after its job is verified: the Signer checks
    balances before bundling, so the job waits (still billable once it is funded again)
    instead of going into a Ticket whose debit L1 would skip; others are billed."""
    alice, bob = env.requesters[0], env.requesters[1]
    env.deposit(alice, 5 * EMETH)
    env.deposit(bob, 10 * EMETH)
    node = env.stack.node_accounts[0]
    verifier = dev_account(env.stack.config.verifier_account)
    jobs = [
        submit_job(env.client, env.blobs, who, "wordcount/v1", b"a b\n", fee)
        for who, fee in ((alice, 5 * EMETH), (bob, 4 * EMETH))
    ]
    for j in jobs:
        _process(env, node, j)
        result, fuel = WordCount().compute(b"a b\n", {})
        sub = {"jobId": j["jobId"], "node": node.address, "attempt": 1}
        env.client.act("Submit", sub | {"resultKey": env.blobs.put(result), "fuel": fuel}, node)
        env.client.act(
            "Verify", {"jobId": j["jobId"], "verifier": verifier.address, "attempt": 1}, verifier
        )
    sender = env.devnet.chain.sender(alice)  # type: ignore[union-attr]
    env.l1.request_withdrawal(sender, 5 * EMETH)
    env.advance(env.l1.withdrawal_delay_s() + 1)
    env.l1.withdraw(sender)
    signer = Signer(env.client, env.stack.signer_account, env.l1.chain_id, env.l1.core_address)
    assert signer.sign_round()["tickets"] == 1
    [t] = env.client.tickets()
    assert t["jobIds"] == [jobs[1]["jobId"]]
    assert env.client.job(jobs[0]["jobId"])["state"] == "verified"


def test_penalty_shortfall_on_l1_is_enforced(env: Env) -> None:
    """A node whose L1 penalties exceeded its collateral (``penaltyShortfall``) tops up the
    minimum again: it still owes the shortfall, so it cannot take jobs until it covers it."""
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    node = env.stack.node_accounts[2]
    collateral = env.l1.collateral_of(node.address).balance
    t = build_ticket(
        77,
        node.address,
        [],
        penalty=collateral + 50 * EMETH,
        valid_until=env.l1.ticket_valid_until(),
    )
    sig = sign_ticket(env.stack.signer_account, env.l1.chain_id, env.l1.core_address, t)
    env.l1.settle_ticket(env.devnet.chain.sender(node), t, sig)  # type: ignore[union-attr]
    assert env.l1.penalty_shortfall(node.address) == 50 * EMETH
    env.l1.deposit_collateral(env.devnet.chain.sender(node), env.l1.min_collateral() + EMETH)  # type: ignore[union-attr]
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"a\n", 4 * EMETH)
    with pytest.raises(ExecutionLayerError) as e:
        _process(env, node, job)
    assert e.value.status == 403 and e.value.code == "insufficient_collateral"
