"""Where a verifier finds a batch's data frame on L1 (seed 001 §9.3; docs/spec.md, "Data
availability modes").

- **Blobs**: the ``appendBatch`` transaction that appended the header carried the blobs; their
  versioned hashes (from the transaction) must hash to the header's ``dataHash``; the blobs
  come from the L1 node (``anvil_getBlobsByTransactionHash`` on Anvil) and each is checked
  against its versioned hash by recomputing its KZG commitment.
- **Calldata**: the ``frame`` argument of ``appendBatchWithData``, checked against
  ``keccak256(frame) == dataHash``.

Every function returns ``None`` when the source does not have the data, and raises nothing
but :class:`~offchain.rollup.ledger.compact.BatchDataError` for data that is there but wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
import structlog
from hexbytes import HexBytes
from web3.types import RPCEndpoint

from offchain.common.hashing import keccak
from offchain.rollup.ledger.blobs import blobs_hash, blobs_to_frame, check_blobs
from offchain.rollup.ledger.compact import BatchDataError

if TYPE_CHECKING:
    from offchain.rollup.l1.bindings import RollupL1
    from offchain.rollup.ledger.batch import BatchHeader

log = structlog.get_logger("rollup.verifier.sources")


def _append_tx(l1: RollupL1, header: BatchHeader) -> Any | None:
    """The L1 transaction whose ``BatchAppended`` event carries exactly ``header``."""
    hh = header.hash()
    for ab in reversed(l1._appended_at_index(header.index)):
        if ab.header_hash == hh:
            return l1.sc.w3.eth.get_transaction(HexBytes(ab.tx_hash))
    return None


def node_blobs(l1: RollupL1, tx_hash: bytes) -> list[bytes] | None:
    """Blobs of ``tx_hash`` from the L1 node (Anvil's ``anvil_getBlobsByTransactionHash``)."""
    try:
        res = l1.sc.w3.provider.make_request(
            RPCEndpoint("anvil_getBlobsByTransactionHash"), ["0x" + tx_hash.hex()]
        )
    except (requests.RequestException, ValueError) as e:
        log.info("l1_blobs_unavailable", error=str(e)[:120])
        return None
    blobs = res.get("result") if isinstance(res, dict) else None
    if not blobs:
        return None
    return [bytes.fromhex(b.removeprefix("0x")) for b in blobs]


def l1_frame(l1: RollupL1, header: BatchHeader) -> tuple[bytes, str] | None:
    """The frame published on L1 with the append of ``header``, and its source name.

    Returns:
        ``(frame, "l1_blobs")`` or ``(frame, "l1_calldata")``; None when the append carried
        no data (Storage mode) or the L1 node no longer serves the blobs.

    Raises:
        BatchDataError: the blobs or calldata are there but do not match the header, or do not
            form a frame.
    """
    tx = _append_tx(l1, header)
    if tx is None:
        return None
    hashes = [bytes(h) for h in (tx.get("blobVersionedHashes") or [])]
    if hashes:
        if blobs_hash(hashes) != header.data_hash:
            raise BatchDataError(
                f"batch {header.index}: the append carried blobs whose hashes are not dataHash"
            )
        blobs = node_blobs(l1, bytes(tx["hash"]))
        if blobs is None:
            return None
        check_blobs(blobs, hashes)
        return blobs_to_frame(blobs), "l1_blobs"
    try:
        fn, args = l1.sc.decode_function_input(tx["input"])
    except ValueError:
        return None
    if fn.fn_name != "appendBatchWithData":
        return None
    frame = bytes(args["frame"])
    if keccak(frame) != header.data_hash:
        raise BatchDataError(f"batch {header.index}: calldata frame does not hash to dataHash")
    return frame, "l1_calldata"
