"""Ledger rules: every rejection code, fees, withdrawals, blocks, batches, fraud witnesses."""

from __future__ import annotations

import pytest

from offchain.chain.accounts import dev_account
from offchain.common import merkle
from offchain.rollup.ledger.batch_data import (
    BatchData,
    batch_roots,
    decode_batch_data,
    encode_batch_data,
)
from offchain.rollup.ledger.compact import BatchDataError
from offchain.rollup.ledger.fraud import build_fraud_proof, find_fraud
from offchain.rollup.ledger.ledger import Ledger, TxRejected
from offchain.rollup.ledger.state import balance_key, verify_proof
from offchain.rollup.ledger.tx import (
    ETH,
    Deposit,
    Domain,
    Transfer,
    sign_transfer,
    sign_withdraw,
    tx_hash,
    tx_leaf,
    withdrawal_item,
)

DOMAIN = Domain(901, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
TOKEN = "0x1000000000000000000000000000000000000001"
SEQ = dev_account(13).address
ETHER = 10**18


@pytest.fixture
def funded(alice) -> Ledger:
    led = Ledger(DOMAIN)
    led.apply(Deposit(0, alice.address, alice.address, ETH, 10 * ETHER))
    led.apply(Deposit(1, alice.address, alice.address, TOKEN, 1000))
    return led


def _rejected(led: Ledger, tx, code: str, fee_recipient: str = SEQ) -> TxRejected:
    root, count = led.root, led.tx_count
    with pytest.raises(TxRejected) as e:
        led.apply(tx, fee_recipient)
    assert e.value.code == code, e.value
    assert led.root == root and led.tx_count == count, "a rejected tx must change nothing"
    return e.value


def test_transfer_moves_amount_and_pays_fee(funded, alice, bob) -> None:
    r = funded.apply(sign_transfer(alice, DOMAIN, bob.address, ETH, ETHER, 500, 0), SEQ)
    assert funded.balance(alice.address) == 9 * ETHER - 500
    assert funded.balance(bob.address) == ETHER
    assert funded.balance(SEQ) == 500
    assert funded.nonce(alice.address) == 1 and funded.nonce(bob.address) == 0
    assert r.index == 2 and r.post_state_root == funded.root and r.withdrawal is None
    assert r.fee_recipient == SEQ and r.status == "applied"
    # The fee is paid in the transferred token.
    funded.apply(sign_transfer(alice, DOMAIN, bob.address, TOKEN, 10, 3, 1), SEQ)
    assert funded.balance(SEQ, TOKEN) == 3 and funded.balance(alice.address, TOKEN) == 987


def test_self_transfer_and_self_fee_conserve(funded, alice) -> None:
    funded.apply(sign_transfer(alice, DOMAIN, alice.address, ETH, 5, 7, 0), alice.address)
    assert funded.balance(alice.address) == 10 * ETHER
    assert funded.nonce(alice.address) == 1


def test_withdraw_burns_and_records_the_withdrawal(funded, alice, bob) -> None:
    w = sign_withdraw(alice, DOMAIN, bob.address, ETH, 2 * ETHER, 1, 0)
    r = funded.apply(w, SEQ)
    assert funded.balance(alice.address) == 8 * ETHER - 1
    assert r.withdrawal is not None
    assert r.withdrawal.item == withdrawal_item(tx_hash(w), bob.address, ETH, 2 * ETHER)
    assert (r.withdrawal.l1_recipient, r.withdrawal.amount) == (bob.address, 2 * ETHER)


def test_rejects_bad_signature(funded, alice, bob) -> None:
    t = sign_transfer(bob, DOMAIN, bob.address, ETH, 1, 0, 0)
    forged = Transfer(alice.address, t.to, t.token, t.amount, t.fee, t.nonce, t.signature)
    e = _rejected(funded, forged, "bad_signature")
    assert alice.address in e.message


def test_rejects_signature_for_another_chain_or_contract(funded, alice, bob) -> None:
    _rejected(
        funded,
        sign_transfer(alice, Domain(1, DOMAIN.verifying_contract), bob.address, ETH, 1, 0, 0),
        "bad_signature",
    )
    _rejected(
        funded,
        sign_transfer(alice, Domain(901, bob.address), bob.address, ETH, 1, 0, 0),
        "bad_signature",
    )


def test_rejects_wrong_nonce(funded, alice, bob) -> None:
    t = sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0)
    funded.apply(t, SEQ)
    e = _rejected(funded, t, "wrong_nonce")  # replay
    assert "expected 1" in e.message
    _rejected(funded, sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 5), "wrong_nonce")


def test_rejects_insufficient_balance_including_fee(funded, alice, bob) -> None:
    _rejected(
        funded, sign_transfer(alice, DOMAIN, bob.address, TOKEN, 1000, 1, 0), "insufficient_balance"
    )
    _rejected(
        funded, sign_withdraw(alice, DOMAIN, bob.address, TOKEN, 1001, 0, 0), "insufficient_balance"
    )
    _rejected(
        funded, sign_transfer(bob, DOMAIN, alice.address, ETH, 1, 0, 0), "insufficient_balance"
    )
    funded.apply(sign_transfer(alice, DOMAIN, bob.address, TOKEN, 999, 1, 0), SEQ)  # exactly all
    assert funded.balance(alice.address, TOKEN) == 0


def test_rejects_zero_amount(funded, alice, bob) -> None:
    _rejected(funded, sign_transfer(alice, DOMAIN, bob.address, ETH, 0, 1, 0), "zero_amount")
    _rejected(funded, sign_withdraw(alice, DOMAIN, bob.address, ETH, 0, 0, 0), "zero_amount")


def test_rejects_malformed(funded, alice, bob) -> None:
    t = sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0)
    _rejected(funded, Transfer(t.sender, t.to, t.token, 1, 0, 0, b"\x01" * 10), "malformed")
    _rejected(funded, Transfer(t.sender, "0xnothex", t.token, 1, 0, 0, t.signature), "malformed")


def test_rejects_deposits_out_of_order(funded, alice) -> None:
    _rejected(funded, Deposit(3, alice.address, alice.address, ETH, 1), "deposit_out_of_order")
    _rejected(funded, Deposit(1, alice.address, alice.address, ETH, 1), "deposit_out_of_order")
    funded.apply(Deposit(2, alice.address, alice.address, ETH, 0))  # zero deposits are consumed
    assert funded.state.next_deposit_id == 3


def test_overflowing_deposit_is_consumed_without_credit(alice, bob) -> None:
    led = Ledger(DOMAIN)
    led.apply(Deposit(0, alice.address, bob.address, TOKEN, 2**256 - 1))
    r = led.apply(Deposit(1, alice.address, bob.address, TOKEN, 1))
    assert r.status == "no_credit" and led.balance(bob.address, TOKEN) == 2**256 - 1
    led.apply(Deposit(2, alice.address, alice.address, TOKEN, 1))
    _rejected(led, sign_transfer(alice, DOMAIN, bob.address, TOKEN, 1, 0, 0), "overflow")


def test_apply_block_is_atomic(funded, alice, bob) -> None:
    root = funded.root
    good = sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0)
    bad = sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0)  # same nonce again
    with pytest.raises(TxRejected, match="block tx 1") as e:
        funded.apply_block([good, bad], SEQ)
    assert e.value.code == "wrong_nonce" and funded.root == root and funded.tx_count == 2
    receipts = funded.apply_block(
        [good, sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 1)], SEQ
    )
    assert [r.index for r in receipts] == [2, 3]


def test_validate_changes_nothing(funded, alice, bob) -> None:
    root = funded.root
    funded.validate(sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0), SEQ)
    assert funded.root == root
    with pytest.raises(TxRejected):
        funded.validate(sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 9), SEQ)


def test_checkpoint_rollback_to_a_batch_boundary(funded, alice, bob) -> None:
    cp = funded.checkpoint()
    root = funded.root
    for n in range(5):
        funded.apply(sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, n), SEQ)
    funded.rollback(cp)
    assert funded.root == root and funded.tx_count == 2 and funded.nonce(alice.address) == 0
    # Proofs still work after rollback.
    p = funded.state.prove(balance_key(bob.address, ETH))
    assert not p.included and verify_proof(funded.root, p) == 0


def _batch(alice, bob) -> tuple[Ledger, BatchData]:
    led = Ledger(DOMAIN)
    txs = [
        Deposit(0, alice.address, alice.address, ETH, 10 * ETHER),
        sign_transfer(alice, DOMAIN, bob.address, ETH, ETHER, 10, 0),
        sign_withdraw(bob, DOMAIN, bob.address, ETH, ETHER // 2, 0, 0),
        sign_transfer(alice, DOMAIN, bob.address, ETH, 3, 1, 1),
    ]
    fees = [SEQ if not isinstance(t, Deposit) else "0x" + "00" * 20 for t in txs]
    receipts = [led.apply(t, f) for t, f in zip(txs, fees, strict=True)]
    return Ledger(DOMAIN), BatchData.from_receipts(txs, receipts)


def test_batch_roots_and_data_roundtrip(alice, bob) -> None:
    _, batch = _batch(alice, bob)
    txs = batch.txs
    mttbr, mtsr, wroot = batch_roots(
        txs, batch.post_roots, batch.withdrawal_items, batch.fee_recipients
    )
    assert mttbr == merkle.root(
        [tx_leaf(t, f) for t, f in zip(txs, batch.fee_recipients, strict=True)]
    )
    assert mtsr == merkle.root(batch.post_roots)
    assert wroot == merkle.root(batch.withdrawal_items)
    assert batch.withdrawal_items[2] != b"\x00" * 32 and batch.withdrawal_items[1] == b"\x00" * 32
    data = encode_batch_data(txs, batch.fee_recipients, batch.post_roots, batch.withdrawal_items)
    assert data == batch.encode()
    back = decode_batch_data(data)
    assert back == batch and back.txs == txs
    with pytest.raises(BatchDataError, match="(?i)zstd|Zstandard"):
        decode_batch_data(b"\x01\x02")


def test_find_fraud_and_build_fraud_proof(alice, bob) -> None:
    genesis, batch = _batch(alice, bob)
    assert find_fraud(genesis.state, DOMAIN, batch) is None
    batch.post_roots[2] = b"\x42" * 32
    assert find_fraud(genesis.state, DOMAIN, batch) == 2
    fp = build_fraud_proof(genesis.state, DOMAIN, batch, 2)
    assert fp.is_fraud and fp.expected_status == "valid"
    assert len(fp.witnesses) == 2  # withdraw, fee 0: nonce + sender balance
    roots = batch.roots()
    assert merkle.verify(roots.mtsr, 2, fp.post_state_root, fp.post_root_proof)
    assert merkle.verify(roots.mtsr, 1, fp.pre_state_root, fp.pre_root_proof or [])
    assert genesis.root == genesis.state.root  # left unchanged


def test_included_invalid_tx_is_fraud(alice, bob) -> None:
    genesis, batch = _batch(alice, bob)
    replay = batch.tx_data[1]
    batch.tx_data.insert(2, replay)
    batch.fee_recipients.insert(2, SEQ)
    batch.post_roots.insert(2, batch.post_roots[1])
    batch.withdrawal_items.insert(2, b"\x00" * 32)
    assert find_fraud(genesis.state, DOMAIN, batch) == 2
    fp = build_fraud_proof(genesis.state, DOMAIN, batch, 2)
    assert fp.expected_status == "wrong_nonce" and len(fp.witnesses) == 1 and fp.is_fraud


def test_forged_deposit_is_fraud_when_bridge_hashes_are_known(alice, bob) -> None:
    genesis, batch = _batch(alice, bob)
    real = {0: b"\x11" * 32}
    assert find_fraud(genesis.state, DOMAIN, batch, real.__getitem__) == 0
    fp = build_fraud_proof(genesis.state, DOMAIN, batch, 0, real.__getitem__)
    assert fp.expected_status == "deposit_mismatch"
