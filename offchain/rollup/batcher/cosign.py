"""Co-signing batches (the seeds' MPC step, as k-of-n signatures): the node's ``POST /cosign``.

This plugs the node into :mod:`offchain.staking.cosigner` (chain/contract/digest checks and
the persisted equivocation guard) with two rollup-specific pieces:

- the **validator**: a node signs a header only after rebuilding that batch from its own
  stored blocks and getting the very same header, so a sequencer cannot obtain honest
  peers' signatures for roots its blocks do not produce;
- an **invalidation-aware signed log**: after L1 invalidated batch ``i`` (or it never
  landed), the next sequencer re-submits a different header for index ``i`` (seed §11.14);
  signing it is allowed while index ``i`` holds no valid batch on L1. A second header for
  an index whose batch is valid on L1 is still refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import APIRouter

from offchain.rollup.l1.bindings import DataMode
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.ledger.compact import BatchDataError
from offchain.rollup.node.errors import BatchError
from offchain.rollup.node.node import SequencerNode
from offchain.staking.cosigner import Cosigner, SignedLog, create_router
from offchain.staking.errors import CosignRefused

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from offchain.rollup.l1.bindings import RollupL1

log = structlog.get_logger("rollup.cosign")


class InvalidationAwareLog(SignedLog):
    """A :class:`SignedLog` that lets a node re-sign an index L1 holds no valid batch at.

    Args:
        path: sqlite file.
        l1: the rollup's L1 bindings (reads ``nextIndex``).
    """

    def __init__(self, path: str | Path, l1: RollupL1) -> None:
        super().__init__(path)
        self.l1 = l1

    def claim(self, contract: str, index: int, header_hash: str) -> str | None:
        conflict = super().claim(contract, index, header_hash)
        if conflict is None:
            return None
        if index < self.l1.next_index():
            return conflict  # a valid batch sits at this index: never sign another one
        with self._lock:
            self._db.execute(
                "UPDATE signed SET header_hash=? WHERE contract=? AND idx=?",
                (header_hash, contract, index),
            )
            self._db.commit()
        log.info("cosign_resign_after_invalidation", index=index, old=conflict, new=header_hash)
        return None


def batch_validator(
    node: SequencerNode,
    deposit_hash: Callable[[int], bytes],
    data_mode: Callable[[], DataMode] = lambda: DataMode.STORAGE,
) -> Any:
    """The check a node applies before co-signing: rebuild the batch from its blocks, with
    the data commitment of the L1's current ``data_mode`` (the blobs' hashes in Blobs mode)."""
    from offchain.rollup.batcher.plan import build_batch

    def validate(
        contract: str, index: int, header_hash: bytes, header_json: dict[str, Any]
    ) -> None:
        try:
            header = BatchHeader.from_json(header_json)
        except Exception as e:  # noqa: BLE001 - any malformed header is a refusal
            raise CosignRefused(f"malformed batch header: {e}") from None
        if header.hash() != header_hash or header.index != index:
            raise CosignRefused("header does not hash to header_hash / carry batch_index")
        last = header.first_block + header.l2_blocks - 1
        if node.head < last:
            node.wait_for_block(last, timeout_s=1.0)
        if node.head < last:
            node.sync_from_current(last)
        try:
            mine = build_batch(
                node, index, header.first_block, last, deposit_hash, data_mode()
            ).header
        except BatchDataError as e:
            raise CosignRefused(f"cannot rebuild batch {index}: {e}") from None
        except BatchError as e:
            raise CosignRefused(f"cannot rebuild batch {index}: {e.message}") from None
        if mine.hash() != header.hash():
            theirs = header.to_json()
            diff = [k for k, v in mine.to_json().items() if theirs[k] != v]
            log.warning("cosign_refused", index=index, diff=diff)
            raise CosignRefused(f"batch {index} differs from this node's blocks in {diff}")

    return validate


def node_cosigner(
    node: SequencerNode,
    account: LocalAccount,
    chain_id: int,
    l1: RollupL1,
    deposit_hash: Callable[[int], bytes],
    log_path: str | Path,
    active_signers: Callable[[], Sequence[str]] | None = None,
) -> Cosigner:
    """The signing policy of ``node``: the co-signer checks plus its batch validator (also
    run by ``/frost/sign`` before a FROST share); ``active_signers`` reads
    ``SequencerSet.activeSigners()`` (the absence bitmap's order)."""
    return Cosigner(
        account=account,
        chain_id=chain_id,
        contracts={l1.sc.address},
        validator=batch_validator(node, deposit_hash, l1.data_mode),
        log=InvalidationAwareLog(log_path, l1),
        active_signers=active_signers,
    )


def cosign_router(
    node: SequencerNode,
    account: LocalAccount,
    chain_id: int,
    l1: RollupL1,
    deposit_hash: Callable[[int], bytes],
    log_path: str | Path,
) -> APIRouter:
    """The ``/cosign`` router of ``node`` (see the module docstring)."""
    return create_router(node_cosigner(node, account, chain_id, l1, deposit_hash, log_path))
