"""Forced transactions (kind 0x04): Python execution, and L1's verdict on them equals Python's.

A forced item consumes its queue position like a deposit; an invalid user tx inside gets a
failed receipt and changes nothing else; skipping it, reordering it, or executing it wrongly
is provable fraud on L1 (L2StateTransitionHarness with the bridge's queue items).
"""

from __future__ import annotations

import pytest

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.fraud import batch_ref, build_fraud_proof
from offchain.rollup.ledger.ledger import STATUS_CODES, Ledger, Receipt, TxRejected
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import (
    ETH,
    Deposit,
    Domain,
    Forced,
    L2Tx,
    decode_tx,
    deposit_hash,
    encode_tx,
    forced_item,
    sign_transfer,
    sign_withdraw,
    tx_from_json,
    tx_to_json,
)

DOMAIN = Domain(901, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
ALICE, BOB = dev_account(20), dev_account(21)
SEQ = dev_account(30).address
OTHER = Domain(902, DOMAIN.verifying_contract)


def _funded() -> tuple[Ledger, list[L2Tx], list[Receipt]]:
    led = Ledger(DOMAIN)
    d = Deposit(0, ALICE.address, ALICE.address, ETH, 1000)
    return led, [d], [led.apply(d)]


def test_forced_encoding_round_trips() -> None:
    inner = sign_transfer(ALICE, DOMAIN, BOB.address, ETH, 5, 1, 0)
    f = Forced(7, inner)
    data = encode_tx(f)
    assert len(data) == 322 and data[0] == 4 and data[33:] == encode_tx(inner)
    assert decode_tx(data) == f
    assert tx_from_json(tx_to_json(f)) == f
    with pytest.raises(TxRejected) as e:
        decode_tx(data[:-1])
    assert e.value.code == "malformed"
    with pytest.raises(TxRejected):
        decode_tx(data[:33] + encode_tx(Deposit(0, ALICE.address, ALICE.address, ETH, 1)))


def test_valid_forced_transfer_applies_and_consumes_queue_position() -> None:
    led, _, _ = _funded()
    r = led.apply(Forced(1, sign_transfer(ALICE, DOMAIN, BOB.address, ETH, 5, 2, 0)), SEQ)
    assert r.status == "applied" and r.error is None
    assert led.balance(BOB.address) == 5 and led.balance(SEQ) == 2
    assert led.balance(ALICE.address) == 993 and led.nonce(ALICE.address) == 1
    assert led.state.next_deposit_id == 2


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: sign_transfer(BOB, DOMAIN, ALICE.address, ETH, 5, 1, 0), "insufficient_balance"),
        (lambda: sign_transfer(ALICE, DOMAIN, BOB.address, ETH, 5, 1, 3), "wrong_nonce"),
        (lambda: sign_transfer(ALICE, OTHER, BOB.address, ETH, 5, 1, 0), "bad_signature"),
    ],
)
def test_invalid_forced_tx_gets_failed_receipt_and_changes_nothing_else(make, code) -> None:
    led, _, _ = _funded()
    before = (led.balance(ALICE.address), led.nonce(ALICE.address), led.state.tree_root)
    r = led.apply(Forced(1, make()), SEQ)
    assert (r.status, r.error) == ("failed", code)
    assert (led.balance(ALICE.address), led.nonce(ALICE.address), led.state.tree_root) == before
    assert led.state.next_deposit_id == 2


def test_forced_out_of_order_is_rejected() -> None:
    led, _, _ = _funded()
    with pytest.raises(TxRejected) as e:
        led.apply(Forced(5, sign_transfer(ALICE, DOMAIN, BOB.address, ETH, 5, 1, 0)), SEQ)
    assert e.value.code == "forced_out_of_order"
    assert led.state.next_deposit_id == 1


def _batch(forced: Forced) -> tuple[BatchData, dict[int, bytes], dict[int, bytes]]:
    led, txs, receipts = _funded()
    txs.append(forced)
    receipts.append(led.apply(forced, SEQ))
    batch = BatchData.from_receipts(txs, receipts)
    batch.fee_recipients[1] = SEQ
    return batch, {0: deposit_hash(txs[0])}, {1: forced_item(forced)}  # type: ignore[arg-type]


CASES = {
    "transfer": lambda: Forced(1, sign_transfer(ALICE, DOMAIN, BOB.address, ETH, 5, 2, 0)),
    "withdraw": lambda: Forced(1, sign_withdraw(ALICE, DOMAIN, BOB.address, ETH, 7, 1, 0)),
    "overdraft": lambda: Forced(1, sign_transfer(ALICE, DOMAIN, BOB.address, ETH, 5000, 1, 0)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fault", ["none", "skip_effects", "apply_failed", "unqueued"])
def test_l1_verdict_on_forced_step_equals_python(chain, sender, owner, case, fault) -> None:
    forced = CASES[case]()
    batch, deposits, items = _batch(forced)
    pre = State()
    Ledger(DOMAIN, pre).apply(Deposit(0, ALICE.address, ALICE.address, ETH, 1000))
    if fault == "skip_effects":  # claim a failed receipt (only the queue position moved)
        pre.next_deposit_id = 2
        batch.post_roots[1] = pre.root
        batch.withdrawal_items[1] = b"\x00" * 32
    elif fault == "apply_failed":  # claim effects for a tx that must fail (or double them)
        batch.post_roots[1] = b"\x21" * 32
    elif fault == "unqueued":  # a forced item L1 never queued
        items = {}
    s = sender(owner)
    h = s.deploy("L2StateTransitionHarness")
    s.send(h.functions.setDepositHash(0, deposits[0]))
    for q, item in items.items():
        s.send(h.functions.setQueueItem(q, item))
    fp = build_fraud_proof(
        State(), DOMAIN, batch, 1, deposits.__getitem__, lambda q, it: items.get(q) == it
    )
    honest = fault == "none" or (fault == "skip_effects" and case == "overdraft")
    assert fp.is_fraud == (not honest)
    ref = batch_ref(batch, State().root)
    fraud, result = h.functions.proveStep(
        DOMAIN.chain_id, DOMAIN.verifying_contract, ref, fp.to_abi()
    ).call()
    assert fraud == fp.is_fraud
    assert result[0] == STATUS_CODES[fp.expected_status]
    assert bytes(result[1]) == fp.expected_post_state_root
    assert bytes(result[2]) == fp.expected_withdrawal_item
    if fault == "unqueued":
        assert fp.expected_status == "forced_mismatch"
