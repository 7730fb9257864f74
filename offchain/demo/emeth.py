"""Demo scene: the EMETH marketplace on the devnet.

A hostile requester first tries a dataset its program rejects (non-UTF-8 text for a word
count), an expiry far in the future and a processing window longer than the withdrawal delay:
each is refused at registration and nothing of its deposit is committed. Then a requester
deposits and registers a splittable word-count job and several plain jobs; four nodes work
on them: two honest, one that stalls (its job times out: penalty) and one that
cheats (its results are rejected: penalty, the SubJob is re-registered). The signer bills
the confirmed work in Tickets and posts them on EmethCore, the nodes finalize them once the
dispute window has passed, and the scene prints the L1 balances, burns and fuel afterwards.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import structlog
from rich.console import Console
from rich.table import Table

from offchain.chain.accounts import dev_account
from offchain.emeth.agents.node import CHEAT, STALL, NodePolicy
from offchain.emeth.errors import ExecutionLayerError
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.l1 import EmethL1
from offchain.emeth.requester import prove_own_debit, submit_job
from offchain.emeth.runtime import EmethAgentsConfig, stack_for_devnet, wait_until
from offchain.storage.client import BlobClient

EMETH = 10**18
TEXT = (
    "It is a truth universally acknowledged, that a single man in possession\n"
    "of a good fortune, must be in want of a wife. However little known the\n"
    "feelings or views of such a man may be on his first entering a\n"
    "neighbourhood, this truth is so well fixed in the minds of the\n"
    "surrounding families, that he is considered as the rightful property\n"
    "of some one or other of their daughters.\n"
) * 8


def _e(wei: int) -> str:
    return f"{wei / EMETH:,.2f}"


def _hostile_requester(
    client: ExecutionClient, blobs: BlobClient, l1: EmethL1, who: Any, console: Console
) -> None:
    """A requester tries to burn node collateral with a bad dataset and to get unbillable
    work with a far expiry or an overlong processing window: every job is refused."""
    delay = min(l1.withdrawal_delay_s(), l1.collateral_withdrawal_delay_s())
    attempts: list[tuple[str, bytes, dict[str, Any]]] = [
        ("a dataset wordcount rejects (not UTF-8)", b"\xff\xfe\xfa not text\n", {}),
        ("an expiry 2**200 s away", b"a b c\n", {"expires_in_s": 2**200}),
        (
            f"a {delay} s processing window (withdrawal delay {delay} s)",
            b"a b\n",
            {"timeout_s": delay},
        ),
    ]
    for what, data, kw in attempts:
        try:
            job = submit_job(client, blobs, who, "wordcount/v1", data, 50 * EMETH, **kw)
        except ExecutionLayerError as e:
            console.print(f"  hostile requester: {what} -> refused {e.status} {e.code}")
        else:
            raise AssertionError(f"hostile job {job['jobId']} ({what}) was registered")
    funds = client.funds(who.address)
    assert funds["committed"] == 0, funds
    console.print(
        f"  hostile requester: nothing registered, {_e(funds['available'])} EMETH still "
        "available, no node collateral at risk"
    )


def run(devnet: Any, console: Console) -> None:
    """Play the EMETH scene on a started devnet."""
    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        _run(devnet, console)
    finally:
        structlog.configure(**old)


def _run(devnet: Any, console: Console) -> None:
    cfg = EmethAgentsConfig(poll_interval_ms=100, signer_interval_s=1.0, split_parts=4)
    policies = {
        0: NodePolicy(behaviour=STALL, max_jobs=1, max_jobs_per_tick=1),
        1: NodePolicy(behaviour=CHEAT, max_jobs=2, max_jobs_per_tick=1),
    }
    stack = stack_for_devnet(devnet, n_nodes=4, config=cfg, node_policies=policies)
    names = {
        stack.node_accounts[0].address: "node A (stalls)",
        stack.node_accounts[1].address: "node B (cheats)",
        stack.node_accounts[2].address: "node C",
        stack.node_accounts[3].address: "node D",
    }
    l1: EmethL1 = stack.l1
    alice = dev_account(devnet.config.emeth.requester_accounts[0])
    try:
        stack.fund_nodes()
        stack.start_service()
        client, blobs = stack.client(), BlobClient(devnet.storage_url)
        l1.deposit(devnet.chain.sender(alice), 500 * EMETH)
        console.print(f"requester {alice.address} deposited 500 EMETH on EmethCore")
        console.print(
            f"execution layer at {stack.url}; 4 nodes with {_e(2 * l1.min_collateral())} "
            "EMETH collateral each"
        )
        mallory = dev_account(devnet.config.emeth.requester_accounts[1])
        l1.deposit(devnet.chain.sender(mallory), 100 * EMETH)
        _hostile_requester(client, blobs, l1, mallory, console)
        burned0 = l1.total_burned()
        # The misbehaving nodes start first so that they get work.
        stack.start_agents(nodes=False)
        bad = [stack.make_node(0), stack.make_node(1)]
        for w in bad:
            stack.agents.append(w.start())
        jobs = []
        jobs.append(
            submit_job(
                client,
                blobs,
                alice,
                "sortdedupe/v1",
                b"pear\napple\nfig\napple\n",
                6 * EMETH,
                timeout_s=3,
            )
        )
        jobs.append(
            submit_job(
                client,
                blobs,
                alice,
                "wordcount/v1",
                TEXT.encode(),
                40 * EMETH,
                timeout_s=5,
                splittable=True,
            )
        )
        console.print(f"registered a splittable word count ({jobs[-1]['jobId']}) for 40 EMETH")
        wait_until(lambda: all(w.taken >= w.policy.max_jobs for w in bad), 20, "bad nodes busy")
        m = json.dumps({"a": [[1, 2, 3], [4, 5, 6]], "b": [[7, 8], [9, 10], [11, 12]]}).encode()
        for i in range(5):
            prog, data = [
                ("matmul/v1", m),
                ("sortdedupe/v1", b"b\na\nc\nb\n"),
                ("wordcount/v1", b"to be or not to be\n"),
            ][i % 3]
            jobs.append(submit_job(client, blobs, alice, prog, data, (5 + i) * EMETH, timeout_s=5))
        console.print(f"registered {len(jobs) - 1} plain jobs; honest nodes C and D start")
        for i in (2, 3):
            w = stack.make_node(i)
            stack.nodes.append(w)
            stack.agents.append(w.start())
        final = ("billed", "timed_out", "cancelled", "rejected", "expired")
        wait_until(
            lambda: all(client.job(j["jobId"])["state"] in final for j in jobs), 60, "every job"
        )
        wait_until(lambda: not client.penalties(unbilled=True), 20, "penalties in Tickets")
        window = l1.ticket_dispute_window_s()  # posted Tickets are final only after it
        console.print(f"Tickets posted; final after the {window} s dispute window")
        wait_until(
            lambda: all(t["settled"] for t in client.tickets()), 30 + window, "Tickets settled"
        )

        t = Table(title="jobs")
        for col in ("job", "program", "state", "node", "fee", "attempts"):
            t.add_column(col)
        for j in jobs:
            j = client.job(j["jobId"])
            t.add_row(
                j["jobId"][:10] + "…",
                j["programId"],
                j["state"],
                names.get(
                    j["node"] or "", "-" if not j["children"] else f"{j['children']} SubJobs"
                ),
                _e(j["fee"]),
                str(j["attempt"]),
            )
        console.print(t)
        for j in jobs:
            for h in client.history(j["jobId"]):
                if h["action"] in ("Timeout", "RejectResult", "Withdraw"):
                    console.print(
                        f"  {h['action']} of {j['jobId'][:10]}… ({names.get(h['node'], h['node'])})"
                    )
            for s in client.jobs(parent=j["jobId"]):
                for h in client.history(s["jobId"]):
                    if h["action"] in ("Timeout", "RejectResult", "Reregister"):
                        console.print(
                            f"  {h['action']} of SubJob {s['subIndex']} "
                            f"({names.get(h['node'], h['node'] or '-')})"
                        )
        tk = Table(title="Tickets posted and finalized on EmethCore")
        for col in ("id", "node", "jobs", "paid", "penalty burned", "fuel"):
            tk.add_column(col)
        for tic in client.tickets():
            tk.add_row(
                str(tic["ticketId"]),
                names[tic["node"]],
                str(tic["jobCount"]),
                _e(sum(d["amount"] for d in tic["debits"])),
                _e(tic["penalty"]),
                str(tic["fuel"]),
            )
        console.print(tk)
        nt = Table(title="L1 after billing")
        for col in ("node", "collateral", "wallet EMETH", "total fuel"):
            nt.add_column(col)
        for acct in stack.node_accounts:
            nt.add_row(
                names[acct.address],
                _e(l1.collateral_of(acct.address).balance),
                _e(l1.token_balance(acct.address)),
                str(l1.total_fuel(acct.address)),
            )
        console.print(nt)
        # Requesters are debited lazily: alice proves her newest debit leaf (one proof for
        # every Ticket that billed her), as her withdrawal would.
        left = prove_own_debit(client, l1, devnet.chain.sender(alice), alice.address)
        console.print(
            f"requester deposit after proving her newest debit: {_e(left)} EMETH "
            f"(paid {_e(500 * EMETH - left)})"
        )
        console.print(f"burned by penalties: {_e(l1.total_burned() - burned0)} EMETH")
        _dishonest_signer(stack, client, l1, alice, names, console)
    finally:
        stack.stop()


def _dishonest_signer(
    stack: Any, client: ExecutionClient, l1: EmethL1, alice: Any, names: Any, console: Console
) -> None:
    """The bonded Signer key posts a Ticket billing alice 5 EMETH for a job she signed at
    most 1 EMETH for; the node's billing agent disputes it within the window."""
    import os

    from offchain.emeth.backing import signed_job
    from offchain.emeth.disputes import post_published

    signer, node = stack.signer_account, stack.node_accounts[2].address
    now = int(l1.chain.w3.eth.get_block("latest")["timestamp"])
    job = signed_job(
        client.domain(), alice, b"\x01" + os.urandom(15), 5 * EMETH, now, max_fee=EMETH
    )
    bond, spendable = l1.bonded_signer(signer.address).bond, l1.spendable_deposit(alice.address)
    tid = client.domain().el_id << 32 | 0x7FFF_FFFF
    post_published(l1, client, signer, tid, node, [job])
    window = l1.ticket_dispute_window_s()
    console.print(
        f"a dishonest Signer posts Ticket {tid} billing alice 5 EMETH for a job she signed "
        f"for at most 1 (dispute window {window} s)"
    )
    wait_until(lambda: l1.posted_ticket(tid).status == "reversed", window, "the dispute")
    console.print(
        f"  disputed by {names[node]}'s billing agent (FeeAboveMax): the Ticket is reversed, "
        f"the Signer's bond {_e(bond)} -> {_e(l1.bonded_signer(signer.address).bond)} EMETH, "
        f"alice's spendable deposit {_e(l1.spendable_deposit(alice.address))} EMETH "
        f"(was {_e(spendable)}), {names[node]} paid nothing for it"
    )


if __name__ == "__main__":
    from offchain.devnet import Devnet

    t0 = time.perf_counter()
    with Devnet(ephemeral=True, log=lambda *a, **k: None) as d:
        run(d, Console())
    print(f"{time.perf_counter() - t0:.1f}s")
