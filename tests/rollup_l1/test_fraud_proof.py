"""MTSR fraud proofs on Anvil (seed 001 §11.4–11.5): one test per provable fault (wrong post
root, invalid signature, wrong nonce, overdraft, skipped deposit, forged deposit, fake
withdrawal, wrong summary), plus a false claim, a bad witness and a late claim reverting."""

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
from tests.rollup_l1.conftest import SLASH, STAKE, WINDOW_S, Env
from tests.rollup_l1.l2sim import L2Sim, tampered

ALICE = dev_account(10)
BOB = dev_account(11)
CAROL = dev_account(12)
CHALLENGER = dev_account(15)
BOT = dev_account(16)
FEE = dev_account(20).address
E18 = 10**18


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


def _assert_fraud_outcome(env: Env, sim: L2Sim, index: int, seq: Any, bal0: int, rcpt: Any) -> None:
    v = env.sc(CHALLENGER)
    assert v.batch_status(index) == BatchStatus.INVALID and v.next_index() == index
    seqset = env.contract("TestSequencerSet", "sequencer_set")
    assert seqset.functions.stake(seq.address).call() == STAKE - SLASH
    assert seq.address not in seqset.functions.activeSigners().call()
    assert seqset.functions.currentSequencer().call() != seq.address
    spent = rcpt["gasUsed"] * rcpt["effectiveGasPrice"]
    assert env.chain.w3.eth.get_balance(CHALLENGER.address) == bal0 - spent + SLASH // 2
    fp = env.contract("FraudProver", "fraud_prover")
    ev = fp.events.FraudProven().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["index"] == index and ev["sequencer"] == seq.address and ev["reward"] == SLASH // 2


def _prove(env: Env, sim: L2Sim, index: int, step: int | None = None) -> tuple[Any, int]:
    """Commit (an earlier block: the reward is bound to CHALLENGER), then prove."""
    v, w = env.sc(CHALLENGER), sim.witness(index, step)
    assert v.commit_fraud_proof(w) is not None
    bal0 = env.chain.w3.eth.get_balance(CHALLENGER.address)
    rcpt = v.prove_fraud(w)
    return rcpt, bal0


def test_wrong_post_state_root(env: Env) -> None:
    """MTTBR matches, MTSR does not (§11.4): step 0 of batch 1 (pre-state from batch 0)."""
    sim, _ = _setup(env)
    seq = env.current()
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 10, 0)
    data, pre = sim.build([(t, FEE, True)])
    bad = tampered(data, post_roots=[keccak(b"forged root")])
    sim.commit(bad, pre)
    rcpt, bal0 = _prove(env, sim, 1)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)
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
    rcpt, bal0 = _prove(env, sim, 1)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)


def test_wrong_nonce(env: Env) -> None:
    sim, _ = _setup(env)
    seq = env.current()
    replay = sign_transfer(ALICE, sim.domain, BOB.address, ETH, E18, 0, 5)
    data, pre = sim.build([(replay, FEE, False)])
    sim.commit(data, pre)
    rcpt, bal0 = _prove(env, sim, 1)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)


def test_overdraft(env: Env) -> None:
    sim, _ = _setup(env)
    seq = env.current()
    t = sign_transfer(ALICE, sim.domain, BOB.address, ETH, 50 * E18, 0, 0)
    data, pre = sim.build([(t, FEE, False)])
    sim.commit(data, pre)
    rcpt, bal0 = _prove(env, sim, 1)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)


def test_skipped_deposit(env: Env) -> None:
    """Deposit 3 included while deposit 2 is next: out of order (skipped)."""
    sim, deps = _setup(env, deposits=4)
    seq = env.current()
    data, pre = sim.build([(deps[3], FEE, False)])
    sim.commit(data, pre, deposit_count=2, deposit_hash=sim.env.bridge(ALICE).deposit_hash_at(2))
    rcpt, bal0 = _prove(env, sim, 1)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)


def test_forged_deposit(env: Env) -> None:
    """A deposit that is not the bridge's (inflated amount) is provable against the bridge."""
    sim, deps = _setup(env, deposits=3)
    seq = env.current()
    d = deps[2]
    inflated = Deposit(d.deposit_id, d.l1_sender, d.recipient, d.token, d.amount * 100)
    data, pre = sim.build([(inflated, FEE, True)])
    sim.commit(data, pre, deposit_count=3, deposit_hash=sim.env.bridge(ALICE).deposit_hash_at(3))
    rcpt, bal0 = _prove(env, sim, 1)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)


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
    rcpt, bal0 = _prove(env, sim, 1)
    assert sim.witness(1).step.step == 0
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)
    env.warp(WINDOW_S + 1)
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
    bal0 = env.chain.w3.eth.get_balance(CHALLENGER.address)
    rcpt = env.sc(CHALLENGER).prove_bad_summary(summary)
    _assert_fraud_outcome(env, sim, 1, seq, bal0, rcpt)


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
    invalidates the batch but is paid nothing (the whole slash is burned)."""
    _sim, w = _committed_fraud(env)
    honest, bot = env.sc(CHALLENGER), env.sc(BOT)
    honest.commit_fraud_proof(w)
    seqset = env.contract("TestSequencerSet", "sequencer_set")
    burned0 = seqset.functions.burned().call()
    bal0 = env.chain.w3.eth.get_balance(BOT.address)
    rcpt = bot.prove_fraud(w, commit=False)  # the same proof, the bot named as challenger
    assert honest.batch_status(1) == BatchStatus.INVALID
    spent = rcpt["gasUsed"] * rcpt["effectiveGasPrice"]
    assert env.chain.w3.eth.get_balance(BOT.address) == bal0 - spent
    assert seqset.functions.burned().call() - burned0 == SLASH
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
    seqset = env.contract("TestSequencerSet", "sequencer_set")
    verbatim = honest.fp.encode_abi("proveFraud", args=[*w.as_args(), CHALLENGER.address])
    c0 = env.chain.w3.eth.get_balance(CHALLENGER.address)
    env.chain.sender(BOT).send({"to": fp.address, "data": verbatim})
    assert env.chain.w3.eth.get_balance(CHALLENGER.address) - c0 == SLASH // 2
    assert seqset.functions.stake(seq.address).call() == STAKE - SLASH
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
    env.warp(WINDOW_S + 1)
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
    env.warp(WINDOW_S + 1)
    item = L1Withdrawal(ltx_hash(w), CAROL.address, ETH, E18)
    assert item.item() == data.withdrawal_items[0]
    tree = merkle.MerkleTree(data.withdrawal_items)
    carol0 = env.chain.w3.eth.get_balance(CAROL.address)
    rcpt = env.bridge(BOB).finalize_withdrawal(header, 0, item, tree.proof(0))
    assert env.chain.w3.eth.get_balance(CAROL.address) - carol0 == E18
    v = env.sc(CHALLENGER)
    expect_revert("FraudProverWindowClosed", v.prove_fraud, witness)
    expect_revert("DataAvailabilityChallengeWindowClosed", v.request_data, header)
    s = env.chain.sender(env.owner)
    s.send(v.sc.functions.setChallenger(env.owner.address, True))
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


def test_low_gas_cannot_dodge_the_slash(env: Env) -> None:
    """A caller cannot starve punish of gas so that only the invalidation goes through."""
    sim, _ = _setup(env)
    seq = env.current()
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
    assert v.batch_status(1) == BatchStatus.PENDING
    assert v.batch_status(1) == BatchStatus.PENDING
    seqset = env.contract("TestSequencerSet", "sequencer_set")
    assert seqset.functions.stake(seq.address).call() == STAKE
    rcpt = v.prove_fraud(sim.witness(1))  # with the estimated gas it goes through
    assert rcpt["gasUsed"] < 600_000 and v.batch_status(1) == BatchStatus.INVALID
