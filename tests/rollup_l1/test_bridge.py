"""L1Bridge on Anvil: ETH/ERC20 deposits with a rolling hash, fee-on-transfer refusal, withdrawals
proven against a finalized batch (never early, never twice, never from an invalid batch),
reentrancy."""

from __future__ import annotations

from typing import Any

from web3.logs import DISCARD

from offchain.bridge.types import ETH, Withdrawal
from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.rollup.ledger.batch import BatchHeader
from tests.rollup_l1.conftest import WINDOW_S, Env

ALICE = dev_account(10)
BOB = dev_account(11)
ZERO = b"\x00" * 32


def _withdrawal_batch(
    env: Env, index: int, ws: dict[int, Withdrawal], tx_count: int = 6
) -> tuple[BatchHeader, merkle.MerkleTree]:
    """A batch whose withdrawal tree has ``ws[i]`` at tx position i and zero elsewhere."""
    items = [ws[i].item() if i in ws else ZERO for i in range(tx_count)]
    tree = merkle.MerkleTree(items)
    header = env.header(index, tx_count=tx_count, withdrawal_root=tree.root)
    env.append(header)
    return header, tree


def test_deposit_eth_and_rolling_hash(
    env: Env, expect_revert: Any, expect_call_revert: Any
) -> None:
    br = env.bridge(ALICE)
    bal0 = env.chain.w3.eth.get_balance(br.bridge.address)
    d0 = br.deposit_eth(BOB.address, 10**18)
    d1 = br.deposit_eth(ALICE.address, 3)
    assert (d0.deposit_id, d1.deposit_id) == (0, 1)
    assert (d0.sender, d0.l2_recipient, d0.token, d0.amount) == (
        ALICE.address,
        BOB.address,
        ETH,
        10**18,
    )
    h1 = d0.next_rolling_hash(ZERO)
    assert d0.rolling_hash == h1 == br.deposit_hash_at(1)
    assert d1.rolling_hash == d1.next_rolling_hash(h1) == br.deposit_hash_at(2)
    assert br.deposit_hash_at(0) == ZERO
    assert br.deposit_count() == 2
    assert [d.deposit_id for d in br.deposits()] == [0, 1]
    assert env.chain.w3.eth.get_balance(br.bridge.address) - bal0 == 10**18 + 3
    assert br.locked(ETH) == 10**18 + 3
    expect_revert("L1BridgeBadDeposit", br.deposit_eth, BOB.address, 0)
    expect_revert("L1BridgeBadDeposit", br.deposit_eth, ETH, 5)
    assert expect_call_revert("L1BridgeUnknownPosition", br.bridge.functions.depositHashAt(3)) == (
        3,
        2,
    )


def test_deposit_erc20(env: Env, expect_revert: Any) -> None:
    token = env.contract("TestToken", "test_token")
    s = env.chain.sender(ALICE)
    s.send(token.functions.mint(ALICE.address, 1000))
    br = env.bridge(ALICE)
    d = br.deposit_erc20(token.address, BOB.address, 400)
    assert (d.token, d.amount, d.deposit_id) == (token.address, 400, 0)
    assert token.functions.balanceOf(br.bridge.address).call() == 400
    assert br.locked(token.address) == 400
    expect_revert("L1BridgeBadToken", br.deposit_erc20, ETH, BOB.address, 1, approve=False)
    expect_revert("L1BridgeBadDeposit", br.deposit_erc20, token.address, BOB.address, 0)
    # more than approved/owned: the token's own error
    expect_revert("ERC20InsufficientBalance", br.deposit_erc20, token.address, BOB.address, 10_000)


def test_fee_on_transfer_token_refused(env: Env, expect_revert: Any) -> None:
    fee = env.contract("FeeOnTransferToken", "fee_token")
    s = env.chain.sender(ALICE)
    s.send(fee.functions.mint(ALICE.address, 10_000))
    br = env.bridge(ALICE)
    err = expect_revert("L1BridgeFeeOnTransfer", br.deposit_erc20, fee.address, BOB.address, 1000)
    assert err.error_args == (fee.address, 1000, 990)
    assert br.deposit_count() == 0 and fee.functions.balanceOf(br.bridge.address).call() == 0


def test_finalize_withdrawal_eth(env: Env, expect_revert: Any) -> None:
    br_alice = env.bridge(ALICE)
    br_alice.deposit_eth(ALICE.address, 5 * 10**18)
    w = Withdrawal(keccak(b"wtx7"), BOB.address, ETH, 2 * 10**18)
    header, tree = _withdrawal_batch(env, 0, {3: w})
    proof = tree.proof(3)
    br = env.bridge(dev_account(12))  # anyone may relay
    expect_revert("L1BridgeBatchNotFinalized", br.finalize_withdrawal, header, 3, w, proof)
    env.warp(WINDOW_S + 1)
    expect_revert("L1BridgeBadProof", br.finalize_withdrawal, header, 2, w, tree.proof(2))
    bad_amount = Withdrawal(keccak(b"wtx7"), BOB.address, ETH, 3 * 10**18)
    expect_revert("L1BridgeBadProof", br.finalize_withdrawal, header, 3, bad_amount, proof)
    fake_header = env.header(0, tx_count=6, withdrawal_root=merkle.root([bad_amount.item()]))
    expect_revert(
        "StateCommitmentHeaderMismatch", br.finalize_withdrawal, fake_header, 0, bad_amount, []
    )
    expect_revert("StateCommitmentUnknownBatch", br.finalize_withdrawal, env.header(1), 3, w, proof)
    bob0 = env.chain.w3.eth.get_balance(BOB.address)
    rcpt = br.finalize_withdrawal(header, 3, w, proof)
    assert env.chain.w3.eth.get_balance(BOB.address) - bob0 == 2 * 10**18
    ev = br.bridge.events.WithdrawalFinalized().process_receipt(rcpt, errors=DISCARD)[0]["args"]
    assert ev["withdrawalHash"] == w.replay_key() == w.item() and ev["amount"] == 2 * 10**18
    assert br.is_withdrawal_finalized(w)
    assert br.locked(ETH) == 3 * 10**18
    # cannot be replayed
    expect_revert("L1BridgeAlreadyFinalized", br.finalize_withdrawal, header, 3, w, proof)


def test_finalize_withdrawal_erc20_and_locked_guard(env: Env, expect_revert: Any) -> None:
    token = env.contract("TestToken", "test_token")
    s = env.chain.sender(ALICE)
    s.send(token.functions.mint(ALICE.address, 1000))
    env.bridge(ALICE).deposit_erc20(token.address, ALICE.address, 500)
    w = Withdrawal(keccak(b"wtx1"), BOB.address, token.address, 200)
    too_much = Withdrawal(keccak(b"wtx2"), BOB.address, token.address, 501)
    header, tree = _withdrawal_batch(env, 0, {0: w, 5: too_much})
    env.warp(WINDOW_S + 1)
    br = env.bridge(BOB)
    br.finalize_withdrawal(header, 0, w, tree.proof(0))
    assert token.functions.balanceOf(BOB.address).call() == 200
    # even a (fraudulent) root cannot take more than the bridge holds for that token
    expect_revert(
        "L1BridgeInsufficientLocked", br.finalize_withdrawal, header, 5, too_much, tree.proof(5)
    )


def test_withdrawal_in_invalidated_batch_never_finalizes(env: Env, expect_revert: Any) -> None:
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    w = Withdrawal(keccak(b"wtx0"), BOB.address, ETH, 10**18)
    header, tree = _withdrawal_batch(env, 0, {1: w})
    s = env.chain.sender(env.owner)
    sc = env.sc(env.owner).sc
    s.send(sc.functions.setChallenger(env.owner.address, True))
    s.send(sc.functions.invalidateFrom(0))
    env.warp(WINDOW_S + 1)
    br = env.bridge(BOB)
    expect_revert(
        "StateCommitmentUnknownBatch", br.finalize_withdrawal, header, 1, w, tree.proof(1)
    )
    # resubmitted without the withdrawal: the old proof does not work against the new batch either
    new = env.header(0, tx_count=6)
    env.append(new)
    env.warp(WINDOW_S + 1)
    expect_revert(
        "StateCommitmentHeaderMismatch", br.finalize_withdrawal, header, 1, w, tree.proof(1)
    )
    expect_revert("L1BridgeBadProof", br.finalize_withdrawal, new, 1, w, tree.proof(1))


def test_reentrancy_blocked(env: Env) -> None:
    env.bridge(ALICE).deposit_eth(ALICE.address, 4 * 10**18)
    s = env.chain.sender(env.owner)
    attacker = s.deploy("ReentrantRecipient")
    w = Withdrawal(keccak(b"wtx0"), attacker.address, ETH, 10**18)
    w2 = Withdrawal(keccak(b"wtx1"), attacker.address, ETH, 10**18)
    header, tree = _withdrawal_batch(env, 0, {0: w, 1: w2})
    env.warp(WINDOW_S + 1)
    br = env.bridge(BOB)
    # when paid, the recipient tries to finalize the second withdrawal from inside the first
    payload = br.bridge.functions.finalizeWithdrawal(
        header.as_tuple(), 1, w2.as_tuple(), tree.proof(1)
    )._encode_transaction_data()
    s.send(attacker.functions.arm(br.bridge.address, payload))
    br.finalize_withdrawal(header, 0, w, tree.proof(0))
    assert attacker.functions.reentered().call() and attacker.functions.reentryFailed().call()
    assert env.chain.w3.eth.get_balance(attacker.address) == 10**18
    assert not br.is_withdrawal_finalized(w2)


def test_same_withdrawal_in_two_batches_paid_once(env: Env, expect_revert: Any) -> None:
    """Even if an (unchallenged, faulty) batch repeats a withdrawal, it is paid once."""
    env.bridge(ALICE).deposit_eth(ALICE.address, 5 * 10**18)
    w = Withdrawal(keccak(b"wtx9"), BOB.address, ETH, 10**18)
    h0, t0 = _withdrawal_batch(env, 0, {1: w})
    h1, t1 = _withdrawal_batch(env, 1, {4: w})
    env.warp(WINDOW_S + 1)
    br = env.bridge(BOB)
    br.finalize_withdrawal(h0, 1, w, t0.proof(1))
    err = expect_revert("L1BridgeAlreadyFinalized", br.finalize_withdrawal, h1, 4, w, t1.proof(4))
    assert err.error_args == (w.item(),)
    assert br.locked(ETH) == 4 * 10**18
