"""Batch commitments and the batch data blob: the three Merkle roots of a batch (MTTBR, MTSR,
withdrawal root) and the encoding verifiers re-execute (docs/spec.md, "Batch commitments").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from eth_abi import decode as abi_decode

from offchain.common import merkle
from offchain.common.hashing import keccak
from offchain.rollup.ledger.batch import BATCH_DATA_ABI_TYPES, ZERO32, BatchDataBlob
from offchain.rollup.ledger.compact import BatchDataError, decompress, unpack
from offchain.rollup.ledger.ledger import Receipt, Withdrawal
from offchain.rollup.ledger.tx import (
    L2Tx,
    decode_tx,
    encode_tx,
    to_checksum,
    tx_leaf_of_hash,
)


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
    """The batch data frame (compact, compressed; docs/spec.md "Compact batch data")."""
    return BatchData(
        [t if isinstance(t, bytes) else encode_tx(t) for t in txs],
        list(fee_recipients),
        list(post_roots),
        [_item(w) for w in withdrawal_items],
    ).encode()


def decode_batch_data(data: bytes) -> BatchData:
    """Inverse of :func:`encode_batch_data`: a batch data frame back to its arrays
    (transactions stay raw: see ``BatchData.txs``).

    Raises:
        BatchDataError: ``data`` is not a valid frame (corrupt, truncated, not canonical).
    """
    return decode_packed(decompress(data))


def decode_packed(packed: bytes) -> BatchData:
    """The packed (uncompressed) compact encoding back to a :class:`BatchData`.

    Raises:
        BatchDataError: ``packed`` is not the canonical packed form of a batch.
    """
    p = unpack(packed)
    return BatchData(
        list(p.tx_data),
        [to_checksum(f) for f in p.fee_recipients],
        list(p.post_roots),
        list(p.withdrawal_items),
    )


def decode_abi_batch_data(data: bytes) -> BatchData:
    """The four arrays from their ABI encoding (:meth:`BatchData.abi_encode`).

    Raises:
        BatchDataError: ``data`` is not that ABI encoding.
    """
    try:
        txs, fees, roots, items = abi_decode(BATCH_DATA_ABI_TYPES, data)
    except Exception as e:  # eth_abi raises several exception types on bad input
        raise BatchDataError(f"batch data does not decode: {e}") from None
    if not (len(txs) == len(fees) == len(roots) == len(items)):
        raise BatchDataError("batch data arrays differ in length")
    return BatchData(
        [bytes(t) for t in txs],
        [to_checksum(f) for f in fees],
        [bytes(r) for r in roots],
        [bytes(i) for i in items],
    )
