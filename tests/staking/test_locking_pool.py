"""LockingPool on Anvil: every function's happy path and each custom-error revert."""

from __future__ import annotations

from web3.logs import DISCARD

from offchain.chain.accounts import dev_account
from offchain.staking.config import TOKEN

from .conftest import STAKES, Staking

ACTIVE, EXITING, KICKED, WITHDRAWN = 1, 2, 3, 4


def _seq(st: Staking, signer: str) -> tuple:
    return tuple(st.pool.functions.sequencer(signer).call())


def test_devnet_deploy_locked_four_sequencers(st: Staking, seqs) -> None:
    assert st.pool.functions.activeCount().call() == 4
    assert st.pool.functions.totalLocked().call() == sum(STAKES) * TOKEN
    signers, stakes = st.pool.functions.activeSet().call()
    assert dict(zip(signers, stakes, strict=True)) == {
        s.address: v * TOKEN for s, v in zip(seqs, STAKES, strict=True)
    }
    assert st.current() in signers
    # owner, signer, amount, reward, unlockTime, signerUpdatedAt, status
    rec = _seq(st, seqs[0].address)
    assert rec[0] == rec[1] == seqs[0].address and rec[2] == 20_000 * TOKEN and rec[6] == ACTIVE


def test_lock_happy_path_emits_and_counts(st: Staking) -> None:
    alice = dev_account(10)
    s = st.approve_and(alice, 25_000)
    rcpt = s.send(st.pool.functions.lock(alice.address, 25_000 * TOKEN))
    ev = st.pool.events.Locked().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["signer"] == alice.address and ev["owner"] == alice.address
    assert ev["amount"] == 25_000 * TOKEN
    assert st.pool.functions.isActive(alice.address).call()
    assert st.pool.functions.totalLocked().call() == (sum(STAKES) + 25_000) * TOKEN


def test_lock_for_another_owner(st: Staking) -> None:
    payer, owner_, signer = dev_account(10), dev_account(11), dev_account(12)
    s = st.approve_and(payer, 20_000)
    s.send(st.pool.functions.lockFor(owner_.address, signer.address, 20_000 * TOKEN))
    rec = _seq(st, signer.address)
    assert rec[0] == owner_.address and rec[1] == signer.address
    assert st.token.functions.balanceOf(payer.address).call() == 0


def test_lock_reverts(st: Staking, seqs, expect_revert) -> None:
    alice = dev_account(10)
    s = st.approve_and(alice, 200_000)
    lock = st.pool.functions.lock
    args = expect_revert("LockingPoolStakeTooLow", s.send, lock(alice.address, 19_999 * TOKEN))
    assert args == (alice.address, 19_999 * TOKEN, 20_000 * TOKEN)
    expect_revert("LockingPoolStakeTooHigh", s.send, lock(alice.address, 100_001 * TOKEN))
    expect_revert("LockingPoolSignerUnavailable", s.send, lock(seqs[0].address, 20_000 * TOKEN))
    zero = "0x" + "00" * 20
    expect_revert("LockingPoolSignerUnavailable", s.send, lock(zero, 20_000 * TOKEN))
    expect_revert(
        "LockingPoolZeroAddress",
        s.send,
        st.pool.functions.lockFor(zero, alice.address, 20_000 * TOKEN),
    )
    st.gov.send(st.pool.functions.setWhitelistEnabled(True))
    assert expect_revert(
        "LockingPoolNotWhitelisted", s.send, lock(alice.address, 20_000 * TOKEN)
    ) == (alice.address,)
    st.gov.send(st.pool.functions.setWhitelisted(alice.address, True))
    s.send(lock(alice.address, 20_000 * TOKEN))  # whitelisted now
    st.gov.send(st.pool.functions.setMaxSequencers(5))
    bob = dev_account(11)
    expect_revert("LockingPoolSetFull", s.send, lock(bob.address, 20_000 * TOKEN))
    st.gov.send(st.pool.functions.pause())
    expect_revert("EnforcedPause", s.send, lock(bob.address, 20_000 * TOKEN))


def test_relock_adds_fresh_tokens_and_compounds_rewards(st: Staking, seqs) -> None:
    cur = st.current()
    # Paid per L1 block since the rotation (what L1 checks), not the header's 10 L2 blocks.
    rcpt = st.gov.send(st.sset.functions.recordBatch(cur, 10, 0))
    ev = st.sset.events.BatchRecorded().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    paid = ev["l1Blocks"] * TOKEN
    assert paid > 0 and ev["reward"] == paid
    acct = next(a for a in seqs if a.address == cur)
    before = _seq(st, cur)
    assert before[3] == paid
    s = st.approve_and(acct, 1_000)
    rcpt = s.send(st.pool.functions.relock(cur, 1_000 * TOKEN, True))
    ev = st.pool.events.Relocked().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["compounded"] == paid
    after = _seq(st, cur)
    assert after[2] == before[2] + 1_000 * TOKEN + paid and after[3] == 0
    assert st.pool.functions.totalRewardsOwed().call() == 0


def test_relock_reverts(st: Staking, seqs, expect_revert) -> None:
    a = seqs[3]  # 50k staked
    s = st.approve_and(a, 60_000)
    relock = st.pool.functions.relock
    args = expect_revert("LockingPoolNotSequencerOwner", st.gov.send, relock(a.address, 1, False))
    assert args == (a.address, st.gov.address, a.address)
    expect_revert("LockingPoolStakeTooHigh", s.send, relock(a.address, 50_001 * TOKEN, False))
    expect_revert("LockingPoolNothingToClaim", s.send, relock(a.address, 0, True))
    s.send(st.pool.functions.unlockInit(a.address))
    args = expect_revert("LockingPoolWrongStatus", s.send, relock(a.address, TOKEN, False))
    assert args == (a.address, EXITING)


def test_unlock_two_steps_and_claim(st: Staking, seqs, expect_revert) -> None:
    a = seqs[0]
    s = st.as_(a)
    bal0 = st.token.functions.balanceOf(a.address).call()
    rcpt = s.send(st.pool.functions.unlockInit(a.address))
    ev = st.pool.events.UnlockInitiated().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["unlockTime"] == st.now() + 30  # devnet withdrawal delay
    assert not st.pool.functions.isActive(a.address).call()
    assert st.pool.functions.exitingCount().call() == 1
    # Still locked (slashable) during the delay.
    assert st.pool.functions.totalLocked().call() == sum(STAKES) * TOKEN
    args = expect_revert(
        "LockingPoolWithdrawalDelayNotOver", s.send, st.pool.functions.unlockClaim(a.address)
    )
    assert args[0] == a.address and args[1] == ev["unlockTime"]
    st.warp(31)
    s.send(st.pool.functions.unlockClaim(a.address))
    assert st.token.functions.balanceOf(a.address).call() == bal0 + 20_000 * TOKEN
    assert _seq(st, a.address)[6] == WITHDRAWN
    assert st.pool.functions.exitingCount().call() == 0
    assert st.pool.functions.totalLocked().call() == sum(STAKES[1:]) * TOKEN
    expect_revert("LockingPoolWrongStatus", s.send, st.pool.functions.unlockClaim(a.address))
    expect_revert("LockingPoolWrongStatus", s.send, st.pool.functions.unlockInit(a.address))


def test_at_most_one_third_exit_at_once(st: Staking, seqs, expect_revert) -> None:
    st.as_(seqs[0]).send(st.pool.functions.unlockInit(seqs[0].address))
    # 1 of 4 exiting; a second would make 2 of 4 > 1/3.
    args = expect_revert(
        "LockingPoolTooManyExiting",
        st.as_(seqs[1]).send,
        st.pool.functions.unlockInit(seqs[1].address),
    )
    assert args == (1, 4)
    expect_revert(
        "LockingPoolNotSequencerOwner",
        st.as_(seqs[1]).send,
        st.pool.functions.unlockInit(seqs[2].address),
    )


def test_update_signer_rate_limited(st: Staking, seqs, expect_revert) -> None:
    a = seqs[1]
    new = dev_account(20)
    s = st.as_(a)
    upd = st.pool.functions.updateSigner
    args = expect_revert("LockingPoolSignerUpdateTooSoon", s.send, upd(a.address, new.address))
    assert args[0] == a.address
    st.warp(11)
    expect_revert("LockingPoolSignerUnavailable", s.send, upd(a.address, seqs[2].address))
    was_current = st.current() == a.address
    rcpt = s.send(upd(a.address, new.address))
    assert (
        st.pool.events.SignerUpdated().process_receipt(rcpt, errors=DISCARD)[0]["args"]["newSigner"]
        == new.address
    )
    assert st.pool.functions.isActive(new.address).call()
    assert not st.pool.functions.isActive(a.address).call()
    assert _seq(st, new.address)[2] == 30_000 * TOKEN
    if was_current:
        assert st.current() == new.address
    # Immediately again: too soon.
    expect_revert(
        "LockingPoolSignerUpdateTooSoon", s.send, upd(new.address, dev_account(21).address)
    )


def test_rewards_fund_distribute_withdraw(st: Staking, seqs, expect_revert) -> None:
    reserve = st.pool.functions.rewardReserve().call()
    s = st.approve_and(dev_account(10), 500)
    s.send(st.pool.functions.fundRewards(500 * TOKEN))
    assert st.pool.functions.rewardReserve().call() == reserve + 500 * TOKEN
    cur = st.current()
    rcpt = st.gov.send(st.sset.functions.recordBatch(cur, 7, 0))
    ev = st.pool.events.RewardDistributed().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    paid = ev["l1Blocks"] * TOKEN
    assert paid > 0 and ev["reward"] == paid  # per L1 block, whatever l2Blocks claims
    expect_revert(
        "LockingPoolNotSequencerSet", st.gov.send, st.pool.functions.distributeReward(cur, 1)
    )
    acct = next(a for a in seqs if a.address == cur)
    bal = st.token.functions.balanceOf(cur).call()
    st.as_(acct).send(st.pool.functions.withdrawRewards(cur))
    assert st.token.functions.balanceOf(cur).call() == bal + paid
    expect_revert(
        "LockingPoolNothingToClaim", st.as_(acct).send, st.pool.functions.withdrawRewards(cur)
    )


def test_reward_is_capped_by_reserve(st: Staking) -> None:
    reserve = st.pool.functions.rewardReserve().call()
    st.gov.send(st.pool.functions.setRewardPerBlock(reserve))
    cur = st.current()
    st.gov.send(st.sset.functions.recordBatch(cur, 3, 0))
    assert st.pool.functions.rewardReserve().call() == 0
    assert _seq(st, cur)[3] == reserve


def test_slash_splits_between_beneficiary_and_burn(st: Staking, seqs, expect_revert) -> None:
    a = seqs[2]
    ben = dev_account(15)
    supply = st.token.functions.totalSupply().call()
    rcpt = st.gov.send(st.pool.functions.slash(a.address, 10_000 * TOKEN, ben.address))
    ev = st.pool.events.Slashed().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert (ev["slashed"], ev["paid"], ev["burned"]) == (
        10_000 * TOKEN,
        5_000 * TOKEN,
        5_000 * TOKEN,
    )
    # Pull pattern: nothing moves during the slash; the share is credited, the burn queued.
    assert st.token.functions.balanceOf(ben.address).call() == 0
    assert st.token.functions.totalSupply().call() == supply
    assert st.pool.functions.claimableReward(ben.address).call() == 5_000 * TOKEN
    assert st.pool.functions.pendingSlashBurn().call() == 5_000 * TOKEN
    assert _seq(st, a.address)[2] == 30_000 * TOKEN
    # Capped at the remaining stake; zero beneficiary burns everything.
    st.gov.send(st.pool.functions.slash(a.address, 10**30, "0x" + "00" * 20))
    assert _seq(st, a.address)[2] == 0
    assert st.pool.functions.totalSlashed().call() == 40_000 * TOKEN
    assert st.pool.functions.totalSlashPaid().call() == 5_000 * TOKEN
    assert st.pool.functions.totalSlashBurned().call() == 35_000 * TOKEN
    assert st.pool.functions.slashRewardsOwed().call() == 5_000 * TOKEN
    assert st.pool.functions.pendingSlashBurn().call() == 35_000 * TOKEN
    assert st.pool.functions.totalLocked().call() == (sum(STAKES) - 40_000) * TOKEN
    _assert_pool_accounting(st)
    expect_revert(
        "LockingPoolUnauthorized",
        st.as_(a).send,
        st.pool.functions.slash(a.address, 1, ben.address),
    )
    expect_revert(
        "LockingPoolWrongStatus",
        st.gov.send,
        st.pool.functions.slash(dev_account(30).address, 1, ben.address),
    )


def _assert_pool_accounting(st: Staking) -> None:
    """The pool holds exactly its stakes, reserve, owed rewards and unsettled slash."""
    p = st.pool.functions
    held = st.token.functions.balanceOf(st.pool.address).call()
    assert held == (
        p.totalLocked().call()
        + p.rewardReserve().call()
        + p.totalRewardsOwed().call()
        + p.slashRewardsOwed().call()
        + p.pendingSlashBurn().call()
    )


def test_slash_reward_is_claimed_and_burn_flushed(st: Staking, seqs, expect_revert) -> None:
    a, b = seqs[2], seqs[3]
    ben, anyone = dev_account(15), dev_account(16)
    supply = st.token.functions.totalSupply().call()
    st.gov.send(st.pool.functions.slash(a.address, 10_000 * TOKEN, ben.address))
    st.gov.send(st.pool.functions.slash(b.address, 2_000 * TOKEN, ben.address))
    # Two slashes accumulate in one claim.
    assert st.pool.functions.claimableReward(ben.address).call() == 6_000 * TOKEN
    rcpt = st.as_(ben).send(st.pool.functions.claimSlashReward())
    ev = st.pool.events.SlashRewardClaimed().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert (ev["beneficiary"], ev["amount"]) == (ben.address, 6_000 * TOKEN)
    assert st.token.functions.balanceOf(ben.address).call() == 6_000 * TOKEN
    assert st.pool.functions.claimableReward(ben.address).call() == 0
    assert st.pool.functions.slashRewardsOwed().call() == 0
    expect_revert(
        "LockingPoolNoSlashReward", st.as_(ben).send, st.pool.functions.claimSlashReward()
    )
    _assert_pool_accounting(st)
    # Anyone flushes the queued burn in one call; the supply drops by exactly that.
    rcpt = st.as_(anyone).send(st.pool.functions.burnSlashed())
    ev = st.pool.events.SlashedBurned().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert (ev["by"], ev["amount"]) == (anyone.address, 6_000 * TOKEN)
    assert st.token.functions.totalSupply().call() == supply - 6_000 * TOKEN
    assert st.pool.functions.pendingSlashBurn().call() == 0
    assert st.pool.functions.totalSlashBurned().call() == 6_000 * TOKEN  # cumulative
    expect_revert("LockingPoolNothingToBurn", st.as_(anyone).send, st.pool.functions.burnSlashed())
    _assert_pool_accounting(st)
    # A paused pool pays no rewards but still burns.
    st.gov.send(st.pool.functions.slash(a.address, 1_000 * TOKEN, ben.address))
    st.gov.send(st.pool.functions.pause())
    expect_revert("EnforcedPause", st.as_(ben).send, st.pool.functions.claimSlashReward())
    st.as_(anyone).send(st.pool.functions.burnSlashed())
    assert st.pool.functions.claimableReward(ben.address).call() == 500 * TOKEN
    _assert_pool_accounting(st)


def test_authorised_rollup_contract_may_slash_and_kick(st: Staking, seqs) -> None:
    rollup = dev_account(16)
    st.gov.send(st.pool.functions.setAuthorized(rollup.address, True))
    s = st.as_(rollup)
    s.send(st.pool.functions.slash(seqs[0].address, TOKEN, rollup.address))
    s.send(st.pool.functions.kick(seqs[0].address))
    assert _seq(st, seqs[0].address)[6] == KICKED


def test_kick_removes_and_allows_claim_after_delay(st: Staking, seqs, expect_revert) -> None:
    cur = st.current()
    rcpt = st.gov.send(st.pool.functions.kick(cur))
    assert st.pool.events.Kicked().process_receipt(rcpt, errors=DISCARD)[0]["args"]["signer"] == cur
    assert not st.pool.functions.isActive(cur).call()
    # The kicked sequencer was current: a new one was drawn at once.
    rot = st.sset.events.SequencerRotated().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert rot["previous"] == cur and rot["next"] != cur and rot["reason"] == 3
    assert st.current() == rot["next"]
    expect_revert("LockingPoolWrongStatus", st.gov.send, st.pool.functions.kick(cur))
    acct = next(a for a in seqs if a.address == cur)
    expect_revert(
        "LockingPoolWithdrawalDelayNotOver", st.as_(acct).send, st.pool.functions.unlockClaim(cur)
    )
    st.warp(31)
    st.as_(acct).send(st.pool.functions.unlockClaim(cur))
    assert _seq(st, cur)[6] == WITHDRAWN


def test_kick_an_exiting_sequencer_frees_the_exit_slot(st: Staking, seqs) -> None:
    a = seqs[0]
    st.as_(a).send(st.pool.functions.unlockInit(a.address))
    st.gov.send(st.pool.functions.kick(a.address))
    assert st.pool.functions.exitingCount().call() == 0
    assert _seq(st, a.address)[6] == KICKED


def test_governance_setters_and_bad_params(st: Staking, expect_revert) -> None:
    st.gov.send(st.pool.functions.setWithdrawalDelay(99))
    assert st.pool.functions.params().call()[3] == 99
    st.gov.send(st.pool.functions.setLockBounds(10 * TOKEN, 20 * TOKEN))
    assert st.pool.functions.params().call()[:2] == [10 * TOKEN, 20 * TOKEN]
    args = expect_revert("LockingPoolBadParam", st.gov.send, st.pool.functions.setLockBounds(5, 4))
    assert args == ("maxLock", 4)
    expect_revert("LockingPoolBadParam", st.gov.send, st.pool.functions.setMaxSequencers(0))
    p = list(st.pool.functions.params().call())
    p[6] = 10_001
    expect_revert("LockingPoolBadParam", st.gov.send, st.pool.functions.setParams(tuple(p)))
    expect_revert(
        "LockingPoolZeroAddress",
        st.gov.send,
        st.pool.functions.setAuthorized("0x" + "00" * 20, True),
    )
    expect_revert(
        "LockingPoolZeroAddress", st.gov.send, st.pool.functions.setSequencerSet("0x" + "00" * 20)
    )
    other = st.as_(dev_account(10))
    for call in (
        st.pool.functions.setWithdrawalDelay(1),
        st.pool.functions.setRewardPerBlock(1),
        st.pool.functions.setAuthorized(other.address, True),
        st.pool.functions.setGuardian(other.address),
    ):
        expect_revert("OwnableUnauthorizedAccount", other.send, call)
    expect_revert("LockingPoolNotGuardian", other.send, st.pool.functions.pause())


def test_pause_blocks_staking_but_not_slashing(st: Staking, seqs, expect_revert) -> None:
    st.gov.send(st.pool.functions.pause())
    a = seqs[0]
    expect_revert("EnforcedPause", st.as_(a).send, st.pool.functions.unlockInit(a.address))
    st.gov.send(st.pool.functions.slash(a.address, TOKEN, st.gov.address))
    st.gov.send(st.pool.functions.unpause())
    st.as_(a).send(st.pool.functions.unlockInit(a.address))
    expect_revert("ExpectedPause", st.gov.send, st.pool.functions.unpause())


def test_pool_balance_matches_accounting(st: Staking, seqs) -> None:
    st.gov.send(st.sset.functions.recordBatch(st.current(), 5, 0))
    st.gov.send(st.pool.functions.slash(seqs[1].address, 1_234 * TOKEN, st.gov.address))
    _assert_pool_accounting(st)  # the slash is held until claimed / burned
    st.gov.send(st.pool.functions.claimSlashReward())
    _assert_pool_accounting(st)
    st.gov.send(st.pool.functions.burnSlashed())
    bal = st.token.functions.balanceOf(st.pool.address).call()
    f = st.pool.functions
    assert bal == f.totalLocked().call() + f.rewardReserve().call() + f.totalRewardsOwed().call()


def test_set_params_replaces_all_and_emits(st: Staking) -> None:
    new = (1 * TOKEN, 2 * TOKEN, 7, 60, 5, 3, 2_500)
    rcpt = st.gov.send(st.pool.functions.setParams(new))
    assert tuple(st.pool.functions.params().call()) == new
    ev = st.pool.events.ParamsUpdated().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    got = ev["params"]
    assert tuple(got.values() if hasattr(got, "values") else got) == new


def test_set_sequencer_set_moves_the_authorisation(st: Staking, expect_revert) -> None:
    old = st.sset.address
    new = dev_account(18)
    st.gov.send(st.pool.functions.setSequencerSet(new.address))
    assert st.pool.functions.sequencerSet().call() == new.address
    assert st.pool.functions.authorized(new.address).call()
    assert not st.pool.functions.authorized(old).call()
    # The new set may now distribute rewards; the old one may not.
    st.as_(new).send(st.pool.functions.distributeReward(dev_account(1).address, 2))
    expect_revert(
        "LockingPoolNotSequencerSet", st.gov.send, st.pool.functions.distributeReward(old, 1)
    )
