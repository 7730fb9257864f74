"""Execution of L2 transactions on the state: receipts, withdrawals, checkpoints.

The rules are docs/spec.md ("Execution"); ``contracts/rollup/L2StateTransition.sol`` is the
L1 twin that re-executes one transaction from the witnesses this module produces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offchain.common.hashing import keccak
from offchain.rollup.errors import REJECTION_CODES, StateError, TxRejected
from offchain.rollup.ledger.ethtx import StandardTx, check_standard_tx
from offchain.rollup.ledger.state import UINT256_MAX, KeyWitness, State, balance_key, nonce_key
from offchain.rollup.ledger.tx import (
    ZERO_ADDRESS,
    Deposit,
    Domain,
    Forced,
    L2Tx,
    Transfer,
    Withdraw,
    encode_tx,
    recover_signer_bytes,
    withdrawal_item,
)

__all__ = [
    "REJECTION_CODES",
    "STATUS_CODES",
    "Ledger",
    "LedgerCheckpoint",
    "Receipt",
    "TxRejected",
    "Withdrawal",
]

ZERO32 = b"\x00" * 32

#: ``L2StateTransition.Status`` enum values, by Python code ("valid" = 0).
STATUS_CODES: dict[str, int] = {
    "valid": 0,
    "malformed": 1,
    "zero_amount": 2,
    "bad_signature": 3,
    "wrong_nonce": 4,
    "insufficient_balance": 5,
    "overflow": 6,
    "deposit_out_of_order": 7,
    "deposit_mismatch": 8,
    "wrong_chain": 9,
    "unsupported": 10,
    "intrinsic_gas": 11,
    "underpriced": 12,
    "forced_out_of_order": 13,
    "forced_mismatch": 14,
}


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal executed on L2, to be finalized on L1 against the batch's withdrawal root.

    Attributes:
        tx_hash: hash of the Withdraw transaction (the withdrawal's id).
        sender: the L2 account debited.
        l1_recipient: who receives ``amount`` of ``token`` on L1.
        item: ``keccak256(abi.encode(txHash, l1Recipient, token, amount))`` (the leaf item).
    """

    tx_hash: bytes
    sender: str
    l1_recipient: str
    token: str
    amount: int
    item: bytes


@dataclass
class Receipt:
    """Result of applying one transaction.

    Attributes:
        tx_hash: ``keccak256(encode_tx(tx))``.
        index: position of the tx in the ledger's history (0-based, since genesis).
        post_state_root: the state root right after the tx (an MTSR leaf).
        status: ``"applied"``, ``"no_credit"`` for a deposit consumed without credit
            because the credit would overflow, or ``"failed"`` for a forced transaction that
            was invalid at its queue position (consumed, nothing else changed).
        withdrawal: the withdrawal for a Withdraw, else None.
        fee_recipient: who received the fee (part of the MTTBR leaf).
        gas_used: a standard transaction's fixed gas (0 for the other kinds).
        effective_gas_price: a standard transaction's price per gas in wei (0 otherwise).
    """

    tx_hash: bytes
    index: int
    post_state_root: bytes
    status: str
    withdrawal: Withdrawal | None
    fee_recipient: str = ZERO_ADDRESS
    gas_used: int = 0
    effective_gas_price: int = 0
    #: For a ``"failed"`` forced transaction: the rejection code of its user transaction.
    error: str | None = None

    @property
    def withdrawal_item(self) -> bytes:
        """The withdrawal-root leaf item of this tx (``bytes32(0)`` if not a withdrawal)."""
        return self.withdrawal.item if self.withdrawal is not None else ZERO32


@dataclass(frozen=True)
class LedgerCheckpoint:
    """Opaque position to roll a :class:`Ledger` back to."""

    state: int
    tx_count: int


class StepTrace:
    """Collects one :class:`KeyWitness` per state access (fraud-proof mode)."""

    def __init__(self) -> None:
        self.witnesses: list[KeyWitness] = []


class Ledger:
    """The L2 ledger: applies transactions to a :class:`State` under an EIP-712 domain.

    Args:
        domain: the L2 domain (chain id, StateCommitment address).
        state: the state to work on (a fresh genesis state if None).
        tx_count: number of transactions already applied to ``state`` (receipt indices).
    """

    def __init__(self, domain: Domain, state: State | None = None, tx_count: int = 0) -> None:
        self.domain = domain
        self.state = state if state is not None else State()
        self.tx_count = tx_count
        self._separator = domain.separator
        self._keys: dict[tuple[str, str], int] = {}
        self._nkeys: dict[str, int] = {}

    # ------------------------------------------------------------------ keys

    def _bkey(self, account: str, token: str) -> int:
        k = self._keys.get((account, token))
        if k is None:
            if len(self._keys) > 1 << 16:  # bounded: a 1M-account state stays small
                self._keys.clear()
            k = balance_key(account, token)
            self._keys[(account, token)] = k
        return k

    def _nkey(self, account: str) -> int:
        k = self._nkeys.get(account)
        if k is None:
            if len(self._nkeys) > 1 << 16:  # bounded, as the balance keys
                self._nkeys.clear()
            k = self._nkeys[account] = nonce_key(account)
        return k

    # ------------------------------------------------------------------ public API

    def balance(self, account: str, token: str = ZERO_ADDRESS) -> int:
        """L2 balance of ``account`` in ``token`` (ETH = address(0))."""
        return self.state.get(balance_key(account, token))

    def nonce(self, account: str) -> int:
        """Next nonce ``account`` must use."""
        return self.state.get(nonce_key(account))

    @property
    def root(self) -> bytes:
        """Current state root."""
        return self.state.root

    def apply(self, tx: L2Tx, fee_recipient: str = ZERO_ADDRESS) -> Receipt:
        """Apply one transaction; on rejection nothing changes.

        Args:
            tx: the transaction.
            fee_recipient: who receives user-tx fees (the block's sequencer).

        Returns:
            The receipt, with the post-state root.

        Raises:
            TxRejected: with the code of the first failing check (docs/spec.md).
        """
        h, status, wd = self._execute(tx, fee_recipient, None)
        error = None
        if status.startswith("failed:"):
            status, error = status.split(":", 1)
        receipt = Receipt(h, self.tx_count, self.state.root, status, wd, fee_recipient)
        receipt.error = error
        if isinstance(tx, StandardTx) and tx.action is not None:
            receipt.gas_used = tx.action.gas
            receipt.effective_gas_price = tx.effective_gas_price()
        self.tx_count += 1
        return receipt

    def validate(self, tx: L2Tx, fee_recipient: str = ZERO_ADDRESS) -> None:
        """Check that ``tx`` would apply now, without changing anything (RPC admission).

        Raises:
            TxRejected: as :meth:`apply` would.
        """
        cp = self.state.checkpoint()
        try:
            self._execute(tx, fee_recipient, None)
        finally:
            self.state.rollback(cp)

    def apply_block(self, txs: Sequence[L2Tx], fee_recipient: str) -> list[Receipt]:
        """Apply a block atomically: every tx, or none if one is rejected.

        Raises:
            TxRejected: for the first rejected tx (message names its position); the ledger
                is left as before the block.
        """
        cp = self.checkpoint()
        receipts = []
        try:
            for pos, tx in enumerate(txs):
                try:
                    receipts.append(self.apply(tx, fee_recipient))
                except TxRejected as e:
                    raise TxRejected(e.code, f"block tx {pos}: {e.message}") from None
        except BaseException:
            self.rollback(cp)
            raise
        return receipts

    def checkpoint(self) -> LedgerCheckpoint:
        """Position to :meth:`rollback` to (e.g. at a batch boundary)."""
        return LedgerCheckpoint(self.state.checkpoint(), self.tx_count)

    def rollback(self, cp: LedgerCheckpoint) -> None:
        """Undo every transaction applied after ``cp``."""
        self.state.rollback(cp.state)
        self.tx_count = cp.tx_count

    # ------------------------------------------------------------------ execution

    def _execute(
        self, tx: L2Tx, fee_recipient: str, trace: StepTrace | None
    ) -> tuple[bytes, str, Withdrawal | None]:
        """Run the rules of docs/spec.md; roll back and re-raise on rejection."""
        st = self.state
        cp = st.checkpoint()
        try:
            return self._rules(tx, fee_recipient, trace)
        except TxRejected:
            st.rollback(cp)
            raise
        except StateError as e:  # only a full tree (2**32 leaves) gets here
            st.rollback(cp)
            raise TxRejected("overflow", str(e)) from None

    def _touch(self, key: int, value: int | None, trace: StepTrace | None) -> None:
        """One access: write ``value`` (None: the check failed, record the read only)."""
        if trace is not None:
            trace.witnesses.append(self.state.witness_write(key, value))
        elif value is not None:
            self.state.set(key, value)

    def _rules(
        self, tx: L2Tx, fee_recipient: str, trace: StepTrace | None
    ) -> tuple[bytes, str, Withdrawal | None]:
        st = self.state
        if isinstance(tx, StandardTx):
            return self._standard(tx, fee_recipient, trace)
        data = encode_tx(tx)  # validates field ranges (malformed)
        h = keccak(data)
        if isinstance(tx, Deposit):
            if tx.deposit_id != st.next_deposit_id:
                raise TxRejected(
                    "deposit_out_of_order",
                    f"deposit {tx.deposit_id} is out of order: next deposit is "
                    f"{st.next_deposit_id}",
                )
            status = "applied"
            if tx.amount > 0:
                key = self._bkey(tx.recipient, tx.token)
                new = st.get(key) + tx.amount
                if new > UINT256_MAX:
                    status = "no_credit"
                    self._touch(key, None, trace)
                else:
                    self._touch(key, new, trace)
            st.next_deposit_id = st.next_deposit_id + 1
            return h, status, None
        if isinstance(tx, Forced):
            return self._forced(tx, h, fee_recipient, trace)
        return self._user(tx, h, fee_recipient, trace)

    def _forced(
        self, tx: Forced, h: bytes, fee_recipient: str, trace: StepTrace | None
    ) -> tuple[bytes, str, Withdrawal | None]:
        """Consume the queue position; run the user tx; a rejection is a failed receipt."""
        st = self.state
        if tx.queue_id != st.next_deposit_id:
            raise TxRejected(
                "forced_out_of_order",
                f"forced tx {tx.queue_id} is out of order: next queue item is {st.next_deposit_id}",
            )
        st.next_deposit_id = st.next_deposit_id + 1
        cp = st.checkpoint()
        try:
            _, _, wd = self._user(tx.tx, h, fee_recipient, trace)
        except TxRejected as e:
            st.rollback(cp)
            return h, f"failed:{e.code}", None
        except StateError:
            st.rollback(cp)
            return h, "failed:overflow", None
        return h, "applied", wd

    def _user(
        self, tx: Transfer | Withdraw, h: bytes, fee_recipient: str, trace: StepTrace | None
    ) -> tuple[bytes, str, Withdrawal | None]:
        """Transfer / Withdraw rules; ``h`` is the hash of the whole encoding (the forced
        item's for a forced tx)."""
        if tx.amount == 0:
            raise TxRejected("zero_amount", "amount must be greater than 0")
        signer = recover_signer_bytes(tx, self.domain, self._separator)
        if signer is None or signer != bytes.fromhex(tx.sender[2:]):
            raise TxRejected(
                "bad_signature",
                f"signature does not recover to {tx.sender} under domain l2kit/1/chain "
                f"{self.domain.chain_id}/{self.domain.verifying_contract} "
                "(wrong key, or signed for another chain or contract)",
            )
        self._use_nonce(tx.sender, tx.nonce, trace)
        self._debit(tx.sender, tx.token, tx.amount, tx.fee, trace)
        if isinstance(tx, Transfer):
            self._credit(tx.to, tx.token, tx.amount, trace, "balance of")
        if tx.fee > 0:
            self._credit(fee_recipient, tx.token, tx.fee, trace, "balance of fee recipient")
        if isinstance(tx, Withdraw):
            item = withdrawal_item(h, tx.l1_recipient, tx.token, tx.amount)
            wd = Withdrawal(h, tx.sender, tx.l1_recipient, tx.token, tx.amount, item)
            return h, "applied", wd
        return h, "applied", None

    def _use_nonce(self, sender: str, nonce: int, trace: StepTrace | None) -> None:
        """Access ``nonceKey(sender)``: it must equal ``nonce``; write ``nonce + 1``."""
        nkey = self._nkey(sender)
        cur = self.state.get(nkey)
        if cur != nonce:
            self._touch(nkey, None, trace)
            raise TxRejected("wrong_nonce", f"nonce {nonce} is wrong for {sender}: expected {cur}")
        if cur == UINT256_MAX:
            self._touch(nkey, None, trace)
            raise TxRejected("overflow", f"nonce of {sender} would overflow uint256")
        self._touch(nkey, cur + 1, trace)

    def _debit(
        self, sender: str, token: str, amount: int, fee: int, trace: StepTrace | None
    ) -> None:
        """Access ``balanceKey(sender, token)``: it must cover ``amount + fee``; debit it."""
        fkey = self._bkey(sender, token)
        bal = self.state.get(fkey)
        total = amount + fee
        if total > bal:  # also covers amount + fee overflowing uint256
            self._touch(fkey, None, trace)
            raise TxRejected(
                "insufficient_balance",
                f"{sender} has {bal} of token {token}, needs {total} (amount {amount} + fee {fee})",
            )
        self._touch(fkey, bal - total, trace)

    def _credit(
        self, account: str, token: str, amount: int, trace: StepTrace | None, what: str
    ) -> None:
        """Access ``balanceKey(account, token)`` and add ``amount`` (``overflow`` if too big)."""
        key = self._bkey(account, token)
        new = self.state.get(key) + amount
        if new > UINT256_MAX:
            self._touch(key, None, trace)
            raise TxRejected("overflow", f"{what} {account} would overflow uint256")
        self._touch(key, new, trace)

    def _standard(
        self, tx: StandardTx, fee_recipient: str, trace: StepTrace | None
    ) -> tuple[bytes, str, Withdrawal | None]:
        """A standard Ethereum transaction (docs/spec.md, "Standard transactions")."""
        a = check_standard_tx(tx, self.domain.chain_id)
        sender = tx.sender
        assert sender is not None  # check_standard_tx refuses an unrecoverable signature
        h = tx.hash
        fee = tx.fee
        self._use_nonce(sender, tx.nonce, trace)
        eth_kind = a.token == ZERO_ADDRESS
        self._debit(sender, ZERO_ADDRESS, a.amount if eth_kind else 0, fee, trace)
        if not eth_kind and a.amount > 0:
            self._debit(sender, a.token, a.amount, 0, trace)
        if not a.is_withdrawal and a.amount > 0:
            self._credit(a.recipient, a.token, a.amount, trace, "balance of")
        if fee > 0:
            self._credit(fee_recipient, ZERO_ADDRESS, fee, trace, "balance of fee recipient")
        if a.is_withdrawal:
            item = withdrawal_item(h, a.recipient, a.token, a.amount)
            return h, "applied", Withdrawal(h, sender, a.recipient, a.token, a.amount, item)
        return h, "applied", None
