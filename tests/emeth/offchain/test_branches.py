"""Each branch of the seed flow on Anvil: cancel, withdraw, timeout, rejection, many SubJobs,
replayed and forged Tickets, over-commitment."""

from __future__ import annotations

import json

import pytest

from offchain.chain.accounts import dev_account
from offchain.emeth.agents.node import CHEAT, NodePolicy, NodeWorker
from offchain.emeth.agents.signer import Signer
from offchain.emeth.errors import ExecutionLayerError
from offchain.emeth.programs import SortDedupe
from offchain.emeth.requester import submit_job, wait_for
from offchain.emeth.runtime import wait_until
from offchain.emeth.ticket import Debit, Ticket, sign_ticket
from offchain.errors import TxReverted
from tests.emeth.offchain.conftest import EMETH, Env

RECORDS = "".join(f"rec{(i * 7919) % 97:03d}\n" for i in range(300)).encode()


def _history(env: Env, job_id: str) -> list[str]:
    return [h["action"] for h in env.client.history(job_id)]


def test_cancel_before_processing_is_never_billed(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    job = submit_job(env.client, env.blobs, alice, "sortdedupe/v1", b"b\na\n", 5 * EMETH)
    env.cancel(alice, job["jobId"])
    wait_for(env.client, job["jobId"], ("cancelled",), timeout_s=10)
    # A node that had not seen the cancel yet is refused.
    node = env.stack.node_accounts[0]
    with pytest.raises(ExecutionLayerError) as e:
        env.client.act("Process", {"jobId": job["jobId"], "node": node.address, "attempt": 1}, node)
    assert e.value.status == 409
    env.stack.start_agents()
    other = submit_job(env.client, env.blobs, alice, "sortdedupe/v1", b"z\ny\n", 5 * EMETH)
    wait_for(env.client, other["jobId"], ("billed",), timeout_s=30)
    env.wait_settled(20)
    assert env.client.job(job["jobId"])["state"] == "cancelled"
    assert all(job["jobId"] not in t["jobIds"] for t in env.client.tickets())
    assert env.paid_balance(alice) == 95 * EMETH
    assert env.client.funds(alice.address)["committed"] == 0


def test_node_withdraws_after_process_penalty_burned_and_job_reoffered(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    quitter = env.stack.node_accounts[0]
    job = submit_job(env.client, env.blobs, alice, "sortdedupe/v1", RECORDS, 8 * EMETH)
    w = env.stack.make_node(0)
    env.client.act(
        "Process", {"jobId": job["jobId"], "node": quitter.address, "attempt": 1}, quitter
    )
    res = w.withdraw(job["jobId"], 1)
    assert res["job"]["state"] == "registered" and res["job"]["attempt"] == 2
    [pen] = env.client.penalties(node=quitter.address)
    assert pen["amount"] == 2 * EMETH and pen["reason"] == "withdrawn"
    collateral0 = env.l1.collateral_of(quitter.address).balance
    burned0 = env.l1.total_burned()
    # Only the other nodes work from now on.
    env.stack.node_accounts = env.stack.node_accounts[1:] + [quitter]
    env.stack.start_agents(nodes=False)
    for i in range(2):
        env.stack.agents.append(env.stack.make_node(i).start())
    done = wait_for(env.client, job["jobId"], ("billed",), timeout_s=30)
    assert done["node"] != quitter.address and done["attempt"] == 2
    env.wait_settled(20)
    assert env.l1.collateral_of(quitter.address).balance == collateral0 - 2 * EMETH
    assert env.l1.total_burned() == burned0 + 2 * EMETH


def test_timeout_records_penalty_burned_on_l1(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    slow = env.stack.node_accounts[1]
    job = submit_job(
        env.client, env.blobs, alice, "wordcount/v1", b"a b c\n", 4 * EMETH, timeout_s=1
    )
    env.client.act("Process", {"jobId": job["jobId"], "node": slow.address, "attempt": 1}, slow)
    burned0 = env.l1.total_burned()
    env.stack.start_agents(nodes=False)
    # A timed-out plain job is offered again (attempt 2), not lost.
    wait_until(lambda: env.client.job(job["jobId"])["attempt"] == 2, 15, "the job re-offered")
    [pen] = env.client.penalties(node=slow.address)
    assert pen["reason"] == "timeout" and pen["amount"] == 1 * EMETH
    env.wait_settled(20)  # its penalty Ticket posted, final after the dispute window
    assert env.l1.total_burned() == burned0 + 1 * EMETH
    # Nobody has done the job yet: the requester pays nothing.
    assert env.client.job(job["jobId"])["ticketId"] is None
    assert env.paid_balance(alice) == 100 * EMETH
    with pytest.raises(ExecutionLayerError) as e:
        env.client.act(
            "Submit",
            {
                "jobId": job["jobId"],
                "node": slow.address,
                "attempt": 1,
                "resultKey": "0x00",
                "fuel": 3,
            },
            slow,
        )
    assert e.value.status == 409 and e.value.code in ("illegal_transition", "stale_attempt")


def test_wrong_result_rejected_and_subjob_reregistered(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    cheater = env.stack.node_accounts[0]
    env.stack.start_agents(nodes=False, billing=True)
    job = submit_job(
        env.client, env.blobs, alice, "sortdedupe/v1", RECORDS, 16 * EMETH, splittable=True
    )
    wait_for(env.client, job["jobId"], ("split",), timeout_s=10)
    bad = NodeWorker(
        env.client,
        env.blobs,
        env.stack.programs,
        cheater,
        NodePolicy(behaviour=CHEAT, max_jobs_per_tick=1),
    )
    bad.step()
    rejected = [
        s
        for s in env.client.jobs(parent=job["jobId"])
        if "RejectResult" in _history(env, s["jobId"])
    ]
    wait_until(
        lambda: any(
            "RejectResult" in _history(env, s["jobId"])
            for s in env.client.jobs(parent=job["jobId"])
        ),
        10,
        "a rejection",
    )
    rejected = [
        s
        for s in env.client.jobs(parent=job["jobId"])
        if "RejectResult" in _history(env, s["jobId"])
    ]
    assert len(rejected) == 1
    sub = wait_for(env.client, rejected[0]["jobId"], ("registered",), timeout_s=10)
    assert sub["attempt"] == 2 and sub["node"] is None
    for i in (1, 2):
        env.stack.agents.append(env.stack.make_node(i).start())
    wait_for(env.client, job["jobId"], ("billed",), timeout_s=30)
    assert env.client.job(rejected[0]["jobId"])["node"] != cheater.address
    pens = env.client.penalties(node=cheater.address)
    assert [p["reason"] for p in pens] == ["rejected"]
    result = env.blobs.get(env.client.job(job["jobId"])["resultKey"])
    assert result == SortDedupe().compute(RECORDS, {})[0]


def test_aggregation_of_many_subjobs(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    env.stack.config.split_parts = 16
    env.stack.start_agents()
    a = [[(i * j) % 7 - 3 for j in range(12)] for i in range(32)]
    b = [[(i + 2 * j) % 5 for j in range(6)] for i in range(12)]
    job = submit_job(
        env.client,
        env.blobs,
        alice,
        "matmul/v1",
        json.dumps({"a": a, "b": b}).encode(),
        32 * EMETH,
        splittable=True,
    )
    done = wait_for(env.client, job["jobId"], ("billed",), timeout_s=40)
    subs = env.client.jobs(parent=job["jobId"])
    assert len(subs) == 16 and done["fuel"] == 32 * 12 * 6
    assert len({s["node"] for s in subs}) >= 2  # spread over several nodes
    c = json.loads(env.blobs.get(done["resultKey"]))["c"]
    assert c == [[sum(a[i][k] * b[k][j] for k in range(12)) for j in range(6)] for i in range(32)]
    env.wait_settled(20)
    assert sum(env.l1.total_fuel(n.address) for n in env.stack.node_accounts) == 32 * 12 * 6


def test_ticket_replay_and_forgery_rejected(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    env.stack.start_agents(billing=False)
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"x y\n", 3 * EMETH)
    wait_for(env.client, job["jobId"], ("billed",), timeout_s=20)
    [t] = env.client.tickets()
    node = dev_account(next(i for i in range(33, 37) if dev_account(i).address == t["node"]))
    ticket = Ticket.from_dict(t)
    sig = bytes.fromhex(t["signature"][2:])
    sender = env.devnet.chain.sender(node)  # type: ignore[union-attr]
    tid = ticket.ticket_id
    wait_until(lambda: env.l1.posted_ticket(tid).status == "posted", 10, "the Signer's post")
    env.advance(env.l1.ticket_dispute_window_s())
    env.l1.finalize_ticket(sender, ticket)
    with pytest.raises(TxReverted) as e:
        env.l1.finalize_ticket(sender, ticket)
    assert e.value.error_name == "EmethCoreTicketAlreadySettled"
    # A node forging a bigger Ticket with its own key: refused on L1 and by the execution layer.
    forged = Ticket(
        99,
        node.address,
        ticket.jobs_root,
        1,
        3,
        0,
        (Debit(alice.address, 50 * EMETH, 50 * EMETH),),
        valid_until=ticket.valid_until,
    )
    fsig = sign_ticket(node, env.l1.chain_id, env.l1.core_address, forged)
    with pytest.raises(TxReverted) as e:
        env.l1.post_ticket(sender, forged, [fsig])
    assert e.value.error_name == "EmethCoreUnauthorizedSigner"
    payload = forged.to_dict() | {
        "ticketId": 2,
        "jobIds": [],
        "penaltyIds": [],
        "signature": "0x" + fsig.hex(),
    }
    with pytest.raises(ExecutionLayerError) as e2:
        env.client.store_ticket(payload)
    assert e2.value.status in (401, 403)
    # Tampering with a signed Ticket breaks its signature.
    tampered = Ticket(
        ticket.ticket_id + 1,
        node.address,
        ticket.jobs_root,
        1,
        3,
        0,
        (Debit(alice.address, 50 * EMETH, 50 * EMETH),),
        valid_until=ticket.valid_until,
    )
    with pytest.raises(TxReverted) as e:
        env.l1.post_ticket(sender, tampered, [sig])
    assert e.value.error_name in ("EmethCoreUnauthorizedSigner", "EmethCoreInvalidSignature")
    assert env.paid_balance(alice) == 97 * EMETH


def test_requester_cannot_overcommit_or_withdraw_backing_funds(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 10 * EMETH)
    j1 = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"one two\n", 8 * EMETH)
    with pytest.raises(ExecutionLayerError) as e:
        submit_job(env.client, env.blobs, alice, "wordcount/v1", b"three\n", 5 * EMETH)
    assert e.value.status == 403 and e.value.code == "insufficient_deposit"
    assert env.client.funds(alice.address)["available"] == 2 * EMETH
    env.stack.start_agents(billing=False)
    wait_for(env.client, j1["jobId"], ("billed",), timeout_s=20)
    # The Ticket is signed but not settled: the requester now asks for everything back.
    token0 = env.l1.token_balance(alice.address)
    env.l1.request_withdrawal(env.devnet.chain.sender(alice), 10 * EMETH)  # type: ignore[union-attr]
    assert env.client.funds(alice.address)["available"] == -8 * EMETH
    with pytest.raises(ExecutionLayerError) as e:
        submit_job(env.client, env.blobs, alice, "wordcount/v1", b"four\n", 1 * EMETH)
    assert e.value.code == "insufficient_deposit"
    # The node finalizes the posted Ticket within the withdrawal delay, so it is paid; the
    # requester gets the rest.
    [t] = env.client.tickets()
    wait_until(lambda: env.l1.posted_ticket(t["ticketId"]).status == "posted", 10, "posted")
    env.advance(env.l1.ticket_dispute_window_s())
    for acct in env.stack.node_accounts:
        from offchain.emeth.agents.billing import Billing

        Billing(env.client, env.l1, env.devnet.chain.sender(acct), acct.address).step()  # type: ignore[union-attr]
    assert all(t["settled"] for t in env.client.tickets())
    env.advance(env.l1.withdrawal_delay_s() + 1)
    env.l1.withdraw(env.devnet.chain.sender(alice))  # type: ignore[union-attr]
    assert env.l1.token_balance(alice.address) - token0 == 2 * EMETH


def test_operator_settles_penalty_tickets_a_node_ignores(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    env.stack.config.penalty_enforce_after_s = 1.0
    quitter = env.stack.node_accounts[2]
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"q\n", 8 * EMETH)
    env.client.act(
        "Process", {"jobId": job["jobId"], "node": quitter.address, "attempt": 1}, quitter
    )
    env.stack.make_node(2).withdraw(job["jobId"], 1)
    burned0 = env.l1.total_burned()
    env.stack.start_agents(nodes=False, billing=False)  # no node settles anything
    [t] = env.wait_settled(20)  # posted by the Signer, finalized by the operator's billing
    assert env.l1.total_burned() == burned0 + 2 * EMETH
    assert t["node"] == quitter.address and t["settled"] and t["jobCount"] == 0


def test_cancel_after_process_is_too_late_until_the_job_is_given_back(env: Env) -> None:
    alice = env.requesters[0]
    env.deposit(alice, 100 * EMETH)
    node = env.stack.node_accounts[0]
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"late\n", 4 * EMETH)
    env.client.act("Process", {"jobId": job["jobId"], "node": node.address, "attempt": 1}, node)
    env.cancel(alice, job["jobId"])
    wait_until(
        lambda: "L1CancelTooLate" in _history(env, job["jobId"]), 10, "the cancel to be seen"
    )
    assert env.client.job(job["jobId"])["state"] == "processing"
    res = env.stack.make_node(0).withdraw(job["jobId"], 1)
    assert res["job"]["state"] == "cancelled"  # not re-offered
    assert env.client.funds(alice.address)["committed"] == 0


def test_ticket_held_past_its_requesters_withdrawal_expires(env: Env) -> None:
    """A Ticket nobody posts within its validity (settleMargin, 30 s on a devnet) can never
    be posted: the requester's withdrawal after the delay is paid, and the late Ticket is not
    paid out of other accounts (docs/spec.md, "Ticket validity")."""
    from offchain.emeth.agents.billing import Billing

    alice = env.requesters[0]
    env.deposit(alice, 5 * EMETH)
    env.stack.start_agents(billing=False, signer=False)
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"w\n", 5 * EMETH)
    wait_for(env.client, job["jobId"], ("verified",), timeout_s=20)
    assert _holding_signer(env).sign_round()["tickets"] == 1  # stored, not posted
    # Nobody settles during the whole withdrawal delay: the requester takes its money back.
    sender = env.devnet.chain.sender(alice)  # type: ignore[union-attr]
    env.l1.request_withdrawal(sender, 5 * EMETH)
    env.advance(env.l1.withdrawal_delay_s() + 1)
    env.l1.withdraw(sender)
    [t] = env.client.tickets()
    node = next(a for a in env.stack.node_accounts if a.address == t["node"])
    b = Billing(env.client, env.l1, env.devnet.chain.sender(node), node.address)  # type: ignore[union-attr]
    core_before = env.l1.token.functions.balanceOf(env.l1.core_address).call()
    # The node's billing agent skips it (EmethCore would revert EmethCoreTicketExpired).
    assert b.step() == {
        "settled": 0,
        "already": 0,
        "expired": 1,
        "debits_proven": 0,
        "disputed": 0,
    }
    assert b.health()["failuresInRow"] == 0 and not env.l1.is_settled(t["ticketId"])
    node_sender = env.devnet.chain.sender(node)  # type: ignore[union-attr]
    sig = bytes.fromhex(t["signature"][2:])
    with pytest.raises(TxReverted) as e:
        env.l1.post_ticket(node_sender, Ticket.from_dict(t), [sig])
    assert e.value.error_name == "EmethCoreTicketExpired"
    assert env.l1.token.functions.balanceOf(env.l1.core_address).call() == core_before
    assert env.l1.unpaid_debits(alice.address) == 0


def test_expired_ticket_is_rebundled_and_billed_once(env: Env) -> None:
    """A Ticket left unposted past its validUntil is released by the Signer's next round: its
    job is billed again in a new Ticket whose leaf carries the expired debit (the chain already
    counts it), so once final the node is paid the fee once and the requester debited once."""
    from offchain.emeth.agents.billing import Billing

    alice = env.requesters[0]
    env.deposit(alice, 20 * EMETH)
    before = env.paid_balance(alice)
    env.stack.start_agents(billing=False, signer=False)
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"x\n", 5 * EMETH)
    wait_for(env.client, job["jobId"], ("verified",), timeout_s=20)
    signer = _holding_signer(env)
    assert signer.sign_round()["tickets"] == 1  # stored, never posted
    [first] = env.client.tickets()
    env.advance(env.l1.settle_margin_s() + 2)  # nobody posted it in time
    assert signer.sign_round()["tickets"] == 1  # released, then re-bundled
    assert env.client.job(job["jobId"])["state"] == "billed"
    old, new = env.client.tickets()
    assert old["ticketId"] == first["ticketId"] and old["expired"] and not new["expired"]
    assert env.client.job(job["jobId"])["ticketId"] == new["ticketId"]
    [d_old], [d_new] = old["debits"], new["debits"]
    assert d_new["amount"] == d_old["amount"] == 5 * EMETH
    assert d_new["cumulative"] == d_old["cumulative"]  # carried: counted once in the chain
    assert d_new["prevTicketId"] == old["ticketId"]
    node = next(a for a in env.stack.node_accounts if a.address == new["node"])
    paid_before = env.l1.token.functions.balanceOf(node.address).call()
    b = Billing(env.client, env.l1, env.devnet.chain.sender(node), node.address)  # type: ignore[union-attr]
    assert b.step()["posted"] == 1  # the billing agent posts it with its stored signature
    env.advance(env.l1.ticket_dispute_window_s())
    out = b.step()
    assert out["settled"] == 1 and env.l1.is_settled(new["ticketId"])
    assert not env.l1.is_settled(old["ticketId"])
    assert env.l1.token.functions.balanceOf(node.address).call() - paid_before == 5 * EMETH
    assert before - env.paid_balance(alice) == 5 * EMETH  # debited once


def _holding_signer(env: Env) -> Signer:
    """The devnet Signer key as a Signer that stores its Tickets but never posts them (no
    sender): a Ticket held back, as a Signer stopped between storing and posting leaves it."""
    return Signer(
        env.client, env.stack.signer_account, env.l1.chain_id, env.l1.core_address, l1=env.l1
    )
