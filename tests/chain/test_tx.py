"""TxSender: nonces, receipts, decoded reverts."""

from __future__ import annotations

import pytest

from offchain.errors import TxReverted


def test_custom_error_is_decoded_with_args(chain, sender, owner) -> None:
    s = sender(owner)
    c = s.deploy("Reverter")
    with pytest.raises(TxReverted) as e:
        s.send(c.functions.failCustom(42))
    assert e.value.error_name == "ReverterCustom"
    assert e.value.error_args == (owner.address, 42)
    assert "ReverterCustom(who=" in str(e.value) and "amount=42" in str(e.value)


def test_revert_string_is_decoded(chain, sender, owner) -> None:
    s = sender(owner)
    c = s.deploy("Reverter")
    with pytest.raises(TxReverted, match="Reverter: plain reason"):
        s.send(c.functions.failString())


def test_nonces_are_owned_and_sequential(chain, sender, owner) -> None:
    s = sender(owner)
    c = s.deploy("Reverter")
    start = chain.w3.eth.get_transaction_count(owner.address)
    pending = [s.send(c.functions.poke(), wait=False) for _ in range(5)]
    receipts = [s.wait(p) for p in pending]  # type: ignore[arg-type]
    assert [p.nonce for p in pending] == list(range(start, start + 5))  # type: ignore[union-attr]
    assert all(r["status"] == 1 for r in receipts)
    assert c.functions.pokes().call() == 5


def test_revert_does_not_consume_a_nonce(chain, sender, owner) -> None:
    s = sender(owner)
    c = s.deploy("Reverter")
    before = chain.w3.eth.get_transaction_count(owner.address)
    with pytest.raises(TxReverted) as e:
        s.send(c.functions.failCustom(1))
    assert (e.value.error_name, e.value.error_args) == ("ReverterCustom", (owner.address, 1))
    s.send(c.functions.poke())
    assert chain.w3.eth.get_transaction_count(owner.address) == before + 1


def test_any_signer_with_address_and_raw_bytes_works(chain, alice) -> None:
    """TxSender accepts a Signer that returns raw bytes (what ApeSigner does)."""
    from offchain.chain.tx import Signer, TxSender

    class RawSigner:
        def __init__(self, acct) -> None:  # type: ignore[no-untyped-def]
            self.acct = acct
            self.signed = 0

        @property
        def address(self) -> str:
            return str(self.acct.address).lower()  # not checksummed on purpose

        def sign_transaction(self, tx: dict) -> bytes:  # type: ignore[type-arg]
            assert "from" not in tx
            self.signed += 1
            return bytes(self.acct.sign_transaction(tx).raw_transaction)

    signer = RawSigner(alice)
    assert isinstance(signer, Signer)
    s = TxSender(chain.w3, signer, chain.artifacts)
    assert s.address == alice.address
    c = s.deploy("Reverter")
    rcpt = s.send(c.functions.poke())
    assert rcpt["from"] == alice.address and signer.signed == 2  # type: ignore[index]


def test_a_send_the_node_already_has_is_sent_once(chain, sender, owner) -> None:
    """An HTTP-level retry of eth_sendRawTransaction under load reaches the node twice: the
    second answer is "already imported", which means sent (one transaction, its receipt
    awaited), never a failed send and never a second transaction."""
    s = sender(owner)
    c = s.deploy("Reverter")
    real = s.w3.eth.send_raw_transaction
    chain.rpc("evm_setAutomine", False)
    try:
        s.w3.eth.send_raw_transaction = lambda raw: (real(raw), real(raw))[1]  # type: ignore[method-assign]
        sent = s.send(c.functions.poke(), wait=False)
        s.w3.eth.send_raw_transaction = real  # type: ignore[method-assign]
        chain.rpc("evm_mine")
    finally:
        chain.rpc("evm_setAutomine", True)
    rc = s.wait(sent)  # type: ignore[arg-type]
    assert rc["status"] == 1 and c.functions.pokes().call() == 1
