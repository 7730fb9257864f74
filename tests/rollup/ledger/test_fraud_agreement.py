"""Property test on Anvil: for random batches, L1's verdict on any step equals Python's.

Honest steps are never fraud; a forged post-state root, a forged withdrawal item or an
included invalid transaction at a random step is proven fraud with Python's status.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger.batch_data import BatchData
from offchain.rollup.ledger.fraud import batch_ref, build_fraud_proof
from offchain.rollup.ledger.ledger import STATUS_CODES, Ledger, TxRejected
from offchain.rollup.ledger.state import State
from offchain.rollup.ledger.tx import (
    ETH,
    Deposit,
    Domain,
    deposit_hash,
    encode_tx,
    sign_transfer,
    sign_withdraw,
)

DOMAIN = Domain(901, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
TOKEN = "0x1000000000000000000000000000000000000001"
ACCOUNTS = [dev_account(20 + i) for i in range(3)]
SEQS = [dev_account(30).address, dev_account(31).address]


user_op = st.tuples(
    st.sampled_from(["transfer", "withdraw"]),
    st.integers(0, 2),
    st.integers(0, 2),
    st.sampled_from([ETH, TOKEN]),
    st.integers(1, 500),
    st.integers(0, 9),
    st.integers(0, 1),
)


def _build(ops: list[tuple[Any, ...]]) -> tuple[BatchData, dict[int, bytes]]:
    """Deposits funding everyone, then the ops that apply (rejected ones are skipped)."""
    led = Ledger(DOMAIN)
    txs, fees, receipts = [], [], []
    deposits: dict[int, bytes] = {}
    for i, acct in enumerate(ACCOUNTS * 2):
        d = Deposit(i, acct.address, acct.address, ETH if i < 3 else TOKEN, 1000)
        deposits[i] = deposit_hash(d)
        txs.append(d)
        fees.append("0x" + "00" * 20)
        receipts.append(led.apply(d))
    for kind, frm, to, token, amount, fee, seq in ops:
        acct = ACCOUNTS[frm]
        sign = sign_transfer if kind == "transfer" else sign_withdraw
        tx = sign(acct, DOMAIN, ACCOUNTS[to].address, token, amount, fee, led.nonce(acct.address))
        try:
            receipts.append(led.apply(tx, SEQS[seq]))
        except TxRejected:
            continue
        txs.append(tx)
        fees.append(SEQS[seq])
    return BatchData.from_receipts(txs, receipts), deposits


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(user_op, min_size=1, max_size=8),
    pick=st.integers(0, 10**6),
    fault=st.sampled_from(["none", "root", "withdrawal", "replay"]),
)
def test_l1_verdict_equals_python(chain, sender, owner, ops, pick, fault) -> None:
    batch, deposits = _build(ops)
    s = sender(owner)
    h = s.deploy("L2StateTransitionHarness")
    for i, item in deposits.items():
        s.send(h.functions.setDepositHash(i, item))
    step = pick % len(batch)
    if fault == "root":
        batch.post_roots[step] = b"\x13" * 32
    elif fault == "withdrawal":
        batch.withdrawal_items[step] = b"\x14" * 32
    elif fault == "replay":
        # Re-include the first deposit at `step` (a replayed deposit id), claiming no change.
        batch.tx_data.insert(step, encode_tx(batch.txs[0]))
        batch.fee_recipients.insert(step, SEQS[0])
        prev = batch.post_roots[step - 1] if step > 0 else State().root
        batch.post_roots.insert(step, prev)
        batch.withdrawal_items.insert(step, b"\x00" * 32)
    genesis = State()
    fp = build_fraud_proof(genesis, DOMAIN, batch, step, deposits.__getitem__)
    assert fp.is_fraud == (fault != "none")
    ref = batch_ref(batch, genesis.root)
    fraud, result = h.functions.proveStep(
        DOMAIN.chain_id, DOMAIN.verifying_contract, ref, fp.to_abi()
    ).call()
    assert fraud == fp.is_fraud
    assert result[0] == STATUS_CODES[fp.expected_status]
    assert bytes(result[1]) == fp.expected_post_state_root
    assert bytes(result[2]) == fp.expected_withdrawal_item
