"""Batch planning: build one batch (header, packed data and its DA commitment) from a node's
blocks, and check a header's roots against batch data (docs/spec.md "Batch commitments").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from offchain.common.hashing import keccak
from offchain.rollup.l1.bindings import DataMode
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.batch_data import BatchData, decode_batch_data
from offchain.rollup.ledger.blobs import (
    BlobSidecar,
    answer_blobs,
    blobs_hash,
    commitment_hashes,
    sidecar_of,
)
from offchain.rollup.ledger.compact import BatchDataError
from offchain.rollup.node.errors import BatchError
from offchain.rollup.node.node import SequencerNode

ZERO32 = b"\x00" * 32

#: Largest frame appendBatchWithData carries (128 kB transaction limit, minus header, signatures
#: and RLP overhead): a larger batch is built with fewer blocks.
MAX_CALLDATA_FRAME_BYTES = 120_000


@dataclass
class BuiltBatch:
    """A batch ready to submit: its header, its data frame and the blocks it covers.

    ``sidecar`` (Blobs mode) holds the blobs carrying the frame; the header's ``data_hash``
    then commits their versioned hashes (docs/spec.md, "Data availability modes").
    """

    header: BatchHeader
    data: bytes
    first_block: int
    last_block: int
    mode: DataMode = DataMode.STORAGE
    sidecar: BlobSidecar | None = None


def storage_blobs_hash(frame: bytes) -> bytes:
    """A Storage-mode header's ``blobs_hash``: keccak256 of the versioned hashes of the blobs
    that carry ``frame`` in a data answer (:func:`~offchain.rollup.ledger.blobs.answer_blobs`).
    """
    return blobs_hash(commitment_hashes(answer_blobs(frame)))


def data_commitment(frame: bytes, mode: DataMode) -> tuple[bytes, BlobSidecar | None]:
    """The header's ``data_hash`` for ``frame`` in ``mode``, and the blobs in Blobs mode
    (a Storage header's ``blobs_hash`` is :func:`storage_blobs_hash`).

    Raises:
        BatchDataError: Blobs mode and the frame does not fit in one transaction's blobs, or
            Calldata mode and it would push appendBatchWithData past 128 kB.
    """
    if mode == DataMode.BLOBS:
        sidecar = sidecar_of(frame)
        return sidecar.data_hash, sidecar
    if mode == DataMode.CALLDATA and len(frame) > MAX_CALLDATA_FRAME_BYTES:
        raise BatchDataError(
            f"frame of {len(frame)} bytes over {MAX_CALLDATA_FRAME_BYTES} for appendBatchWithData"
        )
    return keccak(frame), None


def build_batch(
    node: SequencerNode,
    index: int,
    first_block: int,
    last_block: int,
    deposit_hash: Callable[[int], bytes],
    mode: DataMode = DataMode.STORAGE,
) -> BuiltBatch:
    """Batch ``index`` over the node's blocks ``first_block..last_block``.

    Args:
        node: where the blocks and their execution results are stored.
        index: the batch index.
        first_block: first L2 block.
        last_block: last L2 block (inclusive).
        deposit_hash: the bridge's rolling hash after ``n`` deposits (``depositHashAt``).
        mode: where the data is published (decides what ``data_hash`` commits).

    Raises:
        BatchError: a block is missing.
        BatchDataError: Blobs mode and the data does not fit in one transaction's blobs.
    """
    blocks = list(node.store.blocks(first_block, last_block))
    if len(blocks) != last_block - first_block + 1:
        raise BatchError(f"blocks {first_block}..{last_block} are not all stored")
    txs = [raw for b in blocks for raw in b.txs]
    rows = node.store.executed(first_block, last_block)
    if len(rows) != len(txs):
        raise BatchError(
            f"blocks {first_block}..{last_block}: {len(txs)} txs but {len(rows)} receipts"
        )
    data = BatchData(
        tx_data=txs,
        fee_recipients=[r[3] for r in rows],
        post_roots=[r[1] for r in rows],
        withdrawal_items=[r[2] for r in rows],
    )
    blob = data.encode()
    data_hash, sidecar = data_commitment(blob, mode)
    deposits = blocks[-1].header.next_deposit_id
    header = header_for(
        index,
        first_block,
        len(blocks),
        data,
        deposits,
        deposit_hash(deposits) if deposits else ZERO32,
        data_hash,
        storage_blobs_hash(blob) if mode == DataMode.STORAGE else ZERO32,
    )
    return BuiltBatch(header, blob, first_block, last_block, mode, sidecar)


def header_for(
    index: int,
    first_block: int,
    l2_blocks: int,
    data: BatchData,
    deposit_count: int,
    deposit_hash: bytes,
    data_hash: bytes,
    blobs_hash: bytes = ZERO32,
) -> BatchHeader:
    """The header committing to ``data`` (MTTBR, MTSR, final root, withdrawal root)."""
    roots = data.roots()
    return BatchHeader(
        index=index,
        first_block=first_block,
        l2_blocks=l2_blocks,
        tx_count=len(data),
        deposit_count=deposit_count,
        deposit_hash=deposit_hash,
        tx_root=roots.mttbr,
        state_roots_root=roots.mtsr,
        final_state_root=data.final_state_root,
        withdrawal_root=roots.withdrawal_root,
        data_hash=data_hash,
        blobs_hash=blobs_hash,
    )


def check_roots(header: BatchHeader, blob: bytes, check_hash: bool = True) -> list[str]:
    """What differs between ``header`` and the roots recomputed from ``blob`` (empty: all match).

    ``check_hash``: also require ``keccak(blob) == data_hash`` (Storage and Calldata modes).
    """
    if check_hash and keccak(blob) != header.data_hash:
        return ["dataHash"]
    data = decode_batch_data(blob)
    again = header_for(
        header.index,
        header.first_block,
        header.l2_blocks,
        data,
        header.deposit_count,
        header.deposit_hash,
        header.data_hash,
        header.blobs_hash,
    )
    return [
        name
        for name in (
            "tx_count",
            "tx_root",
            "state_roots_root",
            "final_state_root",
            "withdrawal_root",
        )
        if getattr(again, name) != getattr(header, name)
    ]
