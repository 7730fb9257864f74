"""Deposits and withdrawals as L1Bridge.sol encodes them (docs/spec.md, "Rollup batches")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from offchain.common.hashing import keccak

ETH = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Deposit:
    """A ``DepositQueued`` event of L1Bridge.sol.

    Attributes:
        deposit_id: position in the queue (0, 1, ...): stable id.
        sender: L1 account that deposited.
        l2_recipient: L2 account credited.
        token: L1 token address (``ETH`` = address(0)).
        amount: smallest units.
        rolling_hash: queue hash after this deposit.
        block_number: L1 block of the deposit.
    """

    deposit_id: int
    sender: str
    l2_recipient: str
    token: str
    amount: int
    rolling_hash: bytes = b""
    block_number: int = 0

    def item(self) -> bytes:
        """keccak256(abi.encode(depositId, sender, l2Recipient, token, amount))."""
        return keccak(
            abi_encode(
                ["uint256", "address", "address", "address", "uint256"],
                [
                    self.deposit_id,
                    to_checksum_address(self.sender),
                    to_checksum_address(self.l2_recipient),
                    to_checksum_address(self.token),
                    self.amount,
                ],
            )
        )

    def next_rolling_hash(self, prev: bytes) -> bytes:
        """keccak256(abi.encode(prev, item)): the queue hash after this deposit."""
        return keccak(prev + self.item())


@dataclass(frozen=True)
class Withdrawal:
    """Solidity ``struct Withdrawal`` (contracts/bridge/L1Bridge.sol; docs/spec.md "L2 ledger").

    Attributes:
        tx_hash: keccak256 of the Withdraw transaction's encoding.
        recipient: L1 address paid.
        token: L1 token (``ETH`` = address(0)).
        amount: smallest units.
    """

    tx_hash: bytes
    recipient: str
    token: str
    amount: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.tx_hash,
            to_checksum_address(self.recipient),
            to_checksum_address(self.token),
            self.amount,
        )

    def item(self) -> bytes:
        """keccak256(abi.encode(txHash, recipient, token, amount)): its withdrawal-root item."""
        return keccak(
            abi_encode(["bytes32", "address", "address", "uint256"], list(self.as_tuple()))
        )

    def replay_key(self) -> bytes:
        """L1Bridge.withdrawalHash: the item (unique per L2 transaction); paid at most once."""
        return self.item()
