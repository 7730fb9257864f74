"""Differential test of the two standard-transaction decoders (the L1 twin must accept and
refuse exactly the same bytes): wallet-signed transactions of every envelope and kind, each
mutated at random (a byte changed, bytes cut or inserted), executed by the Python ledger with
a witness trace and by ``L2StateTransition.applyTx`` on Anvil from the same pre-state; status,
post-state root and withdrawal item must agree for every mutant."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from offchain.rollup.ledger import ethtx
from offchain.rollup.ledger.fraud import run_step
from offchain.rollup.ledger.ledger import STATUS_CODES, Ledger, StepTrace
from offchain.rollup.ledger.tx import ETH, Deposit, address_of_key, to_checksum
from offchain.rollup.ledger.vectors import (
    TOKEN,
    VECTOR_DOMAIN,
    call_data,
    standard_tx,
)

KEY = b"\x21" * 32
SEQ = to_checksum("0x" + "5e" * 20)
MUTANTS_PER_TX = 40


def _funded() -> tuple[Ledger, str]:
    led = Ledger(VECTOR_DOMAIN)
    a = address_of_key(KEY)
    led.apply(Deposit(0, a, a, ETH, 10**18))
    led.apply(Deposit(1, a, a, TOKEN, 10**6))
    return led, a


def _base_txs(a: str) -> list[bytes]:
    chain = VECTOR_DOMAIN.chain_id
    b = "0x00000000000000000000000000000000000000B0"
    tok = ethtx.l2_token_address(TOKEN)
    wd = ethtx.WITHDRAW_ADDRESS
    return [
        standard_tx(KEY, chain, 0, to=b),
        standard_tx(KEY, chain, 1, to=b, value=0),
        standard_tx(KEY, chain, 2, to=b, data=b""),
        standard_tx(KEY, chain, 2, to=tok, value=0, gas=50_000,
                    data=call_data(ethtx.SELECTOR_TRANSFER, b, 7)),
        standard_tx(KEY, chain, 2, to=wd, value=9, gas=60_000,
                    data=call_data(ethtx.SELECTOR_WITHDRAW, b)),
        standard_tx(KEY, chain, 1, to=wd, value=0, gas=70_000,
                    data=call_data(ethtx.SELECTOR_WITHDRAW_TOKEN, TOKEN, 5, b)),
        # Access lists: mutants hit the entry and key forms and the caps (4 addresses, 16 keys).
        standard_tx(KEY, chain, 2, to=b, accessList=[
            {"address": tok, "storageKeys": ["0x" + "ab" * 32, "0x" + "cd" * 32]},
            {"address": b, "storageKeys": []}]),
        standard_tx(KEY, chain, 1, to=b, accessList=[
            {"address": b, "storageKeys": ["0x" + bytes([i]).hex() * 32 for i in range(4)]}] * 4),
    ]  # fmt: skip


def _mutants(data: bytes, rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(MUTANTS_PER_TX):
        d = bytearray(data)
        pos = rng.randrange(1, len(d))
        op = rng.randrange(4)
        if op == 0:
            d[pos] = rng.randrange(256)
        elif op == 1:
            d[pos] ^= 1 << rng.randrange(8)
        elif op == 2:
            del d[pos : pos + rng.randrange(1, 4)]
        else:
            d[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3)))
        out.append(bytes(d))
    return out


def _l1(harness: Any, led: Ledger, data: bytes, trace: StepTrace) -> tuple[int, bytes, bytes]:
    st = led.state
    pre = (st.tree_root, st.size, st.next_deposit_id)
    ws = [w.to_abi() for w in trace.witnesses]
    d = VECTOR_DOMAIN
    r = harness.functions.applyTx(d.chain_id, d.verifying_contract, pre, data, SEQ, ws).call()
    return int(r[0]), bytes(r[1]), bytes(r[2])


def test_mutated_standard_txs_agree_with_l1(harness) -> None:
    rng = random.Random(17)
    led, a = _funded()
    seen: Counter[str] = Counter()
    for base in _base_txs(a):
        for data in [base, *_mutants(base, rng)]:
            cp = led.checkpoint()
            trace = StepTrace()
            res = run_step(led, data, SEQ, trace, None)
            led.rollback(cp)  # the L1 call starts from the same pre-state
            got = _l1(harness, led, data, trace)
            want = (STATUS_CODES[res.status], res.post_state_root, res.withdrawal_item)
            assert got == want, (data.hex(), res.status, got[0])
            seen[res.status] += 1
    # The mutants reach the decoder's refusals and the state checks, not one path only.
    assert seen["valid"] >= 8
    assert seen["malformed"] >= 20
    assert len(seen) >= 5, seen
