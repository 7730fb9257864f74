"""Ticket settlement on Anvil: payments, lazy debits and their proofs, penalties, fuel, replay
and forgery."""

from __future__ import annotations

import dataclasses

import pytest
from web3.logs import DISCARD

from offchain.common.merkle import MerkleTree
from offchain.emeth.ticket import (
    Debit,
    job_leaf,
    recover_ticket_signer,
    ticket_digest,
)
from offchain.errors import TxReverted
from tests.emeth.l1.conftest import EMETH


def _fund(emeth, tx, deposit=1_000 * EMETH, collateral=200 * EMETH) -> None:  # type: ignore[no-untyped-def]
    for r in emeth.requesters:
        emeth.l1.deposit(tx(r), deposit)
    for n in emeth.nodes[:2]:
        emeth.l1.deposit_collateral(tx(n), collateral)


def test_onchain_digest_matches_python(emeth, make_ticket) -> None:
    r0, r1 = emeth.requesters
    t = make_ticket(7, emeth.nodes[0], [(r0, 10, 3 * EMETH), (r1, 20, 5 * EMETH), (r0, 1, 1)], 9)
    l1 = emeth.l1
    assert l1.ticket_digest(t) == ticket_digest(l1.chain_id, l1.core_address, t)
    empty = dataclasses.replace(t, debits=())
    assert l1.ticket_digest(empty) == ticket_digest(l1.chain_id, l1.core_address, empty)


def test_job_leaf_matches_solidity(emeth) -> None:
    job = bytes(range(16))
    r, n = emeth.requesters[0].address, emeth.nodes[0].address
    onchain = emeth.l1.core.functions.jobLeaf(job, r, n, 12345, 10**20).call()
    assert bytes(onchain) == job_leaf(job, r, n, 12345, 10**20)


def _prove(emeth, tx, t, who) -> int:  # type: ignore[no-untyped-def]
    """Prove ``who``'s leaf in settled Ticket ``t`` (as a billing agent would); returns the
    drop of its spendable deposit."""
    before = emeth.l1.spendable_deposit(who.address)
    emeth.l1.prove_debit(tx(emeth.nodes[3]), who.address, t.debit_proof(who.address))
    return before - emeth.l1.spendable_deposit(who.address)


def test_settle_pays_node_debits_requesters_adds_fuel(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, (r0, r1), node = emeth.l1, emeth.requesters, emeth.nodes[0]
    jobs = [(r0, 100, 2 * EMETH), (r1, 50, 1 * EMETH), (r0, 25, EMETH // 2)]
    t = make_ticket(1, node, jobs)
    wallet = l1.token_balance(node.address)
    supply = l1.total_supply()
    # Anyone may submit (here a third party); the payment goes to t.node.
    st = l1.settle_ticket(tx(emeth.nodes[3]), t, emeth.sign(t))
    assert (st.ticket_id, st.node, st.paid, st.burned, st.fuel, st.job_count) == (
        1,
        node.address,
        int(3.5 * EMETH),
        0,
        175,
        3,
    )
    assert l1.token_balance(node.address) == wallet + int(3.5 * EMETH)
    assert l1.token_balance(emeth.nodes[3].address) == emeth.config.emeth.faucet_wei
    # Requesters are debited lazily: their balances move when their leaves are proven.
    emeth.book(t)
    assert l1.spendable_deposit(r0.address) == 1_000 * EMETH
    assert _prove(emeth, tx, t, r0) == int(2.5 * EMETH)
    assert _prove(emeth, tx, t, r1) == EMETH
    assert l1.total_fuel(node.address) == 175
    assert l1.total_supply() == supply
    assert l1.is_settled(1) and not l1.is_settled(2)
    assert l1.jobs_root_of(1) == t.jobs_root
    assert l1.debits_root_of(1) == t.debits_root
    proven = l1.core.events.DebitProven().get_logs(from_block=st.block_number)
    assert [(e["args"]["requester"], e["args"]["cumulative"]) for e in proven] == [
        (d.requester, d.cumulative) for d in t.debits
    ]


def test_fuel_accumulates_over_tickets(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[1]
    for i, fuel in enumerate([11, 22, 33], start=10):
        t = make_ticket(i, node, [(r0, fuel, 1)])
        l1.settle_ticket(tx(node), t, emeth.sign(t))
    assert l1.total_fuel(node.address) == 66
    assert l1.total_fuel(emeth.nodes[0].address) == 0


def test_verify_job_in_ticket_for_audits(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, node = emeth.l1, emeth.nodes[0]
    r0, r1 = emeth.requesters
    ids = [bytes([i]) * 16 for i in range(1, 6)]
    rows = [(ids[i], (r0 if i % 2 else r1).address, 10 + i, 100 + i) for i in range(5)]
    from offchain.emeth.ticket import build_ticket

    t = build_ticket(42, node.address, rows, valid_until=l1.ticket_valid_until())
    l1.settle_ticket(tx(node), t, emeth.sign(t))
    leaves = [job_leaf(j, r, node.address, f, fee) for j, r, f, fee in rows]
    tree = MerkleTree(leaves)
    assert tree.root == t.jobs_root
    for i, leaf in enumerate(leaves):
        assert l1.verify_job_in_ticket(42, t.jobs_root, i, leaf, tree.proof(i))
    forged = job_leaf(ids[2], r0.address, node.address, 999, 102)  # inflated fuel
    assert not l1.verify_job_in_ticket(42, t.jobs_root, 2, forged, tree.proof(2))
    assert not l1.verify_job_in_ticket(42, t.jobs_root, 3, leaves[2], tree.proof(2))
    assert not l1.verify_job_in_ticket(43, t.jobs_root, 2, leaves[2], tree.proof(2))  # unsettled
    assert not l1.verify_job_in_ticket(42, b"\x01" * 32, 2, leaves[2], tree.proof(2))


def test_replayed_ticket_rejected(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[0]
    t = make_ticket(5, node, [(r0, 1, EMETH)])
    sig = emeth.sign(t)
    l1.settle_ticket(tx(node), t, sig)
    balance = l1.deposit_of(r0.address)
    with pytest.raises(TxReverted) as e:
        l1.settle_ticket(tx(node), t, sig)
    assert e.value.error_name == "EmethCoreTicketAlreadySettled"
    assert e.value.error_args == (5,)
    # Same id, different content, validly signed: still a replay of the id.
    t2 = make_ticket(5, node, [(r0, 2, 2 * EMETH)])
    with pytest.raises(TxReverted) as e:
        l1.settle_ticket(tx(node), t2, emeth.sign(t2))
    assert e.value.error_name == "EmethCoreTicketAlreadySettled"
    assert l1.deposit_of(r0.address) == balance


def test_ticket_signed_by_non_signer_rejected(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[0]
    t = make_ticket(6, node, [(r0, 1, EMETH)])
    with pytest.raises(TxReverted) as e:
        l1.settle_ticket(tx(node), t, emeth.sign(t, node))  # the node signs its own Ticket
    assert e.value.error_name == "EmethCoreUnauthorizedSigner"
    assert e.value.error_args == (node.address,)
    assert not l1.is_settled(6)


def test_altered_ticket_rejected(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[0]
    t = make_ticket(8, node, [(r0, 10, EMETH)], penalty=EMETH)
    sig = emeth.sign(t)
    altered = [
        dataclasses.replace(t, debits=(Debit(r0.address, 2 * EMETH, 2 * EMETH),)),  # inflate
        dataclasses.replace(t, penalty=0),  # drop the penalty
        dataclasses.replace(t, fuel=t.fuel + 1),
        dataclasses.replace(t, node=emeth.nodes[1].address),  # redirect the payment
        dataclasses.replace(t, jobs_root=b"\x11" * 32),
        dataclasses.replace(t, job_count=t.job_count + 1),
        dataclasses.replace(t, ticket_id=9),
    ]
    for bad in altered:
        with pytest.raises(TxReverted) as e:
            l1.settle_ticket(tx(node), bad, sig)
        assert e.value.error_name == "EmethCoreUnauthorizedSigner"
        assert e.value.error_args[0] != emeth.signer.address
        assert e.value.error_args[0] == recover_ticket_signer(
            l1.chain_id, l1.core_address, bad, sig
        )
    with pytest.raises(TxReverted) as e:
        l1.settle_ticket(tx(node), t, sig[:64])
    assert e.value.error_name == "EmethCoreInvalidSignature"
    assert l1.deposit_of(r0.address).balance == 1_000 * EMETH and not l1.is_settled(8)


def test_ticket_for_other_chain_or_contract_rejected(emeth, tx, make_ticket) -> None:
    from offchain.emeth.ticket import sign_ticket

    _fund(emeth, tx)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[0]
    t = make_ticket(12, node, [(r0, 1, EMETH)])
    for chain_id, core in [(1, l1.core_address), (l1.chain_id, emeth.owner.address)]:
        with pytest.raises(TxReverted) as e:
            l1.settle_ticket(tx(node), t, sign_ticket(emeth.signer, chain_id, core, t))
        assert e.value.error_name == "EmethCoreUnauthorizedSigner"


def test_revoked_signer_tickets_rejected(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[0]
    t = make_ticket(13, node, [(r0, 1, EMETH)])
    sig = emeth.sign(t)
    l1.set_signer(tx(emeth.owner), emeth.signer.address, False)
    with pytest.raises(TxReverted) as e:
        l1.settle_ticket(tx(node), t, sig)
    assert e.value.error_name == "EmethCoreUnauthorizedSigner"
    assert e.value.error_args == (emeth.signer.address,)


def test_debit_above_deposit_never_blocks_the_ticket(emeth, tx, make_ticket) -> None:
    """A debit above what a requester has left settles with the rest of its Ticket (no debit
    is applied at settlement); proven, the excess shows in ``unpaidDebits``."""
    _fund(emeth, tx, deposit=10 * EMETH)
    l1, (r0, r1), node = emeth.l1, emeth.requesters, emeth.nodes[0]
    left = l1.spendable_deposit(r0.address)
    t = make_ticket(14, node, [(r1, 1, EMETH), (r0, 1, left + EMETH)])
    wallet = l1.token_balance(node.address)
    st = l1.settle_ticket(tx(node), t, emeth.sign(t))
    emeth.book(t)
    assert st.paid == left + 2 * EMETH and l1.is_settled(14)
    assert l1.token_balance(node.address) == wallet + left + 2 * EMETH
    assert _prove(emeth, tx, t, r1) == EMETH
    assert _prove(emeth, tx, t, r0) == left
    assert l1.spendable_deposit(r0.address) == 0
    assert l1.unpaid_debits(r0.address) == EMETH


def test_penalty_burned_from_collateral(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[0]
    supply = l1.total_supply()
    t = make_ticket(15, node, [(r0, 5, 4 * EMETH)], penalty=3 * EMETH)
    st = l1.settle_ticket(tx(node), t, emeth.sign(t))
    assert (st.paid, st.burned) == (4 * EMETH, 3 * EMETH)
    assert l1.total_supply() == supply - 3 * EMETH
    assert l1.collateral_of(node.address).balance == 197 * EMETH
    assert l1.total_burned() == 3 * EMETH
    assert l1.penalty_shortfall(node.address) == 0


def test_penalty_larger_than_collateral_burns_all_and_records_shortfall(
    emeth, tx, make_ticket
) -> None:
    _fund(emeth, tx, collateral=2 * EMETH)
    l1, node = emeth.l1, emeth.nodes[1]
    l1.request_collateral_withdrawal(tx(node), EMETH)  # pending collateral still pays penalties
    supply = l1.total_supply()
    t = make_ticket(16, node, [], penalty=5 * EMETH)  # a penalty-only Ticket
    st = l1.settle_ticket(tx(emeth.owner), t, emeth.sign(t))
    assert (st.paid, st.burned) == (0, 2 * EMETH)
    assert l1.total_supply() == supply - 2 * EMETH
    assert l1.penalty_shortfall(node.address) == 3 * EMETH
    assert l1.collateral_of(node.address).balance == 0
    assert l1.collateral_of(node.address).pending == 0
    rcpt = emeth.chain.w3.eth.get_transaction_receipt(st.tx_hash)
    (ev,) = l1.core.events.PenaltyShortfallRecorded().process_receipt(rcpt, errors=DISCARD)
    assert (ev["args"]["ticketId"], ev["args"]["shortfall"]) == (16, 3 * EMETH)


def test_ticket_debits_funds_pending_withdrawal(emeth, tx, make_ticket) -> None:
    """The withdrawal rule: a Ticket settled during the delay is proven (by anyone) before the
    withdrawal, which then pays only what the debit left."""
    _fund(emeth, tx, deposit=10 * EMETH)
    l1, r0, node = emeth.l1, emeth.requesters[0], emeth.nodes[0]
    l1.request_withdrawal(tx(r0), 10 * EMETH)
    assert l1.available_deposit(r0.address) == 0
    t = make_ticket(17, node, [(r0, 1, 4 * EMETH)])
    l1.settle_ticket(tx(node), t, emeth.sign(t))
    emeth.book(t)
    rcpt = l1.prove_debit(tx(emeth.nodes[3]), r0.address, t.debit_proof(r0.address))
    (ev,) = l1.core.events.PendingWithdrawalReduced().process_receipt(rcpt, errors=DISCARD)
    assert (ev["args"]["account"], ev["args"]["pending"]) == (r0.address, 6 * EMETH)
    st = l1.deposit_of(r0.address)
    assert (st.balance, st.pending) == (10 * EMETH, 6 * EMETH)
    emeth.advance(l1.withdrawal_delay_s())
    wallet = l1.token_balance(r0.address)
    l1.withdraw(tx(r0))
    assert l1.token_balance(r0.address) == wallet + 6 * EMETH
    assert l1.spendable_deposit(r0.address) == 0


def test_withdraw_with_lazy_balance_proof_and_old_leaf_refused(emeth, tx, make_ticket) -> None:
    """A requester proves its own newest leaf inside ``withdraw``; an older leaf never proves
    again (``EmethCoreStaleDebitProof``), and a forged one is refused."""
    l1, r, node = emeth.l1, emeth.requesters[1], emeth.nodes[1]
    l1.deposit(tx(r), 10 * EMETH)
    t1 = make_ticket(21, node, [(r, 1, EMETH)])
    l1.settle_ticket(tx(node), t1, emeth.sign(t1))
    emeth.book(t1)
    t2 = make_ticket(22, node, [(r, 1, 2 * EMETH)])
    l1.settle_ticket(tx(node), t2, emeth.sign(t2))
    emeth.book(t2)
    old, new = t1.debit_proof(r.address), t2.debit_proof(r.address)
    assert (new.cumulative - old.cumulative, new.prev_ticket_id) == (2 * EMETH, 21)
    forged = dataclasses.replace(new, cumulative=old.cumulative)
    with pytest.raises(TxReverted) as e:
        l1.prove_debit(tx(r), r.address, forged)
    assert (e.value.error_name, e.value.error_args) == (
        "EmethCoreInvalidDebitProof",
        (r.address, 22),
    )
    spendable = l1.spendable_deposit(r.address)
    l1.request_withdrawal(tx(r), spendable - 3 * EMETH, [new])
    with pytest.raises(TxReverted) as e:
        l1.prove_debit(tx(r), r.address, old)
    assert (e.value.error_name, e.value.error_args) == (
        "EmethCoreStaleDebitProof",
        (r.address, 21, 22),
    )
    emeth.advance(l1.withdrawal_delay_s())
    wallet = l1.token_balance(r.address)
    l1.withdraw(tx(r), [new])  # already proven: skipped, not refused
    assert l1.token_balance(r.address) == wallet + spendable - 3 * EMETH
    assert l1.spendable_deposit(r.address) == 0


def test_zero_node_rejected(emeth, tx, make_ticket) -> None:
    _fund(emeth, tx)
    t = make_ticket(18, emeth.nodes[0], [])
    t = dataclasses.replace(t, node="0x" + "00" * 20)
    with pytest.raises(TxReverted) as e:
        emeth.l1.settle_ticket(tx(emeth.nodes[0]), t, emeth.sign(t))
    assert e.value.error_name == "EmethCoreZeroAddress"
