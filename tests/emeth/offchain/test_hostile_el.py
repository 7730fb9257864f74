"""Hostile actors against the execution layer itself (issue 16, items 3 and 11): a stalled L1
read, two execution-layer processes on one database, a requester that is also the node, fuel
the fee does not pay for, and job timeouts the withdrawal delay does not cover.

Each test performs the attacker's move against the running execution layer on Anvil and
asserts what the honest parties end with.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from eth_account import Account
from sqlalchemy import event

from offchain.config import load_config
from offchain.emeth.errors import ActionError, ExecutionLayerError
from offchain.emeth.execution.actions import sign_action
from offchain.emeth.execution.service import ExecutionLayer
from offchain.emeth.programs import WordCount
from offchain.emeth.requester import new_job_id, submit_job
from offchain.emeth.runtime import build_service, wait_until
from offchain.emeth.ticket import build_ticket, sign_ticket
from tests.emeth.offchain.conftest import EMETH, Env


def _register_msg(who: Any, key: str, fee: int, timeout_s: int = 30) -> dict[str, Any]:
    return {
        "jobId": new_job_id(),
        "requester": who.address,
        "programId": "wordcount/v1",
        "datasetKey": key,
        "params": "{}",
        "fee": fee,
        "timeoutSeconds": timeout_s,
        "expiresAt": int(time.time()) + 600,
        "splittable": False,
    }


class _StalledL1:
    """The execution layer's real L1 view, except that every read about ``stalled`` hangs
    until :attr:`release` is set: an L1 node slow to answer (or an RPC provider throttling)
    for the attacker's calls."""

    def __init__(self, inner: Any, stalled: str) -> None:
        self.inner = inner
        self.stalled = stalled.lower()
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        f = getattr(self.inner, name)

        def call(*args: Any) -> Any:
            if any(isinstance(a, str) and a.lower() == self.stalled for a in args):
                self.entered.set()
                self.release.wait(60)
            return f(*args)

        return call


def test_a_stalled_l1_read_never_holds_other_writes(env: Env) -> None:
    """An unfunded key registers a job while L1 is slow to answer about it: every other
    write (an honest requester's registration) goes on meanwhile; the attacker is refused."""
    alice = env.requesters[0]
    env.deposit(alice, 10 * EMETH)
    attacker = Account.create()
    service = env.stack.service
    assert service is not None
    stalled = _StalledL1(service.l1, attacker.address)
    service.l1 = stalled
    key = env.blobs.put(b"a b c\n")
    outcome: dict[str, Any] = {}

    def attack() -> None:
        try:
            env.client.act("RegisterJob", _register_msg(attacker, key, EMETH), attacker)
        except ExecutionLayerError as e:
            outcome["code"] = e.code

    t = threading.Thread(target=attack, daemon=True)
    t.start()
    honest_done = threading.Event()
    try:
        assert stalled.entered.wait(30), "the attacker's registration never read L1"

        def honest() -> None:
            submit_job(env.client, env.blobs, alice, "wordcount/v1", b"x y\n", EMETH)
            honest_done.set()

        threading.Thread(target=honest, daemon=True).start()
        assert honest_done.wait(10), "an honest write waited behind the attacker's L1 read"
    finally:
        stalled.release.set()
        t.join(30)
    assert outcome == {"code": "insufficient_deposit"}
    assert [j["requester"] for j in env.client.jobs()] == [alice.address]


def test_two_execution_layers_on_one_database_never_overcommit_a_deposit(env: Env) -> None:
    """Two execution-layer processes share one database and each accepts a job backed by the
    requester's whole deposit at the same moment: the guarantee lives in the database, so
    exactly one is registered and the other is refused ``insufficient_deposit``.

    Each execution layer's writes are interleaved at the database: each one's job insert
    waits until the other has read the committed fees (or is waiting for the database lock
    the first one holds), so both would read the same committed fees if nothing in the
    database serialised them.
    """
    alice = env.requesters[0]
    fee = 5 * EMETH
    env.deposit(alice, fee)
    assert env.stack.service is not None
    url = env.stack.service.engine.url.render_as_string(hide_password=False)
    els = [build_service(env.l1, url, env.stack.roles(), env.stack.programs) for _ in range(2)]
    arrived = [threading.Event(), threading.Event()]

    def hook(i: int) -> Any:
        def before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            s = statement.lstrip().upper()
            if s.startswith("BEGIN IMMEDIATE") or "ACCOUNT_LOCKS" in s:
                arrived[i].set()  # about to wait for the lock the other one may hold
            elif s.startswith("INSERT INTO JOBS"):
                arrived[i].set()
                arrived[1 - i].wait(30)

        return before

    for i, el in enumerate(els):
        event.listen(el.engine, "before_cursor_execute", hook(i))
    results: list[str] = ["", ""]

    def register(i: int, el: ExecutionLayer) -> None:
        msg = _register_msg(alice, "0x" + "cd" * 32, fee)
        sig = sign_action(el.domain, "RegisterJob", msg, alice)
        try:
            results[i] = el.apply("RegisterJob", msg, sig)["job"]["state"]
        except ActionError as e:
            results[i] = e.code

    threads = [threading.Thread(target=register, args=(i, el)) for i, el in enumerate(els)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results) == ["insufficient_deposit", "registered"]
        f = els[0].funds(alice.address)
        assert (f.committed, f.available) == (fee, 0)
    finally:
        for el in els:
            el.engine.dispose()


def _process(env: Env, node: Any, job: dict[str, Any]) -> dict[str, Any]:
    msg = {"jobId": job["jobId"], "node": node.address, "attempt": job["attempt"]}
    return env.client.act("Process", msg, node)  # type: ignore[no-any-return]


def test_a_requester_cannot_process_its_own_job(env: Env) -> None:
    """A node registers jobs as a requester and takes them itself: it would pay itself and
    add the fuel to its own ``totalFuel``. Refused (``403 self_dealing``); another node
    takes the job."""
    node, other = env.stack.node_accounts[0], env.stack.node_accounts[1]
    env.deposit(node, 10 * EMETH)
    job = submit_job(env.client, env.blobs, node, "wordcount/v1", b"a b c\n", EMETH)
    with pytest.raises(ExecutionLayerError) as e:
        _process(env, node, job)
    assert (e.value.status, e.value.code) == (403, "self_dealing")
    assert env.client.job(job["jobId"])["state"] == "registered"
    assert _process(env, other, job)["job"]["node"] == other.address


def test_fuel_is_bound_to_the_fee(env: Env) -> None:
    """Fuel counts towards a node's ``totalFuel`` only as far as the fee pays for it
    (``fee >= fuel * min_fuel_price_wei``): a job whose fee is below its dataset's fuel is
    refused at registration, and a node claiming more fuel than the fee pays for is refused
    at Submit."""
    alice = env.requesters[0]
    env.deposit(alice, 10 * EMETH)
    service = env.stack.service
    assert service is not None
    data = b"one two three four five\n"
    _, fuel = WordCount().compute(data, {})
    price = getattr(service.config, "min_fuel_price_wei", 1)  # 1 wei per fuel unit by default
    with pytest.raises(ExecutionLayerError) as e:
        submit_job(env.client, env.blobs, alice, "wordcount/v1", data, fuel * price - 1)
    assert (e.value.status, e.value.code) == (422, "invalid_fee")
    assert e.value.details["minFee"] == fuel * price
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", data, fuel * price)
    node = env.stack.node_accounts[0]
    _process(env, node, job)
    result, _ = WordCount().compute(data, {})
    sub = {"jobId": job["jobId"], "node": node.address, "attempt": 1}
    sub["resultKey"] = env.blobs.put(result)
    with pytest.raises(ExecutionLayerError) as e:
        env.client.act("Submit", sub | {"fuel": fuel + 1}, node)
    assert (e.value.status, e.value.code) == (422, "invalid_fuel")
    assert env.client.act("Submit", sub | {"fuel": fuel}, node)["job"]["state"] == "submitted"


def test_job_timeouts_fit_the_withdrawal_delay(env: Env) -> None:
    """A requester registers a job whose processing window is longer than the withdrawal
    delay: it could ask to withdraw while a node processes the job and leave before the
    Ticket settles. Refused at registration: ``timeoutSeconds + settle_margin_s`` + the
    Ticket dispute window must stay below both withdrawal delays on EmethCore."""
    alice = env.requesters[0]
    env.deposit(alice, 10 * EMETH)
    service = env.stack.service
    assert service is not None
    delay = min(env.l1.withdrawal_delay_s(), env.l1.collateral_withdrawal_delay_s())
    window = env.l1.ticket_dispute_window_s()
    longest = delay - window - getattr(service.config, "settle_margin_s", 30) - 1
    assert longest >= 120, "the devnet delay leaves room for the tests' timeouts"
    with pytest.raises(ExecutionLayerError) as e:
        submit_job(
            env.client, env.blobs, alice, "wordcount/v1", b"a\n", EMETH, timeout_s=longest + 1
        )
    assert (e.value.status, e.value.code) == (422, "invalid_timeout")
    assert e.value.details["maxTimeoutSeconds"] == longest
    job = submit_job(env.client, env.blobs, alice, "wordcount/v1", b"a\n", EMETH, timeout_s=longest)
    assert job["state"] == "registered"


def test_a_ticket_capping_a_pending_withdrawal_is_logged_and_counted(env: Env) -> None:
    """A requester asks to withdraw its whole deposit; a Ticket then debits it, and proving
    that debit on EmethCore lowers the pending amount to what is left
    (``PendingWithdrawalReduced``). The execution layer's L1 watcher logs it and counts it in
    ``/metrics``, so the requester's operator sees why less than asked arrives."""
    alice = env.requesters[0]
    env.deposit(alice, 10 * EMETH)
    chain = env.devnet.chain
    assert chain is not None
    env.l1.request_withdrawal(chain.sender(alice), 10 * EMETH)
    node = env.stack.node_accounts[0]
    t = build_ticket(
        78,
        node.address,
        [(bytes(16), alice.address, 1, 4 * EMETH)],
        valid_until=env.l1.ticket_valid_until(),
    )
    sig = sign_ticket(env.stack.signer_account, env.l1.chain_id, env.l1.core_address, t)
    env.l1.settle_ticket(chain.sender(node), t, sig)
    # Its debit is proven (as the node's billing agent does for a pending withdrawal).
    env.l1.prove_debit(chain.sender(node), alice.address, t.debit_proof(alice.address))
    assert env.l1.deposit_of(alice.address).pending == 6 * EMETH
    for _ in range(load_config().emeth_agents.confirmations_on(chain.chain_id)):
        chain.rpc("evm_mine")

    def counted() -> bool:
        [watch] = [h for h in env.stack.health() if h["agent"] == "l1watch"]
        return bool(watch["totals"].get("pending_reduced"))

    wait_until(counted, 15, "the L1 watcher to count the PendingWithdrawalReduced event")
    body = requests.get(env.stack.url + "/metrics", timeout=10).text
    assert 'emeth_agent_events_total{agent="l1watch",event="pending_reduced"} 1.0' in body
