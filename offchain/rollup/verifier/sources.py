"""Where a verifier finds a batch's data frame on L1 (seed 001 §9.3; docs/spec.md, "Data
availability modes").

- **Blobs**: the ``appendBatch`` transaction that appended the header carried the blobs; their
  versioned hashes (from the transaction) must hash to the header's ``dataHash``; the blobs
  come from the L1 node (``anvil_getBlobsByTransactionHash`` on Anvil) and each is checked
  against its versioned hash by recomputing its KZG commitment.
- **Beacon API**: when a beacon node is configured, the same blobs from its
  ``/eth/v1/beacon/blob_sidecars/{slot}`` (slot = (block time - genesis time) / seconds per
  slot, from ``/eth/v1/beacon/genesis`` and ``/eth/v1/config/spec``), picked by versioned hash
  and KZG-checked like the node's.
- **Calldata**: the ``frame`` argument of ``appendBatchWithData``, checked against
  ``keccak256(frame) == dataHash``.
- **Blob answer** (Storage mode): the blobs of the ``provideBlobs`` transactions of a data
  answer, in committed order, whose versioned hashes hash to the header's ``blobsHash``, each
  KZG-checked like the append's.

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
from offchain.errors import L2KitError
from offchain.rollup.ledger.blobs import blobs_hash, blobs_to_frame, check_blobs, versioned_hash
from offchain.rollup.ledger.compact import BatchDataError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from offchain.rollup.l1.bindings import RollupL1
    from offchain.rollup.ledger.batch import BatchHeader
    from offchain.rollup.ledger.state import State
    from offchain.rollup.ledger.tx import Domain

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


def _beacon_get(beacon_url: str, path: str, timeout_s: float) -> Any | None:
    """``data`` of a beacon API GET; None when the node is down or answers an error."""
    try:
        r = requests.get(beacon_url.rstrip("/") + path, timeout=timeout_s)
        if r.status_code != 200:
            log.info("beacon_api_error", path=path, status=r.status_code, body=r.text[:120])
            return None
        return r.json()["data"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as e:
        log.info("beacon_api_unavailable", path=path, error=str(e)[:120])
        return None


def beacon_blobs(
    beacon_url: str, block_time: int, hashes: Sequence[bytes], timeout_s: float = 10.0
) -> list[bytes] | None:
    """The blobs with versioned hashes ``hashes`` (in that order) from a beacon node: the
    sidecars of the slot of the execution block at ``block_time``
    (``GET /eth/v1/beacon/blob_sidecars/{slot}``; docs/spec.md, "Data availability modes").
    None when the node is down, the slot is unknown (pruned past the data window) or a blob is
    missing; the caller KZG-checks what it returns."""
    genesis = _beacon_get(beacon_url, "/eth/v1/beacon/genesis", timeout_s)
    spec = _beacon_get(beacon_url, "/eth/v1/config/spec", timeout_s)
    if not isinstance(genesis, dict) or not isinstance(spec, dict):
        return None
    try:
        slot = (block_time - int(genesis["genesis_time"])) // int(spec["SECONDS_PER_SLOT"])
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        return None
    sidecars = _beacon_get(beacon_url, f"/eth/v1/beacon/blob_sidecars/{slot}", timeout_s)
    if not isinstance(sidecars, list):
        return None
    by_hash: dict[bytes, bytes] = {}
    for sc in sidecars:
        try:
            c = bytes.fromhex(sc["kzg_commitment"].removeprefix("0x"))
            by_hash[versioned_hash(c)] = bytes.fromhex(sc["blob"].removeprefix("0x"))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    if any(h not in by_hash for h in hashes):
        log.info("beacon_blobs_missing", slot=slot, have=len(by_hash), need=len(hashes))
        return None
    return [by_hash[h] for h in hashes]


def _tx_blobs(
    l1: RollupL1, tx: Any, hashes: Sequence[bytes], beacon_url: str = ""
) -> tuple[list[bytes], str] | None:
    """The blobs transaction ``tx`` carried (versioned hashes ``hashes``), KZG-checked: from
    the beacon node first when configured, then the L1 node; None when neither serves them."""
    blobs, source = None, "l1_blobs"
    if beacon_url:
        block = l1.sc.w3.eth.get_block(tx["blockNumber"])
        blobs, source = beacon_blobs(beacon_url, int(block["timestamp"]), hashes), "beacon_blobs"
    if blobs is None:
        blobs, source = node_blobs(l1, bytes(tx["hash"])), "l1_blobs"
    if blobs is None:
        return None
    check_blobs(blobs, hashes)
    return blobs, source


def _checked_blobs(
    l1: RollupL1, header: BatchHeader, tx: Any, beacon_url: str = ""
) -> tuple[list[bytes], list[bytes], str] | None:
    hashes = [bytes(h) for h in (tx.get("blobVersionedHashes") or [])]
    if blobs_hash(hashes) != header.data_hash:
        raise BatchDataError(
            f"batch {header.index}: the append carried blobs whose hashes are not dataHash"
        )
    got = _tx_blobs(l1, tx, hashes, beacon_url)
    return None if got is None else (got[0], hashes, got[1])


def answered_blobs(
    l1: RollupL1, header: BatchHeader, beacon_url: str = ""
) -> tuple[list[bytes], list[bytes]] | None:
    """The blobs a data answer posted for a Storage-mode ``header`` (``provideBlobs``), in
    committed order, and the committed versioned hashes; None when the header commits no blobs,
    the answer is not complete, or a blob is no longer served.

    Raises:
        BatchDataError: the posted blobs do not match their versioned hashes.
    """
    if header.blobs_hash == b"\x00" * 32 or l1.da is None:
        return None
    by_blob: dict[int, bytes] = {}
    hashes: list[bytes] = []
    for a in l1.blob_answer_txs(header):
        tx = l1.sc.w3.eth.get_transaction(HexBytes(a.tx_hash))
        _fn, args = l1.da.decode_function_input(tx["input"])
        hashes = [bytes(h) for h in args["versionedHashes"]]
        if blobs_hash(hashes) != header.blobs_hash:  # the contract checked it: never
            raise BatchDataError(f"batch {header.index}: answer hashes are not blobsHash")
        got = _tx_blobs(l1, tx, hashes[a.first : a.first + a.count], beacon_url)
        if got is None:
            return None
        for j, blob in enumerate(got[0]):
            by_blob[a.first + j] = blob
    if not hashes or len(by_blob) != len(hashes):
        return None
    return [by_blob[b] for b in range(len(hashes))], hashes


def answered_frame(l1: RollupL1, header: BatchHeader, beacon_url: str = "") -> bytes | None:
    """The frame of a Storage-mode header's blob answer (:func:`answered_blobs`, decoded).

    Raises:
        BatchDataError: the blobs do not match their hashes or do not form a frame.
    """
    got = answered_blobs(l1, header, beacon_url)
    return None if got is None else blobs_to_frame(got[0])


def l1_blobs(
    l1: RollupL1, header: BatchHeader, beacon_url: str = ""
) -> tuple[list[bytes], list[bytes]] | None:
    """The blobs the append of ``header`` carried (or, for a Storage-mode header committing
    ``blobsHash``, its blob answer posted), and their versioned hashes, each blob checked
    against its hash with KZG (whether or not they decode); None when there are none or the L1
    node no longer serves them.

    Raises:
        BatchDataError: the blobs' hashes are not the header's ``dataHash``, or a blob does not
            match its versioned hash.
    """
    if header.blobs_hash != b"\x00" * 32:
        return answered_blobs(l1, header, beacon_url)
    tx = _append_tx(l1, header)
    if tx is None or not tx.get("blobVersionedHashes"):
        return None
    got = _checked_blobs(l1, header, tx, beacon_url)
    return None if got is None else (got[0], got[1])


def l1_frame(l1: RollupL1, header: BatchHeader, beacon_url: str = "") -> tuple[bytes, str] | None:
    """The frame published on L1 with the append of ``header``, and its source name.

    Args:
        beacon_url: a beacon node's REST API, tried first for blobs ("" = the L1 node only).

    Returns:
        ``(frame, "beacon_blobs")``, ``(frame, "l1_blobs")`` or ``(frame, "l1_calldata")``;
        None when the append carried no data (Storage mode) or no source serves the blobs.

    Raises:
        BatchDataError: the blobs or calldata are there but do not match the header, or do not
            form a frame.
    """
    tx = _append_tx(l1, header)
    if tx is None:
        return None
    if tx.get("blobVersionedHashes"):
        got = _checked_blobs(l1, header, tx, beacon_url)
        return None if got is None else (blobs_to_frame(got[0]), got[2])
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


def from_l2_nodes(
    urls: Sequence[str],
    header: BatchHeader,
    state: State,
    domain: Domain,
    deposit_item: Callable[[int], bytes],
) -> bytes | None:
    """Seed 001 §9 ("Metis Blockchain"): rebuild the batch from the L2 blocks it covers, fetched
    over a node's RPC (``l2_getBlock``), re-executed on a copy of ``state`` (the replica before
    the batch), and return its frame only if every root matches the header.

    Each transaction's fee recipient is its block's producer (``address(0)`` for deposits, as
    the node applies them); deposits must be the bridge's (``deposit_item``). A node that is
    down, lacks a block, or serves blocks that do not give the header's roots is skipped.
    """
    from offchain.rollup.ledger import tx as ltx
    from offchain.rollup.ledger.batch_data import BatchData
    from offchain.rollup.ledger.ledger import Ledger
    from offchain.rollup.node.client import L2Client
    from offchain.rollup.node.execution import ZERO_ADDRESS

    for url in urls:
        try:
            c = L2Client(url)
            blocks = [
                c.block(n, full=True)
                for n in range(header.first_block, header.first_block + header.l2_blocks)
            ]
            if any(b is None for b in blocks):
                continue
            ledger = Ledger(domain, state.copy())
            txs, fees, roots, items = [], [], [], []
            for b in blocks:
                assert b is not None
                producer = ltx.to_checksum(b["header"]["producer"])
                for raw_hex in b["txs"]:
                    raw = bytes.fromhex(raw_hex.removeprefix("0x"))
                    t = ltx.decode_tx(raw)
                    if isinstance(t, ltx.Deposit):
                        if deposit_item(t.deposit_id) != ltx.deposit_hash(t):
                            raise BatchDataError(f"deposit {t.deposit_id} is not the bridge's")
                        fee = ZERO_ADDRESS
                    else:
                        fee = producer
                    r = ledger.apply(t, fee)
                    txs.append(raw)
                    fees.append(ltx.to_checksum(fee))
                    roots.append(r.post_state_root)
                    items.append(r.withdrawal_item)
        except (L2KitError, ValueError, KeyError, TypeError, requests.RequestException) as e:
            log.info("l2_node_source_failed", url=url, index=header.index, error=str(e)[:120])
            continue
        data = BatchData(txs, fees, roots, items)
        r2 = data.roots() if data.tx_data else None
        if (
            r2 is not None
            and len(data) == header.tx_count
            and (r2.mttbr, r2.mtsr, r2.withdrawal_root)
            == (header.tx_root, header.state_roots_root, header.withdrawal_root)
            and data.final_state_root == header.final_state_root
        ):
            return data.encode()
        log.info("l2_node_blocks_do_not_match", url=url, index=header.index)
    return None
