"""SequencerSet on Anvil: rotation, reselection, key approvals, punish; every custom error."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from offchain.chain.accounts import dev_account
from offchain.staking.config import TOKEN
from offchain.staking.frost.group import random_scalar
from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen
from offchain.staking.frost.l1 import group_key_digest, l1_signature, make_even
from offchain.staking.signatures import batch_digest, sign_digest

from .conftest import Staking

HEARTBEAT, SETVOTE, REMOVED, PUNISHED = 1, 2, 3, 4
ZERO = "0x" + "00" * 20


def _sigs(accounts, digest: bytes) -> list[bytes]:
    ordered = sorted(accounts, key=lambda a: int(a.address, 16))
    return [sign_digest(a, digest) for a in ordered]


def _install_dealt(st: Staking, seqs) -> list[KeyShare]:
    """A dealt 3-of-4 group key installed by the whole set's approval; a threshold of shares."""
    dealt, _ = trusted_dealer_keygen(random_scalar(), 4, 3)
    pk, secrets = make_even(dealt[0].group_public_key, {d.identifier: d.secret for d in dealt})
    x, y = pk.xy()
    kd = group_key_digest(st.chain.chain_id, st.sset.address, 0, x)
    st.gov.send(st.sset.functions.installGroupKey(x, y, _sigs(seqs, kd)))
    return [KeyShare(i, secrets[i], pk) for i in (1, 2, 3)]


def _rotation(st: Staking, rcpt) -> dict:
    return dict(st.sset.events.SequencerRotated().process_receipt(rcpt, errors=DISCARD)[0]["args"])


def test_interface_views(st: Staking, seqs) -> None:
    assert sorted(st.sset.functions.activeSigners().call()) == sorted(a.address for a in seqs)
    info = st.sset.functions.epochInfo().call()
    assert info[0] == 1 and info[2] == st.current()
    assert st.sset.functions.timing().call() == [30, 5]
    assert st.sset.functions.heartbeatDeadline().call() == info[5] + 5


def test_advance_epoch_only_after_epoch_end(st: Staking, expect_revert) -> None:
    end = st.sset.functions.epochInfo().call()[4]
    args = expect_revert("SequencerSetEpochNotOver", st.gov.send, st.sset.functions.advanceEpoch())
    assert args[0] == end
    st.warp(31)
    rcpt = st.gov.send(st.sset.functions.advanceEpoch())
    rot = _rotation(st, rcpt)
    assert rot["epoch"] == 2 and rot["round"] == 0 and rot["reason"] == 0
    info = st.sset.functions.epochInfo().call()
    assert info[0] == 2 and info[4] == st.now() + 30
    assert info[6] == rcpt["blockNumber"] + 1  # seed commitment: the next block


def test_advance_epoch_needs_an_active_sequencer(chain, sender, expect_revert) -> None:
    s = sender(dev_account(0))
    token = s.deploy("L2KitToken", "T", "T", s.address)
    pool = s.deploy("LockingPool", token.address, (1, 2, 3, 4, 5, 6, 7), s.address)
    sset = s.deploy("SequencerSet", pool.address, 30, 5, s.address)
    expect_revert("SequencerSetNoActiveSequencers", s.send, sset.functions.advanceEpoch())
    expect_revert("SequencerSetNoCurrentSequencer", s.send, sset.functions.reselect())
    expect_revert(
        "SequencerSetNoCurrentSequencer", s.send, sset.functions.reselectWithSignatures([])
    )
    expect_revert("SequencerSetZeroAddress", s.deploy, "SequencerSet", ZERO, 30, 5, s.address)
    expect_revert("SequencerSetBadTiming", s.deploy, "SequencerSet", pool.address, 0, 5, s.address)


def test_reselect_after_missed_heartbeat_excludes_the_silent_one(
    st: Staking, expect_revert
) -> None:
    cur = st.current()
    deadline = st.sset.functions.heartbeatDeadline().call()
    args = expect_revert(
        "SequencerSetHeartbeatNotMissed", st.gov.send, st.sset.functions.reselect()
    )
    assert args[0] == deadline
    st.warp(6)
    anyone = st.as_(dev_account(25))
    rcpt = anyone.send(st.sset.functions.reselect())
    rot = _rotation(st, rcpt)
    assert rot["previous"] == cur and rot["next"] != cur and rot["reason"] == HEARTBEAT
    assert rot["epoch"] == 1 and rot["round"] == 1  # same epoch, next round
    assert st.current() == rot["next"]


def test_record_batch_is_the_heartbeat(st: Staking, expect_revert) -> None:
    st.warp(4)
    st.gov.send(st.sset.functions.recordBatch(st.current(), 1, 0))
    st.warp(4)  # 8 s since the draw, 4 s since the batch: not missed
    expect_revert("SequencerSetHeartbeatNotMissed", st.gov.send, st.sset.functions.reselect())


def test_record_batch_reverts(st: Staking, seqs, expect_revert) -> None:
    cur = st.current()
    other = next(a.address for a in seqs if a.address != cur)
    args = expect_revert(
        "SequencerSetNotCurrent", st.gov.send, st.sset.functions.recordBatch(other, 1, 0)
    )
    assert args == (other, cur)
    stranger = st.as_(dev_account(25))
    args = expect_revert(
        "SequencerSetNotRollup", stranger.send, st.sset.functions.recordBatch(cur, 1, 0)
    )
    assert args == (stranger.address,)


def test_reselect_with_the_group_keys_signature(st: Staking, seqs, expect_revert) -> None:
    cur = st.current()
    digest = bytes(st.sset.functions.reselectDigest().call())
    # No key yet: the whole set's ECDSA list replaces no one.
    expect_revert(
        "SequencerSetNoGroupKey",
        st.gov.send,
        st.sset.functions.reselectWithSignatures(_sigs(seqs, digest)),
    )
    shares = _install_dealt(st, seqs)
    got = expect_revert(
        "SequencerSetBadFrostSignature",
        st.gov.send,
        st.sset.functions.reselectWithSignatures(_sigs(seqs, digest)),
    )
    assert list(got) == [4, 65]
    sig = l1_signature(shares, digest)
    rcpt = st.as_(dev_account(25)).send(st.sset.functions.reselectWithSignatures([sig]))
    rot = _rotation(st, rcpt)
    assert rot["previous"] == cur and rot["next"] != cur and rot["reason"] == SETVOTE
    # The digest moved on (round + 1): the same signature cannot be replayed.
    new_digest = bytes(st.sset.functions.reselectDigest().call())
    got = expect_revert(
        "SequencerSetInvalidFrostSignature",
        st.gov.send,
        st.sset.functions.reselectWithSignatures([sig]),
    )
    assert list(got) == [new_digest, st.sset.functions.groupKeyX().call()]


def test_key_approval_accepts_more_than_two_thirds(st: Staking, seqs) -> None:
    digest = batch_digest(31337, dev_account(30).address, 7, b"\x22" * 32)
    # 30k + 40k + 50k = 120k of 140k: more than 2/3 of the stake.
    st.sset.functions.verifySetSignatures(digest, _sigs(seqs[1:], digest)).call()
    st.sset.functions.verifySetSignatures(digest, _sigs(seqs, digest)).call()


def test_key_approval_weighs_stake_not_seats(st: Staking, seqs, expect_revert) -> None:
    digest = batch_digest(31337, dev_account(30).address, 7, b"\x22" * 32)
    # Three of four seats (20k + 30k + 40k = 90k of 140k) are not more than 2/3 of the stake.
    assert expect_revert(
        "SequencerSetNotEnoughSignatures",
        st.sset.functions.verifySetSignatures(digest, _sigs(seqs[:3], digest)).call,
    ) == (90_000 * TOKEN, 140_000 * TOKEN)


def test_key_approval_errors(st: Staking, seqs, expect_revert) -> None:
    """``verifySetSignatures``: the >2/3 ECDSA list that installs or recovers the group key."""
    digest = batch_digest(31337, dev_account(30).address, 7, b"\x22" * 32)
    harness = st.gov.deploy("SignatureCheckHarness")

    def check(sigs: list[bytes]) -> object:
        return st.gov.send(harness.functions.checkApproval(st.sset.address, digest, sigs))

    assert expect_revert("SequencerSetNotEnoughSignatures", check, _sigs(seqs[:2], digest)) == (
        50_000 * TOKEN,
        140_000 * TOKEN,
    )
    good = _sigs(seqs[1:], digest)
    bad_v = good[0][:64] + bytes([29])
    assert expect_revert("SequencerSetInvalidSignature", check, [bad_v, *good[1:]]) == (0,)
    args = expect_revert("SequencerSetSignersNotAscending", check, [good[1], good[0], good[2]])
    assert args[0] == 1
    expect_revert(
        "SequencerSetSignersNotAscending", check, [good[0], good[0], good[1]]
    )  # duplicate
    signers = sorted([*seqs[:2], dev_account(30)], key=lambda a: int(a.address, 16))
    mixed = [sign_digest(a, digest) for a in signers]
    idx = [a.address for a in signers].index(dev_account(30).address)
    assert expect_revert("SequencerSetSignerNotActive", check, mixed) == (
        idx,
        dev_account(30).address,
    )
    # A signature over another digest recovers to some other address: not active.
    other = _sigs(seqs[:3], batch_digest(31337, dev_account(30).address, 8, b"\x22" * 32))
    expect_revert("SequencerSetSignerNotActive", check, other)
    rcpt = check(good)
    assert rcpt["status"] == 1
    # The same list is never a batch signature.
    assert (
        expect_revert(
            "SequencerSetNoGroupKey",
            st.gov.send,
            harness.functions.check(st.sset.address, digest, good),
        )
        == ()
    )


def test_exiting_sequencer_no_longer_counts_or_signs(st: Staking, seqs, expect_revert) -> None:
    a = seqs[0]
    st.as_(a).send(st.pool.functions.unlockInit(a.address))
    digest = batch_digest(31337, dev_account(30).address, 1, b"\x33" * 32)
    # 120k active now: 30k + 40k is not more than 2/3, and the exiting one is not active.
    expect_revert(
        "SequencerSetNotEnoughSignatures",
        st.sset.functions.verifySetSignatures(digest, _sigs(seqs[1:3], digest)).call,
    )
    expect_revert(
        "SequencerSetSignerNotActive",
        st.sset.functions.verifySetSignatures(digest, _sigs(seqs[:3], digest)).call,
    )
    st.sset.functions.verifySetSignatures(digest, _sigs(seqs[1:], digest)).call()


def test_punish_slashes_kicks_and_rotates(st: Staking, expect_revert) -> None:
    cur = st.current()
    ben = dev_account(17)
    stranger = st.as_(dev_account(25))
    expect_revert(
        "SequencerSetNotRollup", stranger.send, st.sset.functions.punish(cur, TOKEN, ben.address)
    )
    paid = st.sset.functions.punish(cur, 10_000 * TOKEN, ben.address).call({"from": st.gov.address})
    assert paid == 5_000 * TOKEN
    rcpt = st.gov.send(st.sset.functions.punish(cur, 10_000 * TOKEN, ben.address))
    # The beneficiary's share is credited in the pool (pull pattern), not transferred yet.
    assert st.pool.functions.claimableReward(ben.address).call() == 5_000 * TOKEN
    assert st.token.functions.balanceOf(ben.address).call() == 0
    assert st.pool.functions.statusOf(cur).call() == 3  # Kicked
    rot = _rotation(st, rcpt)
    assert rot["previous"] == cur and rot["next"] == st.current() != cur
    ev = st.sset.events.SequencerPunished().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["paid"] == 5_000 * TOKEN
    # Punishing again still slashes (no second kick).
    st.gov.send(st.sset.functions.punish(cur, 1_000 * TOKEN, ben.address))
    assert st.pool.functions.claimableReward(ben.address).call() == 5_500 * TOKEN
    st.as_(ben).send(st.pool.functions.claimSlashReward())
    assert st.token.functions.balanceOf(ben.address).call() == 5_500 * TOKEN


def test_punish_gas_fits_the_fraud_proof_budget(st: Staking) -> None:
    """The pool's first slash, a fresh beneficiary, a kick and a rotation: the costliest punish.
    The pull-pattern slash moves no tokens and the rotation writes three packed slots, so the
    whole transaction stays far below FraudProver.PUNISH_GAS (600k) and keeps a fraud proof
    under 500k gas (bench: fraud_proof_punish_gas)."""
    cur = st.current()
    assert st.pool.functions.totalSlashed().call() == 0
    rcpt = st.gov.send(st.sset.functions.punish(cur, 10_000 * TOKEN, dev_account(19).address))
    assert st.pool.functions.statusOf(cur).call() == 3 and st.current() != cur
    assert rcpt["gasUsed"] < 200_000


def test_hooks_only_from_pool(st: Staking, expect_revert) -> None:
    args = expect_revert(
        "SequencerSetNotPool", st.gov.send, st.sset.functions.onSequencerRemoved(st.current())
    )
    assert args == (st.gov.address,)
    expect_revert("SequencerSetNotPool", st.gov.send, st.sset.functions.onSignerChanged(ZERO, ZERO))


def test_governance_setters(st: Staking, expect_revert) -> None:
    st.gov.send(st.sset.functions.setTiming(60, 10))
    assert st.sset.functions.timing().call() == [60, 10]
    assert expect_revert(
        "SequencerSetBadTiming", st.gov.send, st.sset.functions.setTiming(60, 0)
    ) == (60, 0)
    expect_revert("SequencerSetZeroAddress", st.gov.send, st.sset.functions.setRollup(ZERO, True))
    other = st.as_(dev_account(10))
    expect_revert("OwnableUnauthorizedAccount", other.send, st.sset.functions.setTiming(1, 1))
    expect_revert(
        "OwnableUnauthorizedAccount", other.send, st.sset.functions.setRollup(other.address, True)
    )


@pytest.mark.parametrize(
    ("weights", "seed", "expected"),
    [
        ([1, 1], 0, 0),
        ([1, 1], 1, 1),
        ([5, 0, 5], 5, 2),
        ([0, 3], 2, 1),
        ([2, 3, 5], 9, 2),
        ([2, 3, 5], 4, 1),
    ],
)
def test_select_index_walks_cumulative_weights(st: Staking, weights, seed, expected) -> None:
    assert st.sset.functions.selectIndex(weights, seed.to_bytes(32, "big")).call() == expected


def test_select_index_zero_weight(st: Staking, expect_revert) -> None:
    expect_revert(
        "SequencerSetZeroWeight", st.sset.functions.selectIndex([0, 0], b"\x01" * 32).call
    )
    expect_revert("SequencerSetZeroWeight", st.sset.functions.selectIndex([], b"\x01" * 32).call)


def test_heartbeat_ping_by_the_current_sequencer_only(st: Staking, seqs, expect_revert) -> None:
    cur = st.current()
    acct = next(a for a in seqs if a.address == cur)
    other = next(a for a in seqs if a.address != cur)
    args = expect_revert(
        "SequencerSetNotCurrent", st.as_(other).send, st.sset.functions.heartbeat()
    )
    assert args == (other.address, cur)
    st.warp(4)
    rcpt = st.as_(acct).send(st.sset.functions.heartbeat())
    assert (
        st.sset.events.Heartbeat().process_receipt(rcpt, errors=DISCARD)[0]["args"]["signer"] == cur
    )
    st.warp(4)
    expect_revert("SequencerSetHeartbeatNotMissed", st.gov.send, st.sset.functions.reselect())


def test_rotation_survives_fully_slashed_sequencers(st: Staking, seqs) -> None:
    # Slash everyone but the current to zero, then kick the current: the draw falls back to
    # equal weights over the remaining (still active) sequencers instead of reverting.
    cur = st.current()
    for a in seqs:
        if a.address != cur:
            st.gov.send(st.pool.functions.slash(a.address, 10**30, st.gov.address))
    rcpt = st.gov.send(st.pool.functions.kick(cur))
    rot = _rotation(st, rcpt)
    assert rot["next"] != cur and st.pool.functions.isActive(rot["next"]).call()


def test_next_seed_uses_the_committed_block_hash(st: Staking) -> None:
    from eth_abi import encode

    from offchain.common.hashing import keccak

    epoch, rnd, _, _, _, _, seed_block, _ = st.sset.functions.epochInfo().call()
    st.chain.rpc("anvil_mine", hex(3))
    committed = bytes(st.chain.w3.eth.get_block(seed_block)["hash"])
    expected = keccak(encode(["bytes32", "uint256", "uint256"], [committed, epoch, rnd]))
    assert bytes(st.sset.functions.nextSeed().call()) == expected
    # The next rotation draws with exactly this seed.
    st.warp(31)
    signers, stakes = st.pool.functions.activeSet().call()
    rcpt = st.gov.send(st.sset.functions.advanceEpoch())
    idx = st.sset.functions.selectIndex(stakes, expected).call()
    assert _rotation(st, rcpt)["next"] == signers[idx]


def test_exactly_two_thirds_of_the_stake_is_not_enough(st: Staking, seqs, expect_revert) -> None:
    """More than 2/3 of the active stake must sign: exactly 2/3 is refused, with the sums."""
    payer, signer = dev_account(10), dev_account(12)
    st.approve_and(payer, 40_000).send(
        st.pool.functions.lockFor(payer.address, signer.address, 40_000 * TOKEN)
    )
    total = st.pool.functions.activeStake().call()
    assert total == 180_000 * TOKEN  # 20k + 30k + 40k + 50k + 40k
    digest = batch_digest(31337, dev_account(30).address, 1, b"\x01" * 32)
    exact = [seqs[1], seqs[2], seqs[3]]  # 30k + 40k + 50k = 120k: exactly 2/3
    args = expect_revert(
        "SequencerSetNotEnoughSignatures",
        st.sset.functions.verifySetSignatures(digest, _sigs(exact, digest)).call,
    )
    assert tuple(args) == (120_000 * TOKEN, total)
    st.sset.functions.verifySetSignatures(digest, _sigs([*exact, seqs[0]], digest)).call()
