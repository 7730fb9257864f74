"""A dishonest Signer's posted Tickets, disputed by the watchers (docs/spec.md, "Disputes and
the bonded Signer set"): the devnet's bonded signer key (k = 1) posts, directly on EmethCore,
Tickets billing a job its requester never signed, an inflated fee, a job cancelled on L1 before
its Process and a job already billed, and publishes their leaves; the node's billing agent
disputes each within the window, the signer's bond is slashed, the requester stays whole and
the node is paid for none of them. The requester CLI (``tickets watch``) does the same for a
Ticket no billing agent watches."""

from __future__ import annotations

import dataclasses
import os

import pytest
from eth_account import Account

from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.billing import Billing
from offchain.emeth.backing import JobBacking, backed_jobs_root, signed_job
from offchain.emeth.disputes import post_published, unbacked_reason
from offchain.emeth.errors import ExecutionLayerError
from offchain.emeth.requester import submit_job, wait_for
from offchain.emeth.runtime import wait_until
from offchain.emeth.ticket import Ticket, build_ticket
from tests.emeth.offchain.conftest import EMETH, Env

FEE = 3 * EMETH


def _job(env: Env, requester: Account, processed_at: int, **kw: object) -> JobBacking:
    job_id = bytes([os.urandom(1)[0] & 0x7F]) + os.urandom(15)
    return signed_job(env.client.domain(), requester, job_id, FEE, processed_at, **kw)  # type: ignore[arg-type]


def _post_bad(env: Env, n: int, node: str, jobs: list[JobBacking]) -> Ticket:
    """The dishonest signer (the devnet's bonded key) posts and publishes a Ticket."""
    tid = env.client.domain().el_id << 32 | n
    return post_published(env.l1, env.client, env.stack.signer_account, tid, node, jobs)


def _now(env: Env) -> int:
    chain = env.devnet.chain
    assert chain is not None
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def test_billing_agent_disputes_each_dishonest_ticket(env: Env) -> None:
    chain = env.devnet.chain
    assert chain is not None
    l1, r = env.l1, env.requesters[0]
    node, other_node = (a.address for a in env.stack.node_accounts[:2])
    env.deposit(r, 100 * EMETH)
    now = _now(env)
    cancelled = _job(env, r, now)
    env.cancel(r, "0x" + cancelled.job_id.hex())
    cancelled = dataclasses.replace(
        cancelled, processed_at=l1.cancelled_at(cancelled.job_id, r.address)
    )
    unsigned = _job(env, r, now)
    unsigned = dataclasses.replace(unsigned, register_signature=b"\x07" * 65)
    billed = _job(env, r, now)
    bad = {
        "UnsignedJob": [_job(env, r, now), unsigned],
        "FeeAboveMax": [_job(env, r, now, max_fee=FEE // 3)],
        "CancelledBeforeProcess": [cancelled],
    }
    first = _post_bad(env, 1_000, other_node, [billed])  # backed: it stands
    tickets = {k: _post_bad(env, 1_001 + i, node, jobs) for i, (k, jobs) in enumerate(bad.items())}
    tickets["DoubleBilled"] = _post_bad(env, 1_010, node, [billed])
    bond = l1.bonded_signer(env.stack.signer_account.address).bond
    wallet, spendable = l1.token_balance(node), l1.spendable_deposit(r.address)
    node_tx = chain.sender(env.stack.node_accounts[0])
    agent = Billing(env.client, l1, node_tx, node, LoopConfig(poll_interval_ms=50)).start()
    try:
        wait_until(
            lambda: len(agent.watcher.disputes) == len(tickets),  # type: ignore[union-attr]
            20,
            "the billing agent disputes the four Tickets",
        )
    finally:
        agent.stop()
    got = {d.ticket_id: d.reason for d in agent.watcher.disputes}  # type: ignore[union-attr]
    assert got == {t.ticket_id: k for k, t in tickets.items()}
    assert all(l1.posted_ticket(t.ticket_id).status == "reversed" for t in tickets.values())
    assert sum(d.slashed for d in agent.watcher.disputes) == bond > 0  # type: ignore[union-attr]
    assert l1.bonded_signer(env.stack.signer_account.address).bond == 0
    final_at = max(l1.posted_ticket(t.ticket_id).final_at for t in [first, *tickets.values()])
    env.advance(final_at - _now(env) + 1)
    assert l1.finalize_ticket(node_tx, first).paid == FEE  # the first bill of the job stands
    assert l1.token_balance(node) == wallet + bond // 2  # no bad Ticket paid; its reward
    for t in tickets.values():
        assert l1.posted_ticket(t.ticket_id).status == "reversed"
    assert l1.spendable_deposit(r.address) == spendable == 100 * EMETH


def test_requester_cli_disputes_an_inflated_ticket(env: Env) -> None:
    r = env.requesters[1]
    env.deposit(r, 50 * EMETH)
    jobs = [_job(env, r, _now(env), max_fee=EMETH)]  # signed for at most 1 EMETH, billed 3
    t = _post_bad(env, 2_000, env.stack.node_accounts[2].address, jobs)
    wallet = env.l1.token_balance(r.address)
    out = env.cli("tickets", "watch", "--once")
    assert out.returncode == 0, out.stderr
    assert f"disputed Ticket {t.ticket_id} (FeeAboveMax" in out.stdout
    assert env.l1.posted_ticket(t.ticket_id).status == "reversed"
    assert env.l1.token_balance(r.address) > wallet  # the disputer's share
    assert env.l1.spendable_deposit(r.address) == 50 * EMETH


def test_published_leaves_must_hash_to_the_jobs_root(env: Env) -> None:
    r = env.requesters[0]
    jobs = [_job(env, r, _now(env)), _job(env, r, _now(env))]
    tid = env.client.domain().el_id << 32 | 3_000
    rows = [(j.job_id, j.requester, j.fuel, j.fee) for j in jobs]
    t = dataclasses.replace(build_ticket(tid, r.address, rows), jobs_root=backed_jobs_root(jobs))
    leaves = [j.to_dict() for j in jobs]
    with pytest.raises(ExecutionLayerError) as e:
        env.client.publish_leaves(t.to_dict(), leaves[::-1])  # another order: another root
    assert (e.value.status, e.value.code) == (422, "invalid_leaves")
    assert env.client.posted_leaves(tid) is None
    assert env.client.publish_leaves(t.to_dict(), leaves) == {"ticketId": tid, "leaves": 2}
    assert env.client.publish_leaves(t.to_dict(), leaves)["leaves"] == 2  # again: a no-op
    other = dataclasses.replace(t, fuel=t.fuel + 1)
    with pytest.raises(ExecutionLayerError) as e:
        env.client.publish_leaves(other.to_dict(), leaves)
    assert (e.value.status, e.value.code) == (409, "conflict")
    doc = env.client.posted_leaves(tid)
    assert doc is not None and Ticket.from_dict(doc["ticket"]) == t


def test_execution_layer_serves_each_jobs_backing(env: Env) -> None:
    """``GET /jobs/{id}/backing``: the requester's signed RegisterJob and the Process time of a
    job the agents processed: a leaf EmethCore and the watcher find backed."""
    alice = env.requesters[0]
    env.deposit(alice, 20 * EMETH)
    waiting = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"not yet\n", EMETH)
    with pytest.raises(ExecutionLayerError) as e:
        env.client.backing(waiting["jobId"])
    assert (e.value.status, e.value.code) == (409, "not_processed")
    env.l1.cancel(env.devnet.chain.sender(alice), bytes.fromhex(waiting["jobId"][2:]))  # type: ignore[union-attr]
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"x y z\n", 3 * EMETH)
    env.stack.start_agents(billing=False)
    wait_for(env.client, job["jobId"], ("billed",), timeout_s=20)
    b = JobBacking.from_dict(env.client.backing(job["jobId"]))
    assert (b.requester, b.fee, b.fuel, b.part) == (alice.address, 3 * EMETH, 3, 0)
    assert b.register["jobId"].hex() == job["jobId"][2:]
    el = env.client.domain().el_id
    # Backed for a posting at or after its Process (the execution layer dates the Process by
    # its own clock; the Signer's view of L1 is later).
    assert unbacked_reason(env.l1, el, b, max(_now(env), b.processed_at)) is None
    assert unbacked_reason(env.l1, el, b, b.processed_at - 1) == "CancelledBeforeProcess"
    assert bytes(env.l1.core.functions.jobBackingLeaf(b.as_abi()).call()) == b.leaf
