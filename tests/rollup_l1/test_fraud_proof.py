"""MTSR fraud proofs on Anvil (seed 001 §11.4–11.5): one test per provable fault (wrong post
root, invalid signature, wrong nonce, overdraft, skipped deposit, forged deposit, fake
withdrawal, wrong summary), plus a false claim, a bad witness and a late claim reverting.

Every test runs against the production deployment (``deploy_all``: the real LockingPool,
SequencerSet and governance) at 4 and at 21 sequencers (``staking.max_sequencers``), batches
signed by the set's FROST group key. Each punishment is checked against the real contracts'
books: the LockingPool's slash split (the challenger's credited share, claimed in tokens; the
rest queued for burning), the kick, and the rotation to the sequencer an independent model of
the stake-weighted draw expects (:func:`tests.helpers.prod.expected_next`)."""

from __future__ import annotations

from typing import Any

import pytest
from web3.logs import DISCARD

from offchain.bridge.types import ETH
from offchain.bridge.types import Withdrawal as L1Withdrawal
from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.errors import TxReverted
from offchain.rollup.l1.bindings import BatchStatus
from offchain.rollup.ledger.fraud import build_summary_witness
from offchain.rollup.ledger.tx import Deposit, sign_transfer, sign_withdraw
from offchain.rollup.ledger.tx import tx_hash as ltx_hash
from tests.helpers.frost import as_timelock
from tests.helpers.gas import call_gas
from tests.helpers.prod import SET_SIZES, ProdRollup, assert_punished, deploy_prod
from tests.rollup_l1.l2sim import L2Sim, tampered

ALICE = dev_account(10)
BOB = dev_account(11)
CAROL = dev_account(12)
CHALLENGER = dev_account(15)
BOT = dev_account(16)
FEE = dev_account(20).address
E18 = 10**18
Env = ProdRollup


@pytest.fixture(scope="module", params=SET_SIZES, ids=lambda n: f"{n}seq")
def env(chain: Any, request: pytest.FixtureRequest) -> ProdRollup:
    """The production deployment with 4 / 21 sequencers and a group key on the set."""
    return deploy_prod(chain, int(request.param))


def _setup(env: Env, deposits: int = 2) -> tuple[L2Sim, list[Deposit]]:
    """L1 deposits for Alice and Bob, and batch 0 consuming them honestly."""
    br = env.bridge(ALICE)
    deps = []
    for i in range(deposits):
        who = ALICE if i % 2 == 0 else BOB
        d = br.deposit_eth(who.address, 5 * E18)
        deps.append(Deposit(d.deposit_id, d.sender, d.l2_recipient, ETH, d.amount))
    sim = L2Sim(env)
    data, pre = sim.build([(deps[0], FEE, True), (deps[1], FEE, True)])
    sim.commit(data, pre)
    return sim, deps


def _assert_fraud_outcome(
    env: Env, sim: L2Sim, index: int, seq: Any, bal0: int, rcpt: Any, stake0: int
) -> None:
    """Batch ``index`` invalid; ``seq`` (staked ``stake0``) slashed by the pool, kicked and
    rotated out; CHALLENGER credited its share in tokens (claimed here), no ETH reward."""
    v = env.sc(CHALLENGER)
    assert v.batch_status(index) == BatchStatus.INVALID and v.next_index() == index
    slash = env.params.fraud_slash_amount
    paid = assert_punished(env, seq.address, CHALLENGER.address, slash, stake0, rcpt)
    assert paid > 0
    spent = rcpt["gasUsed"] * rcpt["effectiveGasPrice"]
    assert env.chain.w3.eth.get_balance(CHALLENGER.address) == bal0 - spent
    fp = env.contract("FraudProver", "fraud_prover")
    ev = fp.events.FraudProven().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert (ev["index"], ev["sequencer"], ev["challenger"]) == (
        index,
        seq.address,
        CHALLENGER.address,
    )
    assert ev["reward"] == paid
    pool, token = env.c("locking_pool").functions, env.c("token").functions
    assert pool.claimableReward(CHALLENGER.address).call() == paid
    tok0 = token.balanceOf(CHALLENGER.address).call()
    env.chain.sender(CHALLENGER).send(pool.claimSlashReward())
    assert token.balanceOf(CHALLENGER.address).call() - tok0 == paid
    assert pool.claimableReward(CHALLENGER.address).call() == 0


def _prove(env: Env, sim: L2Sim, index: int, step: int | None = None) -> tuple[Any, int]:
    """Commit (an earlier block: the reward is bound to CHALLENGER), then prove."""
    v, w = env.sc(CHALLENGER), sim.witness(index, step)
    assert v.commit_fraud_proof(w) is not None
    bal0 = env.chain.w3.eth.get_balance(CHALLENGER.address)
    rcpt = v.prove_fraud(w)
    return rcpt, bal0


def _prove_against(env: Env, sim: L2Sim, index: int, seq: Any, step: int | None = None) -> None:
    """Prove batch ``index`` (by ``seq``) fraudulent and check the whole outcome."""
    stake0 = env.stake(seq.address)
    rcpt, bal0 = _prove(env, sim, index, step)
    _assert_fraud_outcome(env, sim, index, seq, bal0, rcpt, stake0)


def test_wrong_post_state_root(env: Env) -> None:
    """MTTBR matches, MTSR does not (§11.4): step 0 of batch 1 (pre-state from batch 0)."""
    sim, _ = _setup(env)
    seq = env.current()
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 10, 0)
    data, pre = sim.build([(t, FEE, True)])
    bad = tampered(data, post_roots=[keccak(b"forged root")])
    sim.commit(bad, pre)
    _prove_against(env, sim, 1, seq)
    assert env.sc(CHALLENGER).batch_status(0) == BatchStatus.PENDING


def test_invalid_signature(env: Env) -> None:
    sim, _ = _setup(env)
    seq = env.current()
    forged = sign_transfer(BOB, sim.domain, CAROL.address, ETH, E18, 0, 0)
    forged = type(forged)(
        ALICE.address, *list(forged.__dict__.values())[1:]
    )  # claims Alice sent it
    ok = sign_transfer(BOB, sim.domain, CAROL.address, ETH, E18, 0, 0)
    data, pre = sim.build([(ok, FEE, True), (forged, FEE, False)])
    sim.commit(data, pre)
    _prove_against(env, sim, 1, seq)


def test_wrong_nonce(env: Env) -> None:
    sim, _ = _setup(env)
    seq = env.current()
    replay = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 0, 5)
    data, pre = sim.build([(replay, FEE, False)])
    sim.commit(data, pre)
    _prove_against(env, sim, 1, seq)


def test_overdraft(env: Env) -> None:
    sim, _ = _setup(env)
    seq = env.current()
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, 50 * E18, 0, 0)
    data, pre = sim.build([(t, FEE, False)])
    sim.commit(data, pre)
    _prove_against(env, sim, 1, seq)


def test_skipped_deposit(env: Env) -> None:
    """Deposit 3 included while deposit 2 is next: out of order (skipped)."""
    sim, deps = _setup(env, deposits=4)
    seq = env.current()
    data, pre = sim.build([(deps[3], FEE, False)])
    sim.commit(data, pre, deposit_count=2, deposit_hash=sim.env.bridge(ALICE).deposit_hash_at(2))
    _prove_against(env, sim, 1, seq)


def test_forged_deposit(env: Env) -> None:
    """A deposit that is not the bridge's (inflated amount) is provable against the bridge."""
    sim, deps = _setup(env, deposits=3)
    seq = env.current()
    d = deps[2]
    inflated = Deposit(d.deposit_id, d.l1_sender, d.recipient, d.token, d.amount * 100)
    data, pre = sim.build([(inflated, FEE, True)])
    sim.commit(data, pre, deposit_count=3, deposit_hash=sim.env.bridge(ALICE).deposit_hash_at(3))
    _prove_against(env, sim, 1, seq)


def test_fake_withdrawal_never_pays(env: Env, expect_revert: Any) -> None:
    """A withdrawal item with no Withdraw behind it is fraud; the batch is invalid, so it
    can never be finalized on the bridge."""
    sim, _ = _setup(env)
    seq = env.current()
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 0, 0)
    w = sign_withdraw(BOB, sim.domain, BOB.address, ETH, E18, 0, 0)
    data, pre = sim.build([(t, FEE, True), (w, FEE, True)])
    fake = L1Withdrawal(keccak(b"nothing"), CAROL.address, ETH, 4 * E18)
    bad = tampered(data, withdrawal_items=[fake.item(), data.withdrawal_items[1]])
    header = sim.commit(bad, pre)
    assert sim.witness(1).step.step == 0
    _prove_against(env, sim, 1, seq)
    env.warp(env.params.challenge_window_s + 1)
    tree = merkle.MerkleTree(bad.withdrawal_items)
    expect_revert(
        "StateCommitmentUnknownBatch",
        env.bridge(CAROL).finalize_withdrawal,
        header,
        0,
        fake,
        tree.proof(0),
    )


def test_bad_summary(env: Env, expect_revert: Any) -> None:
    sim, _ = _setup(env)
    seq = env.current()
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 0, 0)
    data, pre = sim.build([(t, FEE, True)])
    st = sim.state
    final = (st.tree_root, st.size, st.next_deposit_id)
    header = sim.commit(data, pre, final_state_root=keccak(b"not the last leaf"))
    # the honest batch 0's summary is right: a claim against it reverts
    h0 = sim.batches[0]
    st0 = h0.pre_state.copy()
    from offchain.rollup.ledger.ledger import Ledger

    led = Ledger(sim.domain, st0)
    for data0 in h0.data.txs:
        led.apply(data0, FEE)
    w0 = build_summary_witness(h0.header, h0.data, (st0.tree_root, st0.size, st0.next_deposit_id))
    expect_revert("FraudProverNoFraud", env.sc(CHALLENGER).prove_bad_summary, w0)
    summary = build_summary_witness(header, data, final)
    env.sc(CHALLENGER).commit_fraud_proof(summary)
    stake0 = env.stake(seq.address)
    bal0 = env.chain.w3.eth.get_balance(CHALLENGER.address)
    rcpt = env.sc(CHALLENGER).prove_bad_summary(summary)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt, stake0)


def _committed_fraud(env: Env) -> tuple[L2Sim, Any]:
    """Batch 1 with a forged post root; CHALLENGER commits its proof (not yet sent)."""
    sim, _ = _setup(env)
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 0, 0)
    data, pre = sim.build([(t, FEE, True)])
    sim.commit(tampered(data, post_roots=[keccak(b"forged")]), pre)
    w = sim.witness(1)
    assert env.sc(CHALLENGER).commit_fraud_proof(w) is not None
    return sim, w


def test_front_runner_is_not_paid(env: Env) -> None:
    """Attack 6 (issue #10) on Anvil: a bot that copies a committed proof naming itself
    invalidates the batch but is paid nothing (the whole slash is queued for burning)."""
    _sim, w = _committed_fraud(env)
    seq = env.current()
    stake0 = env.stake(seq.address)
    honest, bot = env.sc(CHALLENGER), env.sc(BOT)
    honest.commit_fraud_proof(w)
    pool = env.c("locking_pool").functions
    burn0 = pool.pendingSlashBurn().call()
    bal0 = env.chain.w3.eth.get_balance(BOT.address)
    rcpt = bot.prove_fraud(w, commit=False)  # the same proof, the bot named as challenger
    assert honest.batch_status(1) == BatchStatus.INVALID
    assert assert_punished(env, seq.address, None, env.params.fraud_slash_amount, stake0, rcpt) == 0
    spent = rcpt["gasUsed"] * rcpt["effectiveGasPrice"]
    assert env.chain.w3.eth.get_balance(BOT.address) == bal0 - spent
    assert pool.pendingSlashBurn().call() - burn0 == min(env.params.fraud_slash_amount, stake0)
    assert pool.claimableReward(BOT.address).call() == 0
    fp = env.contract("FraudProver", "fraud_prover")
    ev = fp.events.FraudProven().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["challenger"] == BOT.address and ev["reward"] == 0


def test_verbatim_copy_pays_the_committed_challenger(env: Env) -> None:
    """A bot that resends the committed calldata itself pays the committed challenger."""
    _sim, w = _committed_fraud(env)
    seq = env.current()
    honest = env.sc(CHALLENGER)
    assert honest.fp is not None
    fp = honest.fp
    stake0 = env.stake(seq.address)
    verbatim = honest.fp.encode_abi("proveFraud", args=[*w.as_args(), CHALLENGER.address])
    rcpt = env.chain.sender(BOT).send({"to": fp.address, "data": verbatim})
    slash = env.params.fraud_slash_amount
    paid = assert_punished(env, seq.address, CHALLENGER.address, slash, stake0, rcpt)
    assert env.c("locking_pool").functions.claimableReward(CHALLENGER.address).call() == paid > 0
    assert honest.batch_status(1) == BatchStatus.INVALID


def test_false_claim_and_bad_witness_revert(env: Env, expect_revert: Any) -> None:
    sim, _ = _setup(env)
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 10, 0)
    w = sign_withdraw(BOB, sim.domain, CAROL.address, ETH, E18, 0, 0)
    data, pre = sim.build([(t, FEE, True), (w, FEE, True)])
    sim.commit(data, pre)
    v = env.sc(CHALLENGER)
    for index, step in ((0, 0), (0, 1), (1, 0), (1, 1)):
        err = expect_revert("FraudProverNoFraud", v.prove_fraud, sim.witness(index, step))
        assert err.error_args == (index, step)
    # a witness against another header, or with a broken proof, never proves fraud
    good = sim.witness(1, 1)
    from dataclasses import replace

    expect_revert(
        "StateCommitmentHeaderMismatch",
        v.prove_fraud,
        replace(good, header=replace(good.header, l2_blocks=9)),
    )
    broken = replace(good, step=replace(good.step, post_state_root=keccak(b"x")))
    expect_revert("L2StateTransitionInvalidStepProof", v.prove_fraud, broken)
    w0 = sim.witness(1, 0)
    expect_revert(
        "FraudProverBadPrevious", v.prove_fraud, replace(w0, prev_final_state_root=keccak(b"y"))
    )
    assert v.batch_status(1) == BatchStatus.PENDING


def test_claim_after_window_reverts(env: Env, expect_revert: Any) -> None:
    sim, _ = _setup(env)
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 0, 0)
    data, pre = sim.build([(t, FEE, True)])
    sim.commit(tampered(data, post_roots=[keccak(b"forged")]), pre)
    witness = sim.witness(1)
    env.warp(env.params.challenge_window_s + 1)
    expect_revert("FraudProverWindowClosed", env.sc(CHALLENGER).prove_fraud, witness)
    assert env.sc(CHALLENGER).batch_status(1) == BatchStatus.FINALIZED


def test_finalized_withdrawal_cannot_be_undone(env: Env, expect_revert: Any) -> None:
    """Once the window passed and the withdrawal is paid, no challenge can reach the batch."""
    sim, _ = _setup(env)
    w = sign_withdraw(ALICE, sim.domain, CAROL.address, ETH, E18, 0, 0)
    data, pre = sim.build([(w, FEE, True)])
    # a faulty sequencer also forged the post-state root: fraud, but nobody proved it in time
    header = sim.commit(tampered(data, post_roots=[keccak(b"forged")]), pre)
    witness = sim.witness(1)
    env.warp(env.params.challenge_window_s + 1)
    item = L1Withdrawal(ltx_hash(w), CAROL.address, ETH, E18)
    assert item.item() == data.withdrawal_items[0]
    tree = merkle.MerkleTree(data.withdrawal_items)
    carol0 = env.chain.w3.eth.get_balance(CAROL.address)
    rcpt = env.bridge(BOB).finalize_withdrawal(header, 0, item, tree.proof(0))
    assert env.chain.w3.eth.get_balance(CAROL.address) - carol0 == E18
    v = env.sc(CHALLENGER)
    expect_revert("FraudProverWindowClosed", v.prove_fraud, witness)
    expect_revert("DataAvailabilityChallengeWindowClosed", v.request_data, header)
    # Even a challenger governance adds later cannot invalidate a final batch.
    owner = dev_account(0)
    as_timelock(env.chain, env.dep, v.sc.functions.setChallenger(owner.address, True))
    s = env.chain.sender(owner)
    expect_revert("StateCommitmentBatchFinalized", s.send, v.sc.functions.invalidateFrom(1))
    expect_revert(
        "L1BridgeAlreadyFinalized",
        env.bridge(BOB).finalize_withdrawal,
        header,
        0,
        item,
        tree.proof(0),
    )
    assert v.batch_status(1) == BatchStatus.FINALIZED and rcpt["status"] == 1


def test_low_gas_cannot_dodge_the_slash(env: Env, expect_call_revert: Any) -> None:
    """A caller cannot starve punish of gas so that only the invalidation goes through: at
    the lowest gas limit with which proveFraud succeeds, the real punish (slash, kick and a
    stake-weighted draw over the whole active set, 21 members at the maximum) still runs to
    the end; one unit less reverts FraudProverGasTooLow and changes nothing."""
    sim, _ = _setup(env)
    seq = env.current()
    stake0 = env.stake(seq.address)
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 0, 0)
    data, pre = sim.build([(t, FEE, True)])
    sim.commit(tampered(data, post_roots=[keccak(b"forged")]), pre)
    v = env.sc(CHALLENGER)
    assert v.fp is not None and v.sender is not None
    call = v.fp.functions.proveFraud(*sim.witness(1).as_args(), CHALLENGER.address)
    # Far too little gas: the proof itself runs out (no revert data, nothing changes).
    with pytest.raises(TxReverted) as e:
        v.sender.send(call, gas=500_000)
    assert e.value.error_name is None and "out of gas" in str(e.value), str(e.value)
    assert v.batch_status(1) == BatchStatus.PENDING and env.stake(seq.address) == stake0

    def succeeds(gas: int) -> bool:
        try:
            call.call({"from": CHALLENGER.address, "gas": gas})
        except Exception:  # noqa: BLE001 - any revert or out-of-gas: not enough
            return False
        return True

    lo, hi = 500_000, 5_000_000  # lo fails (above), hi succeeds
    assert succeeds(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if succeeds(mid) else (mid, hi)
    tx = {"from": CHALLENGER.address, "gas": hi - 1}
    need, _ = expect_call_revert("FraudProverGasTooLow", call, tx)
    fp = env.c("fraud_prover").functions
    assert need < fp.PUNISH_GAS().call()
    rcpt = v.sender.send(call, gas=hi)
    assert v.batch_status(1) == BatchStatus.INVALID
    fp_events = env.c("fraud_prover").events
    assert not fp_events.PunishFailed().process_receipt(rcpt, errors=DISCARD)
    assert_punished(env, seq.address, None, env.params.fraud_slash_amount, stake0, rcpt)
    # What punish used, with the whole active set to draw from, fits the reserve it is given.
    sset = env.c("sequencer_set")
    used = call_gas(env.chain, rcpt, sset.address, "punish(address,uint256,address)")
    assert 0 < used < fp.PUNISH_GAS().call() * 63 // 64, used
