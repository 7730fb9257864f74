"""The Signer's budget and validity rules (docs/spec.md, "Ticket validity"), on a stub
execution layer: a pending withdrawal is never billed, expired Tickets do not count against
the budget, and every Ticket is valid until the round's clock + settle margin."""

from __future__ import annotations

import time
from typing import Any

from offchain.chain.accounts import dev_account
from offchain.emeth.agents.signer import Signer
from offchain.emeth.backing import JobBacking, backed_jobs_root

EMETH = 10**18
ALICE = dev_account(31).address
NODE = dev_account(33).address


class StubEL:
    """The execution layer calls the Signer makes, with one verified job of 5 EMETH."""

    def __init__(self, pending: int, unsettled: list[dict[str, Any]]) -> None:
        self.pending = pending
        self.unsettled = unsettled
        self.stored: list[dict[str, Any]] = []
        self.expire_calls = 0

    def expire_tickets(self) -> list[int]:
        self.expire_calls += 1
        return []

    def jobs(self, billable: bool, limit: int) -> list[dict[str, Any]]:
        return [
            {
                "jobId": "0x" + "11" * 16,
                "requester": ALICE,
                "node": NODE,
                "fuel": 1,
                "fee": 5 * EMETH,
            }
        ]

    def tickets(self, settled: bool | None = None) -> list[dict[str, Any]]:
        return self.unsettled

    def funds(self, requester: str) -> dict[str, Any]:
        return {"deposit": str(10 * EMETH), "pendingWithdrawal": str(self.pending)}

    def penalties(self, unbilled: bool) -> list[dict[str, Any]]:
        return []

    def debit(self, requester: str) -> dict[str, Any]:
        from offchain.emeth.errors import ExecutionLayerError

        raise ExecutionLayerError("none", status=404, code="no_debit")

    def next_ticket_id(self) -> int:
        return 1

    def backing(self, job_id: str) -> dict[str, Any]:
        """The job's ``JobBacking``: alice's signed RegisterJob, processed a minute ago."""
        from offchain.emeth.backing import signed_job
        from offchain.emeth.execution.actions import Domain

        domain = Domain(31337, "0x" + "ab" * 20, 0)
        key = dev_account(31)
        return signed_job(
            domain, key, bytes.fromhex(job_id[2:]), 5 * EMETH, int(time.time()) - 60
        ).to_dict()

    def store_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.stored.append(payload)
        return payload


def _signer(el: StubEL) -> Signer:
    return Signer(el, dev_account(30), 31337, "0x" + "ab" * 20, settle_margin_s=30)  # type: ignore[arg-type]


def test_pending_withdrawal_is_never_billed() -> None:
    el = StubEL(pending=6 * EMETH, unsettled=[])  # 10 - 6 = 4 left: the 5 EMETH job waits
    assert _signer(el).sign_round() == {"tickets": 0, "jobs_billed": 0}
    assert el.stored == [] and el.expire_calls == 1


def test_expired_tickets_do_not_hold_the_budget_and_validity_is_the_margin() -> None:
    expired = {
        "ticketId": 9,
        "expired": True,
        "debits": [{"requester": ALICE, "amount": str(8 * EMETH)}],
    }
    el = StubEL(pending=0, unsettled=[expired])
    t0 = int(time.time())
    assert _signer(el).sign_round() == {"tickets": 1, "jobs_billed": 1}
    [t] = el.stored
    assert t0 + 30 <= int(t["validUntil"]) <= int(time.time()) + 30
    assert (
        t["jobsRoot"]
        == "0x" + backed_jobs_root([JobBacking.from_dict(el.backing(t["jobIds"][0]))]).hex()
    )
    live = dict(expired, expired=False)
    el2 = StubEL(pending=0, unsettled=[live])  # 10 - 8 unsettled = 2 left: held
    assert _signer(el2).sign_round() == {"tickets": 0, "jobs_billed": 0}
