"""What L1 holds of the node's batches, for ``l2_status`` (never a batch still in flight).

The node records a batch when its batcher builds it, before ``appendBatch`` is mined; after an
L1 reorg the record may outlive the batch on L1 until the batcher re-syncs. The status
therefore reads StateCommitment each time: ``lastBatch`` is the highest index among the node's
records whose header L1 holds at the latest block (``matchesHeader``), ``lastSafeBatch`` the
same ``confirmations`` blocks below it.
"""

from __future__ import annotations

from typing import Any

import structlog

from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.node.store import NodeStore

log = structlog.get_logger("rollup.l1view")

# How far below L1's nextIndex the view looks for one of the node's records before giving up
# (a node that never batched, or whose records were all removed, reports null).
MAX_SCAN = 64


class L1BatchView:
    """Reads StateCommitment (``contracts/rollup/StateCommitment.sol``: ``nextIndex``,
    ``matchesHeader``) at a block.

    Args:
        state_commitment: the StateCommitment web3 contract.
        confirmations: depth of ``lastSafeBatch`` below the latest L1 block.
    """

    def __init__(self, state_commitment: Any, confirmations: int) -> None:
        self.sc = state_commitment
        self.confirmations = confirmations

    def last_held(self, store: NodeStore, block: int | str) -> int | None:
        """The highest batch index of ``store`` that L1 holds at ``block``, or None."""
        fn = self.sc.functions
        top = int(fn.nextIndex().call(block_identifier=block)) - 1
        last = store.last_batch()
        if last is None or top < 0:
            return None
        for index in range(min(top, int(last["index"])), max(-1, top - MAX_SCAN), -1):
            rec = store.batch(index)
            if rec is None:
                continue
            digest = BatchHeader.from_json(rec["header"]).hash()
            if fn.matchesHeader(index, digest).call(block_identifier=block):
                return index
        return None

    def status(self, store: NodeStore) -> dict[str, Any]:
        """``lastBatch`` / ``lastSafeBatch`` (null when L1 cannot be read; ``l1Error`` says why)."""
        try:
            head = int(self.sc.w3.eth.block_number)
            safe = max(0, head - self.confirmations)
            return {
                "lastBatch": self.last_held(store, head),
                "lastSafeBatch": self.last_held(store, safe),
                "l1Block": head,
            }
        except Exception as e:  # noqa: BLE001 - the status must answer while L1 is down
            log.warning("l1_status_unavailable", error=str(e)[:200])
            return {"lastBatch": None, "lastSafeBatch": None, "l1Error": str(e)[:200]}


class OwnRecords:
    """The status of a node with no L1 (tests of the node alone): its own batch records."""

    def status(self, store: NodeStore) -> dict[str, Any]:
        last = store.last_batch()
        return {"lastBatch": last["index"] if last else None}
