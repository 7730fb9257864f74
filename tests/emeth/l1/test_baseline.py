"""EmethCoreL1Baseline, the gas baseline: the L1-only job flow with the public bugs fixed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from web3.contract import Contract

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain
from offchain.chain.tx import TxSender
from offchain.errors import TxReverted

EMETH = 10**18
FUEL_LIMIT, FUEL_PRICE = 1_000, 10**15  # fee limit 1 EMETH
FEE_LIMIT = FUEL_LIMIT * FUEL_PRICE
ESCROW = FEE_LIMIT + FEE_LIMIT * 50 // 1000  # + 5% verifier fee
PENALTY = FEE_LIMIT * 250 // 1000


@dataclass
class Base:
    token: Contract
    core: Contract
    r: TxSender
    n: TxSender
    v: TxSender
    chain: Chain

    def bal(self, who: str) -> int:
        return int(self.token.functions.balanceOf(who).call())

    def status(self, job: bytes) -> int:
        return int(self.core.functions.jobs(job).call()[2])


@pytest.fixture
def base(chain, sender) -> Base:  # type: ignore[no-untyped-def]
    owner, req, node, ver = (dev_account(i) for i in (0, 31, 33, 30))
    o, r, n, v = sender(owner), sender(req), sender(node), sender(ver)
    token = o.deploy("EmethToken", owner.address)
    core = o.deploy("EmethCoreL1Baseline", token.address, ver.address)
    for a in (req, node):
        o.send(token.functions.mint(a.address, 1_000 * EMETH))
    r.send(token.functions.approve(core.address, 2**256 - 1))
    n.send(token.functions.approve(core.address, 2**256 - 1))
    n.send(core.functions.depositNode(10 * EMETH))
    return Base(token, core, r, n, v, chain)


def _request(b: Base, job: bytes, deadline_in_s: int = 3_600, parent: bytes = b"\x00" * 16) -> None:
    now = int(b.chain.w3.eth.get_block("latest")["timestamp"])
    call = b.core.functions.request(
        job, parent, 1, b"\x11" * 32, FUEL_LIMIT, FUEL_PRICE, now + deadline_in_s
    )
    b.r.send(call)


def test_full_job_pays_node_refunds_requester_counts_fuel(base: Base) -> None:
    job = b"\x01" * 16
    req, node, ver = (a.address for a in (base.r, base.n, base.v))
    _request(base, job)
    assert base.bal(req) == 1_000 * EMETH - ESCROW
    base.n.send(base.core.functions.process(job))
    base.n.send(base.core.functions.submit(job, b"\x22" * 32, 800))
    node_before, ver_before = base.bal(node), base.bal(ver)
    base.v.send(base.core.functions.verify(job))
    assert base.bal(node) == node_before + 800 * FUEL_PRICE
    assert base.bal(req) == 1_000 * EMETH - 800 * FUEL_PRICE - (ESCROW - FEE_LIMIT)
    assert base.bal(ver) == ver_before + ESCROW - FEE_LIMIT
    assert base.core.functions.totalFuel(node).call() == 800
    assert base.core.functions.nodeDeposits(node).call() == 10 * EMETH
    assert base.status(job) == 4


def test_timeout_while_processing_burns_penalty_and_refunds_whole_escrow(base: Base) -> None:
    """Both public-contract bugs fixed: penalty branch reachable, escrow not stuck."""
    job = b"\x02" * 16
    req, node = base.r.address, base.n.address
    _request(base, job, deadline_in_s=10)
    base.n.send(base.core.functions.process(job))
    with pytest.raises(TxReverted) as e:
        base.v.send(base.core.functions.timeout(job))
    assert e.value.error_name == "EmethCoreL1BaselineNotTimedOut"
    base.chain.rpc("evm_increaseTime", 11)
    base.chain.rpc("evm_mine")
    supply = base.token.functions.totalSupply().call()
    base.v.send(base.core.functions.timeout(job))
    assert base.bal(req) == 1_000 * EMETH  # whole escrow back
    assert base.token.functions.totalSupply().call() == supply - PENALTY
    assert base.core.functions.nodeDeposits(node).call() == 10 * EMETH - PENALTY
    assert base.bal(base.core.address) == 10 * EMETH - PENALTY  # nothing stuck
    assert base.status(job) == 6


def test_decline_reject_cancel_and_children(base: Base) -> None:
    a, b, c, parent = b"\x0a" * 16, b"\x0b" * 16, b"\x0c" * 16, b"\x0f" * 16
    for j in (a, b, c):
        _request(base, j, parent=parent)
    assert base.core.functions.childCount(parent).call() == 3
    supply = base.token.functions.totalSupply().call()
    base.n.send(base.core.functions.process(a))
    base.n.send(base.core.functions.decline(a))
    base.n.send(base.core.functions.process(b))
    base.n.send(base.core.functions.submit(b, b"\x00" * 32, 1))
    base.v.send(base.core.functions.rejectResult(b))
    base.r.send(base.core.functions.cancel(c))
    assert [base.status(j) for j in (a, b, c)] == [8, 7, 5]
    assert base.token.functions.totalSupply().call() == supply - 2 * PENALTY
    assert base.bal(base.r.address) == 1_000 * EMETH
    with pytest.raises(TxReverted) as e:
        base.r.send(base.core.functions.cancel(c))
    assert e.value.error_name == "EmethCoreL1BaselineBadStatus"
    with pytest.raises(TxReverted) as e:
        base.n.send(base.core.functions.verify(b))
    assert e.value.error_name == "EmethCoreL1BaselineNotAllowed"
