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
    """Solidity ``struct Withdrawal`` (contracts/bridge/L1Bridge.sol).

    Attributes:
        l2_sender: L2 account that withdrew.
        recipient: L1 address paid.
        token: L1 token (``ETH`` = address(0)).
        amount: smallest units.
        nonce: the L2 sender's nonce of the withdraw transaction.
    """

    l2_sender: str
    recipient: str
    token: str
    amount: int
    nonce: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            to_checksum_address(self.l2_sender),
            to_checksum_address(self.recipient),
            to_checksum_address(self.token),
            self.amount,
            self.nonce,
        )

    def item(self) -> bytes:
        """keccak256(abi.encode(withdrawal)): its Merkle item in the batch's withdrawal root."""
        return keccak(abi_encode(["(address,address,address,uint256,uint256)"], [self.as_tuple()]))

    def replay_key(self, batch_index: int, tx_index: int) -> bytes:
        """L1Bridge.withdrawalHash: keccak256(abi.encode(batchIndex, txIndex, item))."""
        return keccak(abi_encode(["uint256", "uint256", "bytes32"], [batch_index, tx_index, self.item()]))
