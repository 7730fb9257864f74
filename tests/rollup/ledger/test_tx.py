"""Transactions: encodings, EIP-712 signatures (checked against eth_account), JSON form."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger.tx import (
    DEPOSIT_LEN,
    ETH,
    USER_TX_LEN,
    Deposit,
    Domain,
    Transfer,
    Withdraw,
    decode_tx,
    encode_tx,
    recover_signer,
    sign_transfer,
    sign_withdraw,
    signing_digest,
    tx_from_json,
    tx_hash,
    tx_to_json,
    typed_data,
)

DOMAIN = Domain(901, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
TOKEN = "0x1000000000000000000000000000000000000001"


def test_encodings_roundtrip_with_fixed_lengths(alice, bob) -> None:
    t = sign_transfer(alice, DOMAIN, bob.address, TOKEN, 5, 1, 0)
    w = sign_withdraw(alice, DOMAIN, bob.address, ETH, 5, 0, 1)
    d = Deposit(3, alice.address, bob.address, ETH, 10**18)
    for tx, n in ((t, USER_TX_LEN), (w, USER_TX_LEN), (d, DEPOSIT_LEN)):
        data = encode_tx(tx)
        assert len(data) == n and decode_tx(data) == tx
        assert tx_hash(tx) == tx_hash(decode_tx(data))
    assert encode_tx(t)[0] == 1 and encode_tx(w)[0] == 2 and encode_tx(d)[0] == 0


def test_signature_matches_eth_account_typed_data(alice, bob) -> None:
    """A wallet's eth_signTypedData_v4 signature is accepted, and ours is the same."""
    for tx in (
        sign_transfer(alice, DOMAIN, bob.address, TOKEN, 123, 4, 7),
        sign_withdraw(alice, DOMAIN, bob.address, ETH, 9, 0, 0),
    ):
        msg = encode_typed_data(full_message=typed_data(tx, DOMAIN))
        wallet_sig = Account.sign_message(msg, alice.key).signature
        assert bytes(wallet_sig) == tx.signature  # RFC 6979: deterministic
        assert Account.recover_message(msg, signature=tx.signature) == alice.address
        assert recover_signer(tx, DOMAIN) == alice.address
        assert bytes(msg.header) == DOMAIN.separator
        wallet_digest = keccak(b"\x19" + msg.version + msg.header + msg.body)
        assert signing_digest(tx, DOMAIN) == wallet_digest


def test_other_domain_recovers_someone_else(alice, bob) -> None:
    t = sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0)
    assert recover_signer(t, Domain(902, DOMAIN.verifying_contract)) != alice.address
    assert recover_signer(t, Domain(901, bob.address)) != alice.address


def test_invalid_signature_shapes_recover_nothing(alice, bob) -> None:
    t = sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0)
    sig = t.signature
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
    for bad in (
        sig[:64] + b"\x00",  # v not 27/28
        b"\x00" * 32 + sig[32:],  # r = 0
        n.to_bytes(32, "big") + sig[32:],  # r = n
        sig[:32] + high_s + bytes([55 - sig[64]]),  # malleated high-s twin
    ):
        forged = Transfer(t.sender, t.to, t.token, t.amount, t.fee, t.nonce, bad)
        assert recover_signer(forged, DOMAIN) is None


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: b"", "empty"),
        (lambda d: d[:-1], "289 bytes"),
        (lambda d: d + b"\x00", "289 bytes"),
        (lambda d: b"\x09" + d[1:], "unknown transaction kind"),
        (lambda d: d[:1] + b"\x01" + d[2:], "from word"),
        (lambda d: d[:193] + b"\x01" + d[194:], "v word"),
    ],
)
def test_malformed_encodings_are_rejected(alice, bob, mutate, match) -> None:
    data = encode_tx(sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0))
    with pytest.raises(TxRejected, match=match) as e:
        decode_tx(mutate(data))
    assert e.value.code == "malformed"


def test_encoding_rejects_out_of_range_fields(alice, bob) -> None:
    t = sign_transfer(alice, DOMAIN, bob.address, ETH, 1, 0, 0)
    for bad in (
        Transfer(t.sender, t.to, t.token, -1, 0, 0, t.signature),
        Transfer(t.sender, t.to, t.token, 2**256, 0, 0, t.signature),
        Transfer(t.sender, "0x1234", t.token, 1, 0, 0, t.signature),
        Transfer(t.sender, t.to, t.token, 1, 0, 0, t.signature[:64]),
    ):
        with pytest.raises(TxRejected) as e:
            encode_tx(bad)
        assert e.value.code == "malformed"


def test_json_roundtrip_and_wrong_chain(alice, bob) -> None:
    t = sign_transfer(alice, DOMAIN, bob.address, ETH, 10, 1, 2)
    w = sign_withdraw(alice, DOMAIN, bob.address, TOKEN, 10, 1, 3)
    d = Deposit(1, alice.address, bob.address, ETH, 5)
    for tx in (t, w, d):
        assert tx_from_json(tx_to_json(tx), DOMAIN) == tx
    with pytest.raises(TxRejected) as e:
        tx_from_json({**tx_to_json(t), "chainId": 1}, DOMAIN)
    assert e.value.code == "wrong_chain" and "chain 1" in e.value.message
    assert tx_from_json({**tx_to_json(t), "chainId": "0x385"}, DOMAIN) == t
    for bad in (
        {"type": "mint"},
        {**tx_to_json(t), "amount": "ten"},
        [],
        {**tx_to_json(t), "signature": "0x12"},
    ):
        with pytest.raises(TxRejected) as e:
            tx_from_json(bad, DOMAIN)
        assert e.value.code == "malformed"


def test_dev_accounts_sign_with_raw_keys_too() -> None:
    acct = dev_account(12)
    a = sign_transfer(acct, DOMAIN, acct.address, ETH, 1, 0, 0)
    b = sign_transfer(bytes(acct.key), DOMAIN, acct.address, ETH, 1, 0, 0)
    assert a == b
    assert isinstance(sign_withdraw(acct, DOMAIN, acct.address, ETH, 1, 0, 0), Withdraw)
