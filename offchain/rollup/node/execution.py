"""The node's view of the L2 ledger: raw transactions in, roots and receipts out.

This is the only module of the daemons that talks to :mod:`offchain.rollup.ledger.ledger` /
:mod:`offchain.rollup.ledger.tx` (docs/spec.md, "L2 ledger"): it decodes encoded transactions,
applies them with the right fee recipient (the block's producer; ``address(0)`` for
deposits), converts ``TxRejected`` into :class:`~offchain.rollup.node.errors.TxInvalid`
and exposes what the node, the batcher and the verifier need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offchain.common.hashing import keccak
from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger import ledger as lg
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.ethtx import StandardTx
from offchain.rollup.node.errors import TxInvalid

ZERO_ADDRESS = "0x" + "00" * 20
KIND_DEPOSIT = 0


@dataclass(frozen=True)
class Applied:
    """One executed transaction.

    Attributes:
        tx_hash: the txHash (keccak256 of the encoding; of ``raw`` for a standard tx).
        leaf: its MTTBR item ``H(abi.encode(H(encoding), feeRecipient))`` (for a standard tx
            the encoding is ``0x03 ‖ raw``: not its txHash).
        post_root: state root after it.
        withdrawal_item: its withdrawal-root item (zero unless a Withdraw).
        fee_recipient: who got its fee.
        sender: lower-case address of the user who signed it ("" for a deposit).
        status: receipt status: ``success``, or ``failed`` for a forced tx that was invalid
            at its queue position (consumed, nothing else changed).
        detail: for a failed forced tx, the ledger code of its user tx (``wrong_nonce``...).
    """

    tx_hash: bytes
    leaf: bytes
    post_root: bytes
    withdrawal_item: bytes
    fee_recipient: str
    sender: str = ""
    status: str = "success"
    detail: str = ""


@dataclass(frozen=True)
class ExecCheckpoint:
    """A position to roll the executor back to: the ledger's and the token supplies."""

    state: Any
    supply: dict[str, int]


class Executor:
    """A ledger at genesis plus the helpers the daemons need.

    Args:
        chain_id: the L2 chain id (EIP-712 domain).
        verifying_contract: the L1 StateCommitment address (EIP-712 domain).
    """

    def __init__(
        self, chain_id: int = ltx.DEFAULT_L2_CHAIN_ID, verifying_contract: str = ZERO_ADDRESS
    ) -> None:
        self.domain = ltx.Domain(chain_id, ltx.to_checksum(verifying_contract))
        self.ledger = lg.Ledger(self.domain)
        # L2 supply of every token ever bridged (lower-case L1 address): credited deposits
        # minus withdrawals; what ``totalSupply()`` of its L2 address answers.
        self.supply: dict[str, int] = {}
        self._checksums: dict[str, str] = {}

    # ------------------------------------------------------------- decoding
    @staticmethod
    def is_deposit(raw: bytes) -> bool:
        return bool(raw) and raw[0] == KIND_DEPOSIT

    @staticmethod
    def tx_hash(raw: bytes) -> bytes:
        """The txHash of an encoding (``keccak256(raw)``; for a standard transaction
        ``0x03 ‖ tx`` the Ethereum hash ``keccak256(tx)``)."""
        return ltx.hash_of_encoding(raw)

    @classmethod
    def tx_hash_of(cls, raw: bytes, decoded: Any) -> bytes:
        """:meth:`tx_hash`, from the decoded transaction when it has it (computed once)."""
        return decoded.hash if isinstance(decoded, StandardTx) else cls.tx_hash(raw)

    @staticmethod
    def decode(raw: bytes) -> Any:
        """The ledger's transaction object.

        Raises:
            TxInvalid: ``malformed``.
        """
        try:
            return ltx.decode_tx(raw)
        except TxRejected as e:
            raise TxInvalid(e.code, e.message) from None

    def withdrawal_of(self, raw: bytes) -> tuple[str, str, int]:
        """``(l1Recipient, token, amount)`` of an executed withdrawal (a Withdraw, or a standard
        transaction calling ``withdraw`` / ``withdrawToken``).

        Raises:
            TxInvalid: ``malformed`` if ``raw`` is no withdrawal.
        """
        tx = self.decode(raw)
        if isinstance(tx, StandardTx) and tx.action is not None and tx.action.is_withdrawal:
            return tx.action.recipient, tx.action.token, tx.action.amount
        if isinstance(tx, ltx.Withdraw):
            return tx.l1_recipient, tx.token, tx.amount
        raise TxInvalid("malformed", "not a withdrawal")

    def deposit_id(self, raw: bytes) -> int:
        return int(self.decode(raw).deposit_id)

    @staticmethod
    def is_queue_item(raw: bytes) -> bool:
        """A deposit or a forced tx: an item of the L1 bridge's queue, consumed in order."""
        return bool(raw) and raw[0] in (KIND_DEPOSIT, ltx.KIND_FORCED)

    def queue_id(self, raw: bytes) -> int:
        """The queue position of a deposit or forced tx."""
        tx = self.decode(raw)
        return int(tx.queue_id if isinstance(tx, ltx.Forced) else tx.deposit_id)

    # ------------------------------------------------------------ execution
    def apply(self, raw: bytes, fee_recipient: str, decoded: Any = None) -> Applied:
        """Decode and apply ``raw``; the state is unchanged when it raises.

        Args:
            raw: the ledger encoding.
            fee_recipient: who gets the fee (the block's producer).
            decoded: ``raw`` already decoded by :meth:`decode` (skips decoding).

        Raises:
            TxInvalid: the ledger's reason (``wrong_nonce``, ``bad_signature``...).
        """
        tx = decoded if decoded is not None else self.decode(raw)
        fee = ZERO_ADDRESS if self.is_deposit(raw) else self._checksum(fee_recipient)
        try:
            r = self.ledger.apply(tx, fee)
        except TxRejected as e:
            raise TxInvalid(e.code, e.message) from None
        h = r.tx_hash if isinstance(tx, StandardTx) else self.tx_hash(raw)
        if isinstance(tx, ltx.Deposit) and r.status == "applied":
            t = tx.token.lower()
            self.supply[t] = self.supply.get(t, 0) + tx.amount
        if r.withdrawal is not None:
            t = r.withdrawal.token.lower()
            self.supply[t] = self.supply.get(t, 0) - r.withdrawal.amount
        return Applied(
            tx_hash=h,
            leaf=ltx.tx_leaf_of_hash(keccak(raw), fee),  # the encoding's hash, not txHash
            post_root=r.post_state_root,
            withdrawal_item=r.withdrawal_item,
            fee_recipient=fee,
            sender=str(
                getattr(tx.tx if isinstance(tx, ltx.Forced) else tx, "sender", "") or ""
            ).lower(),
            status="failed" if r.status == "failed" else "success",
            detail=r.error or "",
        )

    def _checksum(self, addr: str) -> str:
        """EIP-55 form of a fee recipient (the producer: one address, computed once)."""
        c = self._checksums.get(addr)
        if c is None:
            c = self._checksums[addr] = ltx.to_checksum(addr)
        return c

    def state_root(self) -> bytes:
        return bytes(self.ledger.root)

    def checkpoint(self) -> ExecCheckpoint:
        return ExecCheckpoint(self.ledger.checkpoint(), dict(self.supply))

    def rollback(self, cp: ExecCheckpoint) -> None:
        self.ledger.rollback(cp.state)
        self.supply = dict(cp.supply)

    def commit(self, cp: ExecCheckpoint) -> None:
        """Forget undo information older than ``cp`` (the block is final for this node)."""
        self.ledger.state.discard_before(cp.state.state)

    # --------------------------------------------------------------- queries
    def balance(self, account: str, token: str) -> int:
        return int(self.ledger.balance(ltx.to_checksum(account), ltx.to_checksum(token)))

    def nonce(self, account: str) -> int:
        return int(self.ledger.nonce(ltx.to_checksum(account)))

    def has_token(self, l1_token: str) -> bool:
        """True once a deposit of ``l1_token`` (not ETH) was credited on L2."""
        t = l1_token.lower()
        return t != ZERO_ADDRESS and t in self.supply

    def total_supply(self, l1_token: str) -> int:
        return self.supply.get(l1_token.lower(), 0)

    def balance_proof(self, account: str, token: str) -> dict[str, Any]:
        """Inclusion/exclusion proof of ``balanceKey(account, token)`` against the state root."""
        from offchain.rollup.ledger.state import balance_key

        key = balance_key(ltx.to_checksum(account), ltx.to_checksum(token))
        proof = self.ledger.state.prove(key).to_json()
        return {
            "account": ltx.to_checksum(account),
            "token": ltx.to_checksum(token),
            "balance": str(self.ledger.state.get(key)),
            "stateRoot": "0x" + self.state_root().hex(),
            "proof": proof,
        }
