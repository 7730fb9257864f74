"""Sign l2kit's raw transactions with an ape account (test account, keyfile alias, hardware...).

:class:`~offchain.chain.tx.TxSender` builds plain web3 transaction dicts; an ape account signs
ape ``TransactionAPI`` objects. :class:`ApeSigner` converts one into the other, so the same
deploy plan and agents run with any account ape manages (``ape accounts``).
"""

from __future__ import annotations

from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from offchain.errors import TxError

# web3 key -> ape TransactionAPI field
_FIELDS = {
    "chainId": "chain_id",
    "nonce": "nonce",
    "gas": "gas_limit",
    "to": "receiver",
    "value": "value",
    "data": "data",
    "maxFeePerGas": "max_fee",
    "maxPriorityFeePerGas": "max_priority_fee",
    "gasPrice": "gas_price",
    "type": "type",
}


class ApeSigner:
    """A :class:`~offchain.chain.tx.Signer` over an ape ``AccountAPI``.

    Args:
        account: e.g. ``ape.accounts.test_accounts[0]`` or ``ape.accounts.load("deployer")``.
    """

    def __init__(self, account: Any) -> None:
        self.account = account

    @property
    def address(self) -> ChecksumAddress:
        return Web3.to_checksum_address(str(self.account.address))

    def sign_transaction(self, transaction_dict: dict[str, Any]) -> bytes:
        """Sign ``transaction_dict`` (web3 keys) and return the raw signed transaction.

        Raises:
            TxError: the account refused to sign (e.g. a wrong passphrase).
        """
        from ape import chain

        fields: dict[str, Any] = {"sender": self.address}
        for key, value in transaction_dict.items():
            if key in _FIELDS and value is not None:
                fields[_FIELDS[key]] = value
        if isinstance(fields.get("data"), str):
            fields["data"] = bytes.fromhex(fields["data"].removeprefix("0x"))
        if fields.get("receiver") is None:
            fields.pop("receiver", None)  # contract creation
        txn = chain.provider.network.ecosystem.create_transaction(**fields)
        signed = self.account.sign_transaction(txn)
        if signed is None or signed.signature is None:
            raise TxError(f"ape account {self.account.alias or self.address} did not sign")
        return bytes(signed.serialize_transaction())
