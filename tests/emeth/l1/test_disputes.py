"""Posted Tickets on Anvil through the Python bindings: the leaf format matches EmethCore,
an honest Ticket finalizes after the window, each dishonest kind is disputed (the Ticket
reversed, the Signer's bond slashed, the disputer paid, the requester whole)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from offchain.emeth.backing import (
    JobBacking,
    backed_jobs_root,
    leaf_proof,
    register_digest,
    signed_job,
)
from offchain.emeth.execution.actions import Domain
from offchain.emeth.ticket import Ticket, build_ticket
from offchain.errors import TxReverted
from tests.emeth.l1.conftest import EMETH, EmethEnv

EL = 5
FEE = 2 * EMETH


def _domain(emeth: EmethEnv) -> Domain:
    return Domain(emeth.l1.chain_id, emeth.l1.core_address, EL)


def _job(emeth: EmethEnv, fee: int = FEE, max_fee: int = FEE, part: int = 0) -> JobBacking:
    """A job of requester 0, signed by it (fee ``fee`` of a signed maximum ``max_fee``)."""
    job_id = os.urandom(16)
    job_id = bytes([job_id[0] & 0x7F]) + job_id[1:]
    now = int(emeth.chain.w3.eth.get_block("latest")["timestamp"])
    return signed_job(
        _domain(emeth), emeth.requesters[0], job_id, fee, now, max_fee=max_fee, fuel=10, part=part
    )


def _ticket(emeth: EmethEnv, n: int, jobs: list[JobBacking]) -> Ticket:
    t = build_ticket(
        EL << 32 | n,
        emeth.nodes[0].address,
        [(j.job_id, j.requester, j.fuel, j.fee) for j in jobs],
        prior=emeth.prior,
        valid_until=emeth.l1.ticket_valid_until(),
    )
    return dataclasses.replace(t, jobs_root=backed_jobs_root(jobs))


def _post(emeth: EmethEnv, tx, t: Ticket) -> int:  # type: ignore[no-untyped-def]
    sigs = emeth.l1.order_signatures({emeth.signer.address: emeth.sign(t)})
    return emeth.l1.post_ticket(tx(emeth.nodes[0]), t, sigs).final_at


@pytest.fixture
def funded(emeth: EmethEnv, tx) -> EmethEnv:  # type: ignore[no-untyped-def]
    emeth.prior.clear()
    emeth.l1.deposit(tx(emeth.requesters[0]), 100 * EMETH)
    return emeth


def test_leaf_and_register_digest_match_solidity(funded: EmethEnv) -> None:
    j = _job(funded, part=3)
    core = funded.l1.core.functions
    assert bytes(core.jobBackingLeaf(j.as_abi()).call()) == j.leaf
    assert bytes(core.registerJobDigest(EL, j.register_abi()).call()) == register_digest(
        _domain(funded), j.register
    )
    assert bytes(core.subJobId(j.register["jobId"], 2).call()) == j.job_id


def test_backed_ticket_pays_only_after_the_window(funded: EmethEnv, tx) -> None:  # type: ignore[no-untyped-def]
    l1, node = funded.l1, funded.nodes[0]
    jobs = [_job(funded), _job(funded, fee=FEE // 2)]
    t = _ticket(funded, 1, jobs)
    wallet = l1.token_balance(node.address)
    _post(funded, tx, t)
    with pytest.raises(TxReverted) as e:
        l1.dispute_job(tx(funded.nodes[3]), t, leaf_proof(jobs, 1))
    assert e.value.error_name == "EmethCoreJobBacked"
    with pytest.raises(TxReverted) as e:
        l1.finalize_ticket(tx(node), t)
    assert e.value.error_name == "EmethCoreDisputeWindowOpen"
    assert l1.token_balance(node.address) == wallet
    funded.advance(l1.ticket_dispute_window_s())
    s = l1.finalize_ticket(tx(funded.nodes[3]), t)
    assert s.paid == t.total_debit and l1.token_balance(node.address) == wallet + t.total_debit
    assert l1.posted_ticket(t.ticket_id).status == "finalized"
    assert l1.is_settled(t.ticket_id)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("unsigned", "UnsignedJob"),
        ("inflated", "FeeAboveMax"),
        ("cancelled", "CancelledBeforeProcess"),
    ],
)
def test_dishonest_ticket_is_disputed(funded: EmethEnv, tx, kind: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    l1, r, node, disputer = funded.l1, funded.requesters[0], funded.nodes[0], funded.nodes[3]
    bad = _job(funded, fee=5 * FEE if kind == "inflated" else FEE)
    if kind == "unsigned":
        bad = dataclasses.replace(bad, register_signature=b"\x01" * 65)
    if kind == "cancelled":  # the Signer dates the Process at the cancel (or later)
        l1.cancel(tx(r), bad.register["jobId"])
        at = l1.cancelled_at(bad.register["jobId"], r.address)
        bad = dataclasses.replace(bad, processed_at=at)
    jobs = [_job(funded), bad]
    t = _ticket(funded, 1, jobs)
    _post(funded, tx, t)
    bond = l1.bonded_signer(funded.signer.address).bond
    wallet = l1.token_balance(disputer.address)
    d = l1.dispute_job(tx(disputer), t, leaf_proof(jobs, 1))
    assert (d.reason, d.slashed) == (reason, bond)
    assert l1.bonded_signer(funded.signer.address).bond == 0
    assert l1.token_balance(disputer.address) == wallet + d.reward > wallet
    assert l1.posted_ticket(t.ticket_id).status == "reversed"
    funded.advance(l1.ticket_dispute_window_s())
    with pytest.raises(TxReverted) as e:
        l1.finalize_ticket(tx(node), t)
    assert e.value.error_name == "EmethCoreTicketReversed"
    with pytest.raises(TxReverted) as e:
        l1.prove_debit(tx(disputer), r.address, t.debit_proof(r.address))
    assert e.value.error_name == "EmethCoreTicketNotSettled"
    assert l1.spendable_deposit(r.address) == 100 * EMETH


def test_double_billed_job_is_disputed(funded: EmethEnv, tx) -> None:  # type: ignore[no-untyped-def]
    l1, node = funded.l1, funded.nodes[0]
    jobs = [_job(funded)]
    first = _ticket(funded, 1, jobs)
    _post(funded, tx, first)
    funded.book(first)
    again = _ticket(funded, 2, jobs)
    funded.advance(1)
    _post(funded, tx, again)
    d = l1.dispute_double_billing(
        tx(funded.nodes[3]), again, leaf_proof(jobs, 0), first, leaf_proof(jobs, 0)
    )
    assert d.reason == "DoubleBilled" and l1.posted_ticket(again.ticket_id).status == "reversed"
    # The Signer is slashed: the first Ticket (which it also signed) still finalizes once.
    funded.advance(l1.ticket_dispute_window_s())
    assert l1.finalize_ticket(tx(node), first).paid == FEE
