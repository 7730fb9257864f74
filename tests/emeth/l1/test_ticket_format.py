"""offchain/emeth/ticket.py: validation, JSON round trip, build_ticket, signing (no chain)."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from offchain.common import merkle
from offchain.emeth.ticket import (
    Debit,
    DebitProof,
    Ticket,
    TicketError,
    build_ticket,
    debit_leaf,
    job_leaf,
    recover_ticket_signer,
    sign_ticket,
    ticket_digest,
)

A, B, N = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20
CORE = "0x" + "dd" * 20


def test_build_ticket_groups_debits_and_sums_fuel() -> None:
    jobs = [(b"\x01" * 16, A, 10, 100), (b"\x02" * 16, B, 5, 7), (b"\x03" * 16, A, 1, 1)]
    t = build_ticket(3, N, jobs, penalty=9)
    assert (t.job_count, t.fuel, t.penalty, t.total_debit) == (3, 16, 9, 108)
    assert [(d.requester.lower(), d.amount) for d in t.debits] == [(A, 101), (B, 7)]
    leaves = [job_leaf(j, r, N, f, fee) for j, r, f, fee in jobs]
    assert t.jobs_root == merkle.root(leaves)


def test_json_round_trip_and_big_ints() -> None:
    t = build_ticket(2**200, N, [(b"\x01" * 16, A, 2**255, 2**256 - 1)])
    d = t.to_dict()
    assert d["fuel"] == str(2**255) and d["debits"][0]["amount"] == str(2**256 - 1)
    assert Ticket.from_dict(d) == t


@pytest.mark.parametrize(
    "bad",
    [
        {"ticketId": "x"},
        {"node": "0x1234"},
        {"jobsRoot": "0x12"},
        {"jobsRoot": "zz" * 32},
        {"fuel": -1},
        {"penalty": 2**256},
        {"debits": [{"requester": A}]},
    ],
)
def test_malformed_ticket_dict_rejected(bad: dict[str, object]) -> None:
    d = build_ticket(1, N, [(b"\x01" * 16, A, 1, 1)]).to_dict()
    d.update(bad)
    with pytest.raises(TicketError):
        Ticket.from_dict(d)


def test_malformed_job_leaf_rejected() -> None:
    with pytest.raises(TicketError, match="16 bytes"):
        job_leaf(b"\x01" * 15, A, N, 1, 1)
    with pytest.raises(TicketError, match="address"):
        job_leaf(b"\x01" * 16, "alice", N, 1, 1)
    with pytest.raises(TicketError, match="uint256"):
        job_leaf(b"\x01" * 16, A, N, -1, 1)
    with pytest.raises(TicketError):
        Debit(A, True, 1)  # type: ignore[arg-type]
    with pytest.raises(TicketError, match="below the amount"):
        Debit(A, 5, 4)


def test_debits_chain_to_prior_and_derived_fields_are_checked() -> None:
    jobs = [(b"\x01" * 16, A, 1, 100), (b"\x02" * 16, B, 1, 7), (b"\x03" * 16, A, 1, 1)]
    t = build_ticket(9, N, jobs, prior={to_checksum_address(A): (50, 4)})
    a, b = t.debits
    assert (a.amount, a.cumulative, a.prev_ticket_id) == (101, 151, 4)
    assert (b.amount, b.cumulative, b.prev_ticket_id) == (7, 7, 0)
    assert t.debits_root == merkle.root(
        [debit_leaf(a.requester, 151, 4), debit_leaf(b.requester, 7, 0)]
    )
    p = t.debit_proof(B)
    assert merkle.verify(t.debits_root, p.index, b.leaf, p.proof)
    assert DebitProof.from_dict(p.to_dict()) == p
    with pytest.raises(TicketError, match="does not debit"):
        t.debit_proof(N)
    assert Ticket.from_dict(t.to_dict()) == t
    for k, v in [("debitsRoot", "0x" + "11" * 32), ("totalDebit", "1"), ("debitCount", 3)]:
        with pytest.raises(TicketError, match=k):
            Ticket.from_dict({**t.to_dict(), k: v})
    with pytest.raises(TicketError, match="at most one debit"):
        dataclasses.replace(t, debits=(a, a))
    with pytest.raises(TicketError, match="not older"):
        dataclasses.replace(t, debits=(Debit(A, 1, 1, 9),))


def test_sign_and_recover_bind_chain_contract_and_content() -> None:
    acct = Account.create()
    t = build_ticket(1, N, [(b"\x01" * 16, A, 1, 1)])
    sig = sign_ticket(acct, 1, CORE, t)
    assert recover_ticket_signer(1, CORE, t, sig) == acct.address
    assert recover_ticket_signer(1, CORE, t, "0x" + sig.hex()) == acct.address
    assert recover_ticket_signer(2, CORE, t, sig) != acct.address
    assert recover_ticket_signer(1, A, t, sig) != acct.address
    assert recover_ticket_signer(1, CORE, dataclasses.replace(t, fuel=2), sig) != acct.address
    assert ticket_digest(1, CORE, t) != ticket_digest(2, CORE, t)
    with pytest.raises(TicketError, match="65 bytes"):
        recover_ticket_signer(1, CORE, t, sig[:64])
    with pytest.raises(TicketError):
        recover_ticket_signer(1, CORE, t, b"\xff" * 65)
