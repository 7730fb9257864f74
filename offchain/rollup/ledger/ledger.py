"""Execution of L2 transactions on the state, batch commitments, and fraud-proof witnesses.

The rules are docs/spec.md ("Execution"); ``contracts/rollup/L2StateTransition.sol`` is the
L1 twin that re-executes one transaction from the witnesses this module produces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from eth_abi import decode as abi_decode

from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.rollup.errors import REJECTION_CODES, StateError, TxRejected
from offchain.rollup.ledger.batch import BATCH_DATA_ABI_TYPES, BatchDataBlob
from offchain.rollup.ledger.state import UINT256_MAX, KeyWitness, State, balance_key, nonce_key
from offchain.rollup.ledger.tx import (
    ZERO_ADDRESS,
    Deposit,
    Domain,
    L2Tx,
    Transfer,
    Withdraw,
    decode_tx,
    deposit_hash,
    encode_tx,
    recover_signer_bytes,
    to_checksum,
    tx_leaf_of_hash,
    withdrawal_item,
)

__all__ = [
    "REJECTION_CODES",
    "STATUS_CODES",
    "BatchData",
    "BatchRoots",
    "FraudProof",
    "Ledger",
    "LedgerCheckpoint",
    "Receipt",
    "TxRejected",
    "Withdrawal",
    "batch_ref",
    "batch_roots",
    "build_fraud_proof",
    "decode_batch_data",
    "encode_batch_data",
    "find_fraud",
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
        status: ``"applied"``, or ``"no_credit"`` for a deposit consumed without credit
            because the credit would overflow.
        withdrawal: the withdrawal for a Withdraw, else None.
        fee_recipient: who received the fee (part of the MTTBR leaf).
    """

    tx_hash: bytes
    index: int
    post_state_root: bytes
    status: str
    withdrawal: Withdrawal | None
    fee_recipient: str = ZERO_ADDRESS

    @property
    def withdrawal_item(self) -> bytes:
        """The withdrawal-root leaf item of this tx (``bytes32(0)`` if not a withdrawal)."""
        return self.withdrawal.item if self.withdrawal is not None else ZERO32


@dataclass(frozen=True)
class LedgerCheckpoint:
    """Opaque position to roll a :class:`Ledger` back to."""

    state: int
    tx_count: int


class _Trace:
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

    # ------------------------------------------------------------------ keys

    def _bkey(self, account: str, token: str) -> int:
        k = self._keys.get((account, token))
        if k is None:
            if len(self._keys) > 1_000_000:
                self._keys.clear()
            k = balance_key(account, token)
            self._keys[(account, token)] = k
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
        receipt = Receipt(h, self.tx_count, self.state.root, status, wd, fee_recipient)
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
        self, tx: L2Tx, fee_recipient: str, trace: _Trace | None
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

    def _touch(self, key: int, value: int | None, trace: _Trace | None) -> None:
        """One access: write ``value`` (None: the check failed, record the read only)."""
        if trace is not None:
            trace.witnesses.append(self.state.witness_write(key, value))
        elif value is not None:
            self.state.set(key, value)

    def _rules(
        self, tx: L2Tx, fee_recipient: str, trace: _Trace | None
    ) -> tuple[bytes, str, Withdrawal | None]:
        st = self.state
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
        nkey = nonce_key(tx.sender)
        cur = st.get(nkey)
        if cur != tx.nonce:
            self._touch(nkey, None, trace)
            raise TxRejected(
                "wrong_nonce", f"nonce {tx.nonce} is wrong for {tx.sender}: expected {cur}"
            )
        if cur == UINT256_MAX:
            self._touch(nkey, None, trace)
            raise TxRejected("overflow", f"nonce of {tx.sender} would overflow uint256")
        self._touch(nkey, cur + 1, trace)
        fkey = self._bkey(tx.sender, tx.token)
        bal = st.get(fkey)
        total = tx.amount + tx.fee
        if total > bal:  # also covers amount + fee overflowing uint256
            self._touch(fkey, None, trace)
            raise TxRejected(
                "insufficient_balance",
                f"{tx.sender} has {bal} of token {tx.token}, needs {total} "
                f"(amount {tx.amount} + fee {tx.fee})",
            )
        self._touch(fkey, bal - total, trace)
        if isinstance(tx, Transfer):
            tkey = self._bkey(tx.to, tx.token)
            new = st.get(tkey) + tx.amount
            if new > UINT256_MAX:
                self._touch(tkey, None, trace)
                raise TxRejected("overflow", f"balance of {tx.to} would overflow uint256")
            self._touch(tkey, new, trace)
        if tx.fee > 0:
            rkey = self._bkey(fee_recipient, tx.token)
            new = st.get(rkey) + tx.fee
            if new > UINT256_MAX:
                self._touch(rkey, None, trace)
                raise TxRejected(
                    "overflow", f"balance of fee recipient {fee_recipient} would overflow"
                )
            self._touch(rkey, new, trace)
        if isinstance(tx, Withdraw):
            item = withdrawal_item(h, tx.l1_recipient, tx.token, tx.amount)
            wd = Withdrawal(h, tx.sender, tx.l1_recipient, tx.token, tx.amount, item)
            return h, "applied", wd
        return h, "applied", None


# --------------------------------------------------------------------------- batches


class BatchRoots(NamedTuple):
    """The three Merkle roots of a batch (docs/spec.md, "Batch commitments")."""

    mttbr: bytes
    mtsr: bytes
    withdrawal_root: bytes


def _item(w: Withdrawal | bytes | None) -> bytes:
    if w is None:
        return ZERO32
    if isinstance(w, Withdrawal):
        return w.item
    return w


def batch_roots(
    txs: Sequence[L2Tx | bytes],
    post_roots: Sequence[bytes],
    withdrawals: Sequence[Withdrawal | bytes | None],
    fee_recipients: Sequence[str],
) -> BatchRoots:
    """MTTBR, MTSR and withdrawal root of a batch.

    Args:
        txs: the batch's transactions (or their encodings) in execution order.
        post_roots: state root after each tx.
        withdrawals: per tx, its :class:`Withdrawal` (or withdrawal item), or None.
        fee_recipients: per tx, its fee recipient (address(0) for deposits).

    Returns:
        ``(mttbr, mtsr, withdrawal_root)``.

    Raises:
        ValueError: if the four lists differ in length.
    """
    n = len(txs)
    if not (len(post_roots) == len(withdrawals) == len(fee_recipients) == n):
        raise ValueError("txs, post_roots, withdrawals and fee_recipients differ in length")
    leaves = [
        tx_leaf_of_hash(keccak(t if isinstance(t, bytes) else encode_tx(t)), f)
        for t, f in zip(txs, fee_recipients, strict=True)
    ]
    return BatchRoots(
        merkle.root(leaves),
        merkle.root(list(post_roots)),
        merkle.root([_item(w) for w in withdrawals]),
    )


@dataclass
class BatchData(BatchDataBlob):
    """A batch as stored in the blob store / posted on L1 (docs/spec.md, "batch data").

    ``tx_data`` holds raw encodings (a forged batch may hold malformed ones); ``txs`` decodes.
    """

    tx_data: list[bytes]
    fee_recipients: list[str]
    post_roots: list[bytes]
    withdrawal_items: list[bytes]

    @classmethod
    def from_receipts(cls, txs: Sequence[L2Tx], receipts: Sequence[Receipt]) -> BatchData:
        """Build from executed transactions and their receipts."""
        return cls(
            [encode_tx(t) for t in txs],
            [r.fee_recipient for r in receipts],
            [r.post_state_root for r in receipts],
            [r.withdrawal_item for r in receipts],
        )

    @property
    def txs(self) -> list[L2Tx]:
        """Decoded transactions.

        Raises:
            TxRejected: ``malformed`` if an encoding is malformed.
        """
        return [decode_tx(d) for d in self.tx_data]

    def __len__(self) -> int:
        return len(self.tx_data)

    def roots(self) -> BatchRoots:
        """The batch's claimed roots (as committed on L1)."""
        return batch_roots(
            self.tx_data, self.post_roots, self.withdrawal_items, self.fee_recipients
        )

    @property
    def final_state_root(self) -> bytes:
        """State root after the last tx."""
        return self.post_roots[-1] if self.post_roots else ZERO32


def encode_batch_data(
    txs: Sequence[L2Tx | bytes],
    fee_recipients: Sequence[str],
    post_roots: Sequence[bytes],
    withdrawal_items: Sequence[Withdrawal | bytes | None],
) -> bytes:
    """Encode a batch for the blob store (see :class:`BatchData`)."""
    return BatchData(
        [t if isinstance(t, bytes) else encode_tx(t) for t in txs],
        list(fee_recipients),
        list(post_roots),
        [_item(w) for w in withdrawal_items],
    ).encode()


def decode_batch_data(data: bytes) -> BatchData:
    """Inverse of :func:`encode_batch_data` (transactions stay raw: see ``BatchData.txs``).

    Raises:
        TxRejected: ``malformed`` if ``data`` is not a valid batch encoding.
    """
    try:
        txs, fees, roots, items = abi_decode(BATCH_DATA_ABI_TYPES, data)
    except Exception as e:  # eth_abi raises several exception types on bad input
        raise TxRejected("malformed", f"batch data does not decode: {e}") from None
    if not (len(txs) == len(fees) == len(roots) == len(items)):
        raise TxRejected("malformed", "batch data arrays differ in length")
    return BatchData(
        [bytes(t) for t in txs],
        [to_checksum(f) for f in fees],
        [bytes(r) for r in roots],
        [bytes(i) for i in items],
    )


# --------------------------------------------------------------------------- fraud proofs


@dataclass(frozen=True)
class StepResult:
    """Honest execution of one step: status code, post-state root, withdrawal item."""

    status: str
    post_state_root: bytes
    withdrawal_item: bytes


def _run_step(
    ledger: Ledger,
    data: bytes,
    fee_recipient: str,
    trace: _Trace | None,
    deposit_hash_of: Callable[[int], bytes] | None,
) -> StepResult:
    """Execute one encoded tx as L1 would; invalid ones leave the state unchanged."""
    st = ledger.state
    try:
        tx = decode_tx(data)
        if (
            isinstance(tx, Deposit)
            and deposit_hash_of is not None
            and tx.deposit_id == st.next_deposit_id
            and deposit_hash_of(tx.deposit_id) != deposit_hash(tx)
        ):
            return StepResult("deposit_mismatch", st.root, ZERO32)
        _, _, wd = ledger._execute(tx, fee_recipient, trace)
    except TxRejected as e:
        return StepResult(e.code, st.root, ZERO32)
    ledger.tx_count += 1
    return StepResult("valid", st.root, wd.item if wd is not None else ZERO32)


def find_fraud(
    state: State,
    domain: Domain,
    batch: BatchData,
    deposit_hash_of: Callable[[int], bytes] | None = None,
) -> int | None:
    """Re-execute ``batch`` from ``state`` (its pre-state) and find the first fraudulent step.

    A step is fraudulent if its tx is invalid, or its claimed post-state root or withdrawal
    item differs from honest execution. ``state`` is left unchanged.

    Args:
        state: the state before the batch (the previous batch's final state).
        domain: the L2 domain.
        batch: the batch as published (with the sequencer's claimed roots and items).
        deposit_hash_of: the L1 bridge's deposit hash by id (checks deposit contents).

    Returns:
        The index of the first fraudulent step, or None if the batch is honest.
    """
    ledger = Ledger(domain, state)
    cp = state.checkpoint()
    try:
        for i, data in enumerate(batch.tx_data):
            res = _run_step(ledger, data, batch.fee_recipients[i], None, deposit_hash_of)
            if (
                res.status != "valid"
                or res.post_state_root != batch.post_roots[i]
                or res.withdrawal_item != batch.withdrawal_items[i]
            ):
                return i
        return None
    finally:
        state.rollback(cp)


@dataclass(frozen=True)
class FraudProof:
    """Everything L1 needs to re-execute step ``step`` of a batch (docs/spec.md).

    Claimed values are the sequencer's (from the batch data); ``expected`` values are what
    honest execution gives. The step is fraud iff ``expected_status != "valid"`` or an
    expected value differs from the claimed one.
    """

    step: int
    tx_data: bytes
    fee_recipient: str
    tx_proof: list[bytes]
    pre_state_root: bytes
    pre_root_proof: list[bytes] | None
    post_state_root: bytes
    post_root_proof: list[bytes]
    withdrawal_item: bytes
    withdrawal_proof: list[bytes]
    pre_tree_root: bytes
    pre_size: int
    pre_next_deposit_id: int
    witnesses: list[KeyWitness] = field(default_factory=list)
    expected_status: str = "valid"
    expected_post_state_root: bytes = ZERO32
    expected_withdrawal_item: bytes = ZERO32

    @property
    def is_fraud(self) -> bool:
        return (
            self.expected_status != "valid"
            or self.expected_post_state_root != self.post_state_root
            or self.expected_withdrawal_item != self.withdrawal_item
        )

    def pre_state_abi(self) -> tuple[bytes, int, int]:
        """``L2StateTransition.State`` tuple ``(treeRoot, size, nextDepositId)``."""
        return (self.pre_tree_root, self.pre_size, self.pre_next_deposit_id)

    def witnesses_abi(self) -> list[tuple[int, int, int, int, list[bytes], list[bytes]]]:
        """``StateTree.KeyWitness[]`` tuples."""
        return [w.to_abi() for w in self.witnesses]

    def to_abi(self) -> tuple[Any, ...]:
        """The ``L2StateTransition.StepProof`` tuple (for web3 calls)."""
        return (
            self.step,
            self.tx_data,
            self.fee_recipient,
            list(self.tx_proof),
            self.pre_state_root,
            list(self.pre_root_proof or []),
            self.post_state_root,
            list(self.post_root_proof),
            self.withdrawal_item,
            list(self.withdrawal_proof),
            self.pre_state_abi(),
            self.witnesses_abi(),
        )


#: ABI type strings of the Solidity structs, for eth_abi.
STATE_ABI = "(bytes32,uint256,uint256)"
KEY_WITNESS_ABI = "(uint256,uint256,uint256,uint256,bytes32[],bytes32[])"
BATCH_REF_ABI = "(bytes32,bytes32,bytes32,uint256,bytes32)"
STEP_PROOF_ABI = (
    f"(uint256,bytes,address,bytes32[],bytes32,bytes32[],bytes32,bytes32[],bytes32,bytes32[],"
    f"{STATE_ABI},{KEY_WITNESS_ABI}[])"
)


def batch_ref(
    batch: BatchData, prev_final_state_root: bytes
) -> tuple[bytes, bytes, bytes, int, bytes]:
    """The ``L2StateTransition.BatchRef`` tuple of a batch whose pre-state root is
    ``prev_final_state_root``."""
    r = batch.roots()
    return (r.mttbr, r.mtsr, r.withdrawal_root, len(batch), prev_final_state_root)


def build_fraud_proof(
    state: State,
    domain: Domain,
    batch: BatchData,
    step: int,
    deposit_hash_of: Callable[[int], bytes] | None = None,
) -> FraudProof:
    """Witness for L1 re-execution of ``step`` of ``batch`` (from the batch's pre-state).

    Steps before ``step`` are executed honestly (they must match the claims: use
    :func:`find_fraud` to pick the first divergent step). ``state`` is left unchanged.

    Args:
        state: the state before the batch.
        domain: the L2 domain.
        batch: the batch as published.
        step: the disputed step.
        deposit_hash_of: the L1 bridge's deposit hash by id.

    Raises:
        IndexError: if ``step`` is not in the batch.
    """
    if not 0 <= step < len(batch):
        raise IndexError(f"step {step} not in a batch of {len(batch)} txs")
    ledger = Ledger(domain, state)
    cp = state.checkpoint()
    try:
        for i in range(step):
            _run_step(ledger, batch.tx_data[i], batch.fee_recipients[i], None, deposit_hash_of)
        pre_root = state.root
        pre = (state.tree_root, state.size, state.next_deposit_id)
        trace = _Trace()
        res = _run_step(
            ledger, batch.tx_data[step], batch.fee_recipients[step], trace, deposit_hash_of
        )
    finally:
        state.rollback(cp)
    tx_leaves = [
        tx_leaf_of_hash(keccak(d), f)
        for d, f in zip(batch.tx_data, batch.fee_recipients, strict=True)
    ]
    mtsr_tree = merkle.MerkleTree(batch.post_roots)
    return FraudProof(
        step=step,
        tx_data=batch.tx_data[step],
        fee_recipient=batch.fee_recipients[step],
        tx_proof=merkle.MerkleTree(tx_leaves).proof(step),
        pre_state_root=pre_root,
        pre_root_proof=mtsr_tree.proof(step - 1) if step > 0 else None,
        post_state_root=batch.post_roots[step],
        post_root_proof=mtsr_tree.proof(step),
        withdrawal_item=batch.withdrawal_items[step],
        withdrawal_proof=merkle.MerkleTree(batch.withdrawal_items).proof(step),
        pre_tree_root=pre[0],
        pre_size=pre[1],
        pre_next_deposit_id=pre[2],
        witnesses=trace.witnesses,
        expected_status=res.status,
        expected_post_state_root=res.post_state_root,
        expected_withdrawal_item=res.withdrawal_item,
    )
