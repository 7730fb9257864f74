"""EMETH L1 gas: settling a 100-job Ticket vs. the L1-only design's per-job transactions.

Every figure is exact, read from receipts on a fresh Anvil:
- ``ticket_settle_gas``: settling a 100-job Ticket with 3 requester debits (steady state: the
  node has settled a Ticket before, as a billing agent does all day);
- ``ticket_settle_gas_first``: the node's first Ticket (cold storage slots);
- ``ticket_settle_with_penalty_gas``: the steady Ticket plus a penalty burned from collateral;
- ``emeth_gas_per_job_billed_at_100_jobs_per_ticket``: ``ticket_settle_gas / 100``;
- ``emeth_gas_per_job_billed_100_jobs_100_requesters``: the gas of a steady-state 100-job Ticket
  billing 100 distinct requesters (each a first-time debit), / 100;
- ``emeth_requester_withdraw_gas``: ``withdraw`` with a lazy-balance proof of the requester's
  leaf in that 100-requester Ticket (depth-7 Merkle proof; the request was made before it);
- ``emeth_l1_only_gas_per_job``: request + process + submit + verify of one job on
  ``EmethCoreL1Baseline`` (mean over 10 jobs after a warm-up job);
- ``emeth_gas_per_job_posted_finalized_at_100_jobs_per_ticket`` /
  ``emeth_gas_per_job_posted_finalized_100_jobs_100_requesters``: the same two Tickets
  with backed leaves through ``postTicket`` + ``finalizeTicket`` after the dispute window
  (the devnet's bonded set, k = 1; both transactions counted), / 100;
- ``emeth_ticket_dispute_gas``: the worst dispute of a posted 100-job Ticket (depth-7
  proof, one signer slashed): the most of ``emeth_ticket_dispute_gas_<kind>`` for the kinds
  unsigned, inflated fee, cancelled before Process and double billed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from eth_account import Account

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil
from offchain.chain.client import Chain, connect
from offchain.chain.compile import compile_contracts
from offchain.common.hashing import keccak
from offchain.config import L2KitConfig
from offchain.deploy import DeployContext
from offchain.emeth.backing import (
    JobBacking,
    backed_jobs_root,
    leaf_proof,
    sign_register,
    signed_job,
)
from offchain.emeth.deploy import deploy as deploy_emeth
from offchain.emeth.execution.actions import Domain
from offchain.emeth.l1 import EmethL1
from offchain.emeth.ticket import Ticket, build_ticket, sign_ticket

if TYPE_CHECKING:
    from offchain.chain.tx import TxSender

EMETH = 10**18
JOBS_PER_TICKET = 100


def _bytes(*parts: object, n: int = 32) -> bytes:
    """Deterministic pseudo-random bytes (so the calldata, hence the gas, is reproducible)."""
    return keccak(repr(parts).encode())[:n]


def _ticket_figures(chain: Chain) -> dict[str, int]:
    cfg = L2KitConfig()
    ctx = DeployContext(chain, chain.sender(dev_account(0)), cfg, log=lambda *_: None)
    deploy_emeth(ctx)
    l1 = EmethL1(chain, ctx.addresses["emeth_core"], ctx.addresses["emeth_token"])
    signer = dev_account(cfg.emeth.signer_account)
    requesters = [dev_account(i) for i in (31, 32, 33)]
    node = dev_account(36)
    for r in requesters:
        l1.mint(ctx.sender, r.address, 10_000 * EMETH)
        l1.deposit(chain.sender(r), 10_000 * EMETH)
    node_tx = chain.sender(node)
    l1.deposit_collateral(node_tx, 1_000 * EMETH)
    prior: dict[str, tuple[int, int]] = {}

    def settle(ticket_id: int, payers: Sequence[str], penalty: int = 0) -> tuple[Ticket, int]:
        jobs = [
            (_bytes("job", ticket_id, i, n=16), payers[i % len(payers)], 1_000 + i, EMETH // 100)
            for i in range(JOBS_PER_TICKET)
        ]
        t = build_ticket(
            ticket_id,
            node.address,
            jobs,
            penalty=penalty,
            prior=prior,
            valid_until=l1.ticket_valid_until(),
        )
        assert len(t.debits) == len(payers) and t.job_count == JOBS_PER_TICKET
        prior.update({d.requester: (d.cumulative, ticket_id) for d in t.debits})
        sig = sign_ticket(signer, l1.chain_id, l1.core_address, t)
        return t, l1.settle_ticket(node_tx, t, sig).gas_used

    three = [r.address for r in requesters]
    _, first = settle(1, three)
    _, steady = settle(2, three)
    _, with_penalty = settle(3, three, penalty=EMETH)
    # 100 distinct requesters (fresh keys, each funded), each debited once in one Ticket.
    many = [Account.from_key(_bytes("requester", i)) for i in range(JOBS_PER_TICKET)]
    for a in many:
        chain.rpc("anvil_setBalance", str(a.address), hex(10**18))
        l1.mint(ctx.sender, a.address, 10 * EMETH)
        l1.deposit(chain.sender(a), 10 * EMETH)
    withdrawer = chain.sender(many[JOBS_PER_TICKET // 2])
    l1.request_withdrawal(withdrawer, EMETH)
    t100, hundred = settle(4, [a.address for a in many])
    chain.rpc("evm_increaseTime", l1.withdrawal_delay_s())
    chain.rpc("evm_mine")
    proof = t100.debit_proof(withdrawer.address)
    withdraw_gas = int(l1.withdraw(withdrawer, [proof])["gasUsed"])
    assert l1.proven_debits(withdrawer.address) == EMETH // 100
    posted = _posted_figures(l1, ctx.sender, node_tx, requesters, many)
    return posted | {
        "ticket_settle_gas": steady,
        "ticket_settle_gas_first": first,
        "ticket_settle_with_penalty_gas": with_penalty,
        "emeth_gas_per_job_billed_at_100_jobs_per_ticket": steady // JOBS_PER_TICKET,
        "emeth_gas_per_job_billed_100_jobs_100_requesters": hundred // JOBS_PER_TICKET,
        "emeth_requester_withdraw_gas": withdraw_gas,
    }


def _posted_figures(
    l1: EmethL1, owner: TxSender, node_tx: TxSender, three: list[Any], many: list[Any]
) -> dict[str, int]:
    """Post + finalize, and disputes, of 100-job Tickets with backed leaves (execution
    layer 1; the node has settled Tickets before)."""
    chain = l1.chain
    cfg = L2KitConfig()
    signer = dev_account(cfg.emeth.signer_account)
    domain = Domain(l1.chain_id, l1.core_address, 1)
    prior: dict[str, tuple[int, int]] = {}
    now = int(chain.w3.eth.get_block("latest")["timestamp"])

    def backing(tag: object, who: Any) -> JobBacking:
        job_id = bytes([0x01]) + _bytes("backed", tag, n=15)
        return signed_job(domain, who, job_id, EMETH // 100, now, expires_at=now + 86_400)

    def post(n: int, jobs: list[JobBacking]) -> tuple[Ticket, int]:
        rows = [(j.job_id, j.requester, j.fuel, j.fee) for j in jobs]
        t = build_ticket(1 << 32 | n, node_tx.address, rows, prior=prior)
        t = replace(t, jobs_root=backed_jobs_root(jobs), valid_until=l1.ticket_valid_until())
        prior.update({d.requester: (d.cumulative, t.ticket_id) for d in t.debits})
        sig = sign_ticket(signer, l1.chain_id, l1.core_address, t)
        return t, l1.post_ticket(node_tx, t, [sig]).gas_used

    def post_and_finalize(n: int, jobs: list[JobBacking]) -> int:
        t, gas = post(n, jobs)
        chain.rpc("evm_increaseTime", l1.ticket_dispute_window_s())
        chain.rpc("evm_mine")
        fin = l1.finalize_ticket(node_tx, t).gas_used
        return gas + fin

    def rebond() -> None:
        bonder = chain.sender(signer)
        l1.mint(owner, signer.address, cfg.emeth.devnet_signer_bond_wei)
        l1.deposit_signer_bond(bonder, cfg.emeth.devnet_signer_bond_wei)

    post_and_finalize(1, [backing((1, i), three[i % 3]) for i in range(JOBS_PER_TICKET)])
    steady = post_and_finalize(2, [backing((2, i), three[i % 3]) for i in range(JOBS_PER_TICKET)])
    hundred = post_and_finalize(3, [backing((3, i), a) for i, a in enumerate(many)])
    disputes: dict[str, int] = {}
    bad_index = JOBS_PER_TICKET - 1
    for n, kind in enumerate(("unsigned", "inflated", "cancelled", "double_billed"), start=10):
        jobs = [backing((n, i), three[i % 3]) for i in range(JOBS_PER_TICKET)]
        bad = jobs[bad_index]
        if kind == "unsigned":
            bad = replace(bad, register_signature=sign_register(domain, bad.register, signer))
        elif kind == "inflated":
            bad = replace(bad, fee=bad.fee * 2)
        elif kind == "cancelled":
            l1.cancel(chain.sender(three[bad_index % 3]), bad.job_id)
            bad = replace(bad, processed_at=int(chain.w3.eth.get_block("latest")["timestamp"]))
        jobs[bad_index] = bad
        proof = leaf_proof(jobs, bad_index)
        if kind == "double_billed":  # the same 100 jobs in an earlier posted Ticket
            first, _ = post(n * 10, jobs)
            t, _ = post(n * 10 + 1, jobs)
            d = l1.dispute_double_billing(node_tx, t, proof, first, proof)
        else:
            t, _ = post(n, jobs)
            d = l1.dispute_job(node_tx, t, proof)
        disputes[kind] = d.gas_used
        rebond()
    return {
        "emeth_gas_per_job_posted_finalized_at_100_jobs_per_ticket": steady // JOBS_PER_TICKET,
        "emeth_gas_per_job_posted_finalized_100_jobs_100_requesters": hundred // JOBS_PER_TICKET,
        "emeth_ticket_dispute_gas": max(disputes.values()),
        **{f"emeth_ticket_dispute_gas_{k}": v for k, v in disputes.items()},
    }


def _baseline_figures(chain: Chain) -> dict[str, int]:
    owner, requester, node, verifier = (dev_account(i) for i in (0, 31, 33, 30))
    o, r, n, v = (chain.sender(a) for a in (owner, requester, node, verifier))
    token = o.deploy("EmethToken", owner.address)
    base = o.deploy("EmethCoreL1Baseline", token.address, verifier.address)
    for acct in (requester, node):
        o.send(token.functions.mint(acct.address, 10**6 * EMETH))
    r.send(token.functions.approve(base.address, 2**256 - 1))
    n.send(token.functions.approve(base.address, 2**256 - 1))
    n.send(base.functions.depositNode(1_000 * EMETH))
    deadline = int(chain.w3.eth.get_block("latest")["timestamp"]) + 3_600

    def one_job(i: int) -> int:
        job = _bytes("l1job", i, n=16)
        gas = 0
        calls = [
            (
                r,
                base.functions.request(
                    job, b"\x00" * 16, 1, _bytes("dataset", i), 1_000, EMETH // 10**5, deadline
                ),
            ),
            (n, base.functions.process(job)),
            (n, base.functions.submit(job, _bytes("result", i), 800 + i)),
            (v, base.functions.verify(job)),
        ]
        for sender, call in calls:
            gas += int(sender.send(call)["gasUsed"])  # type: ignore[index]
        return gas

    one_job(0)  # warm-up: first-time slots (verifier balance, node fuel, ...)
    samples = [one_job(i) for i in range(1, 11)]
    return {"emeth_l1_only_gas_per_job": sum(samples) // len(samples)}


def run() -> dict[str, int]:
    compile_contracts()
    anvil = Anvil().start()
    try:
        chain = Chain(connect(anvil.url))
        figures = _ticket_figures(chain)
        figures.update(_baseline_figures(chain))
    finally:
        anvil.stop()
    return figures


if __name__ == "__main__":
    print(run())
