"""Missed co-signing rounds on the production deployment (``deploy_all``; issue #10 attack 3):
the Python digest with an absence bitmap is the contract's ``batchDigestAbsent``,
``RollupL1.append_batch(..., absent=...)`` appends through ``appendBatchAbsent``, and a member
absent from ``missLimit`` consecutive batches is kicked without a slash."""

from __future__ import annotations

from typing import Any

import pytest
from web3.logs import DISCARD

from offchain.bridge.types import ETH
from offchain.chain.accounts import dev_account
from offchain.rollup.ledger.tx import Deposit
from offchain.staking.frost.l1 import l1_signature
from tests.helpers.frost import as_timelock
from tests.helpers.prod import KICKED, ProdRollup, deploy_prod
from tests.rollup_l1.l2sim import L2Sim

ALICE = dev_account(10)
FEE = dev_account(20).address


@pytest.fixture(scope="module")
def env(chain: Any) -> ProdRollup:
    return deploy_prod(chain, 4)


def _append_absent(env: ProdRollup, sim: L2Sim, absent: int) -> Any:
    d = env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    data, pre = sim.build(
        [(Deposit(d.deposit_id, d.sender, d.l2_recipient, ETH, d.amount), FEE, True)]
    )
    header = sim.builder.header(data)
    l1 = env.sc(env.current())
    digest = l1.digest(header, absent)
    assert digest == bytes(l1.sc.functions.batchDigestAbsent(header.as_tuple(), absent).call())
    rcpt = l1.append_batch(header, [l1_signature(env.shares, digest)], absent=absent)
    sim.builder.record(header, data, pre)
    return rcpt


def test_absent_member_kicked_after_miss_limit(env: ProdRollup) -> None:
    sset, pool = env.c("sequencer_set"), env.c("locking_pool")
    assert sset.functions.missLimit().call() == env.config.staking.miss_limit_batches == 50
    as_timelock(env.chain, env.dep, sset.functions.setMissLimit(3))
    sim = L2Sim(env)
    members = list(sset.functions.activeSigners().call())
    current = sset.functions.currentSequencer().call()
    silent = next(m for m in members if m != current)
    stake0 = env.stake(silent)
    for i in range(2):
        bit = 1 << list(sset.functions.activeSigners().call()).index(silent)
        _append_absent(env, sim, bit)
        assert sset.functions.missedRounds(silent).call() == i + 1
    assert pool.functions.isActive(silent).call()
    bit = 1 << list(sset.functions.activeSigners().call()).index(silent)
    rcpt = _append_absent(env, sim, bit)
    (ev,) = sset.events.MissedRoundsRemoved().process_receipt(rcpt, errors=DISCARD)
    assert (ev.args.signer, ev.args.missed) == (silent, 3)
    assert pool.functions.statusOf(silent).call() == KICKED
    assert env.stake(silent) == stake0  # kicked, not slashed
    # Nobody absent: the plain digest and appendBatch, as before.
    before = env.sc(env.current()).next_index()
    _append_absent(env, sim, 0)
    assert env.sc(env.current()).next_index() == before + 1
