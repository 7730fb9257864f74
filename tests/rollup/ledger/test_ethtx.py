"""Standard Ethereum transactions (ledger kind 0x03) signed by eth-account, as a wallet does.

Every check of docs/spec.md "Standard transactions" is tried with the bytes a wallet (or an
attacker) can produce; a refused transaction leaves the ledger unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_account import Account

from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger import ethtx
from offchain.rollup.ledger.ledger import Ledger
from offchain.rollup.ledger.tx import ETH, Deposit, Domain, decode_tx, encode_tx, tx_hash
from offchain.rollup.ledger.vectors import standard_tx

CHAIN = 71049
DOMAIN = Domain(CHAIN, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
TOKEN = "0x1000000000000000000000000000000000000001"
ALICE = Account.from_key(b"\x11" * 32)
BOB = "0x00000000000000000000000000000000000000B0"
SEQ = "0x5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E"
GWEI = 10**9
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def sign(tx_type: int = 2, key: bytes = ALICE.key, **fields: Any) -> bytes:
    """A transaction signed by eth-account (the client library wallets use), as sent to
    eth_sendRawTransaction: an ETH transfer of 5 wei to BOB unless ``fields`` say otherwise."""
    return standard_tx(key, CHAIN, tx_type, **fields)[1:]


def transfer_data(to: str, amount: int) -> bytes:
    return ethtx.SELECTOR_TRANSFER + bytes(12) + bytes.fromhex(to[2:]) + amount.to_bytes(32, "big")


def funded() -> Ledger:
    led = Ledger(DOMAIN)
    led.apply(Deposit(0, ALICE.address, ALICE.address, ETH, 10**18))
    led.apply(Deposit(1, ALICE.address, ALICE.address, TOKEN, 1000))
    return led


def apply(led: Ledger, raw: bytes) -> Any:
    return led.apply(decode_tx(b"\x03" + raw), SEQ)


def rejected(led: Ledger, raw: bytes) -> str:
    root, count = led.root, led.tx_count
    with pytest.raises(TxRejected) as e:
        apply(led, raw)
    assert (led.root, led.tx_count) == (root, count)  # nothing changed
    return e.value.code


@pytest.mark.parametrize("tx_type", [0, 1, 2])
def test_eth_transfer_each_envelope(tx_type: int) -> None:
    led = funded()
    raw = sign(tx_type)
    t = ethtx.decode_standard_tx(raw, CHAIN)
    assert t.sender == ALICE.address and t.tx_type == tx_type
    r = apply(led, raw)
    price = 2 * GWEI  # types 0, 1: gasPrice; type 2: min(3 gwei, base 1 + tip 1 gwei)
    assert (r.gas_used, r.effective_gas_price) == (21_000, price)
    assert led.balance(BOB) == 5
    assert led.balance(SEQ) == 21_000 * price
    assert led.balance(ALICE.address) == 10**18 - 5 - 21_000 * price
    assert led.nonce(ALICE.address) == 1
    assert r.tx_hash == t.hash == tx_hash(t)
    assert encode_tx(t) == b"\x03" + raw


def test_hash_is_the_ethereum_hash() -> None:
    signed = Account.sign_transaction(
        {"nonce": 0, "gas": 21_000, "to": BOB, "value": 1, "chainId": CHAIN, "gasPrice": GWEI},
        ALICE.key,
    )
    assert ethtx.parse_standard_tx(bytes(signed.raw_transaction)).hash == bytes(signed.hash)


def test_token_transfer_and_withdrawals() -> None:
    led = funded()
    l2tok = ethtx.l2_token_address(TOKEN)
    assert ethtx.l1_token_of(l2tok) == TOKEN
    r = apply(led, sign(to=l2tok, value=0, gas=50_000, data=transfer_data(BOB, 10)))
    assert r.gas_used == 50_000 and r.withdrawal is None
    assert led.balance(BOB, TOKEN) == 10 and led.balance(ALICE.address, TOKEN) == 990
    wd = ethtx.SELECTOR_WITHDRAW + bytes(12) + bytes.fromhex(BOB[2:])
    r = apply(led, sign(nonce=1, to=ethtx.WITHDRAW_ADDRESS, value=7, gas=60_000, data=wd))
    assert r.withdrawal is not None and (r.withdrawal.token, r.withdrawal.amount) == (ETH, 7)
    assert r.withdrawal.l1_recipient == BOB
    wt = (
        ethtx.SELECTOR_WITHDRAW_TOKEN
        + bytes(12)
        + bytes.fromhex(TOKEN[2:])
        + (100).to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(BOB[2:])
    )
    r = apply(led, sign(nonce=2, to=ethtx.WITHDRAW_ADDRESS, value=0, gas=70_000, data=wt))
    assert r.withdrawal is not None and (r.withdrawal.token, r.withdrawal.amount) == (TOKEN, 100)
    assert led.balance(ALICE.address, TOKEN) == 890


def test_value_zero_transfer_is_valid() -> None:
    led = funded()
    apply(led, sign(value=0))
    assert led.nonce(ALICE.address) == 1


def test_every_bad_input_is_refused_with_its_code() -> None:
    led = funded()
    l2tok = ethtx.l2_token_address(TOKEN)
    assert rejected(led, sign(chainId=1)) == "wrong_chain"
    pre155 = Account.sign_transaction(
        {"nonce": 0, "gas": 21_000, "to": BOB, "value": 1, "gasPrice": GWEI}, ALICE.key
    )
    assert rejected(led, bytes(pre155.raw_transaction)) == "wrong_chain"
    assert rejected(led, sign(nonce=1)) == "wrong_nonce"
    assert rejected(led, sign(value=10**18)) == "insufficient_balance"
    assert rejected(led, sign(gas=20_999)) == "intrinsic_gas"
    assert rejected(led, sign(maxFeePerGas=GWEI - 1, maxPriorityFeePerGas=0)) == "underpriced"
    assert rejected(led, sign(0, gasPrice=GWEI - 1)) == "underpriced"
    assert rejected(led, sign(to=b"", data=b"\x60\x00", gas=100_000)) == "unsupported"
    assert rejected(led, sign(data=b"\x12\x34\x56\x78")) == "unsupported"
    token_call = transfer_data(BOB, 1)
    assert rejected(led, sign(to=l2tok, value=1, gas=50_000, data=token_call)) == "unsupported"
    assert rejected(led, sign(to=l2tok, value=0, gas=50_000, data=token_call + b"\x00")) == (
        "unsupported"
    )
    al = [{"address": BOB, "storageKeys": []}]
    assert rejected(led, sign(accessList=al * 5)) == "unsupported"  # over the caps
    al17 = [{"address": BOB, "storageKeys": ["0x" + "11" * 32] * 17}]
    assert rejected(led, sign(accessList=al17)) == "unsupported"
    assert rejected(led, sign(to=ethtx.WITHDRAW_ADDRESS, gas=60_000)) == "unsupported"
    wd0 = ethtx.SELECTOR_WITHDRAW + bytes(12) + bytes.fromhex(BOB[2:])
    assert rejected(led, sign(to=ethtx.WITHDRAW_ADDRESS, value=0, gas=60_000, data=wd0)) == (
        "zero_amount"
    )
    assert rejected(led, b"\x03" + sign()[1:]) == "unsupported"  # EIP-4844 envelope
    assert rejected(led, b"\x04" + sign()[1:]) == "unsupported"  # EIP-7702 envelope
    good = sign()
    assert rejected(led, good + b"\x00") == "malformed"
    assert rejected(led, good[:-1]) == "malformed"
    assert rejected(led, b"") == "malformed"
    assert rejected(led, b"\x80") == "malformed"
    # Non-canonical integer: nonce 0 written as the single byte 0x00.
    items = rlp.decode(good[1:])
    items[1] = b"\x00"
    assert rejected(led, b"\x02" + rlp.encode(items)) == "malformed"
    # High-s (the same signature mirrored) and r = 0: bad signature.
    items = rlp.decode(good[1:])
    s = int.from_bytes(items[-1], "big")
    items[-1] = (N - s).to_bytes(32, "big")
    items[-3] = b"" if items[-3] == b"\x01" else b"\x01"
    assert rejected(led, b"\x02" + rlp.encode(items)) == "bad_signature"
    items = rlp.decode(good[1:])
    items[-2] = b""
    assert rejected(led, b"\x02" + rlp.encode(items)) == "bad_signature"


def test_replay_is_refused() -> None:
    led = funded()
    raw = sign()
    apply(led, raw)
    assert rejected(led, raw) == "wrong_nonce"


def test_non_canonical_rlp_headers_are_malformed() -> None:
    good = sign(0)
    body = good  # legacy: the list itself
    # Long list form for a payload < 56 bytes is impossible here (payload > 56), so re-wrap
    # the list with one more length byte (leading zero) and with a long form of the short 'to'.
    n = len(body) - 2  # 0xf8 LL
    assert body[0] == 0xF8
    padded = bytes([0xF9, 0x00, n]) + body[2:]
    with pytest.raises(TxRejected) as e:
        ethtx.parse_standard_tx(padded)
    assert e.value.code == "malformed"
    # A one-byte string below 0x80 written with a 0x81 prefix (nonce 5 as 0x81 0x05).
    items = rlp.decode(good)
    items[0] = b"\x05"
    raw = rlp.encode(items)
    i = raw.index(b"\x05")
    forged = raw[:i] + b"\x81\x05" + raw[i + 1 :]
    forged = bytes([forged[0], forged[1] + 1]) + forged[2:]
    with pytest.raises(TxRejected) as e:
        ethtx.parse_standard_tx(forged)
    assert e.value.code == "malformed"
