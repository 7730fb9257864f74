"""The escape hatch from the user's side: rebuild the last final L2 state without any sequencer
and prove a balance in it (``L1Bridge.escape``; docs/spec.md, "Escape hatch").

The state at the last final batch is rebuilt by replaying, from genesis, either

- the **batch data** of batches ``0..k`` (each frame from the blob store, a snapshot
  directory such as a verifier's, or the batch's own L1 publication: blobs or calldata), or
- a sequencer node's **store** (``<data-dir>/node.db``): its blocks up to the batch's last one;

every post-state root is checked against the batch's claims and the final root against the
header on L1, so a wrong source is refused, never proven.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offchain.common.hashing import keccak
from offchain.errors import L2KitError
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch_data import decode_batch_data
from offchain.rollup.ledger.compact import BatchDataError
from offchain.rollup.ledger.ledger import Ledger
from offchain.rollup.ledger.state import State, balance_key

if TYPE_CHECKING:
    from offchain.rollup.l1.bindings import RollupL1
    from offchain.rollup.ledger.batch import BatchHeader


class EscapeError(L2KitError):
    """The escape proof cannot be built (no final batch, data unavailable, roots differ)."""


@dataclass(frozen=True)
class EscapeProof:
    """One balance of the last final state with its ``L1Bridge.escape`` arguments."""

    header: BatchHeader
    account: str
    token: str
    balance: int
    state: State

    def to_abi(self) -> tuple[Any, ...]:
        """The ``EscapeProof`` struct tuple."""
        w = self.state.witness_write(balance_key(self.account, self.token), None)
        st = self.state
        return (self.header.as_tuple(), st.tree_root, st.size, st.next_deposit_id, w.to_abi())


def last_final_index(l1: RollupL1, bridge: Any = None) -> int | None:
    """The batch escapes are against: the bridge's escape anchor once fixed (the first escape
    or refund after the freeze fixes it; None if it was fixed with no final batch), else the
    last final batch (the highest final index: the next one is then not final)."""
    from offchain.rollup.l1.bindings import BatchStatus

    if bridge is not None:
        is_set, none, index, _ = bridge.functions.escapeAnchor().call()
        if is_set:
            return None if none else int(index)
    for i in range(l1.next_index() - 1, -1, -1):
        if l1.batch_status(i) == BatchStatus.FINALIZED:
            return i
    return None


def _frame(
    l1: RollupL1, header: BatchHeader, storage_url: str | None, snapshot_dir: Path | None
) -> tuple[bytes, str]:
    from offchain.rollup.verifier.sources import l1_frame
    from offchain.storage.client import BlobClient

    key = "0x" + header.data_hash.hex()
    if storage_url:
        try:
            blob = BlobClient(storage_url, timeout_s=10).get(key)
            if keccak(blob) == header.data_hash:
                return blob, "storage"
        except (L2KitError, OSError):
            pass
    if snapshot_dir is not None:
        p = snapshot_dir / key
        if p.is_file() and keccak(p.read_bytes()) == header.data_hash:
            return p.read_bytes(), "snapshot"
    found = l1_frame(l1, header)
    if found is None:
        raise EscapeError(
            f"the data of batch {header.index} is in no source (storage, snapshot, L1)",
            "give --storage-url or --snapshot-dir, or use a node store (--node-db)",
        )
    return found


def state_from_batches(
    l1: RollupL1,
    domain: ltx.Domain,
    upto: int,
    storage_url: str | None = None,
    snapshot_dir: Path | None = None,
) -> tuple[State, dict[str, int]]:
    """Replay the data of batches ``0..upto``; returns the state and a count per source."""
    ledger = Ledger(domain)
    used: dict[str, int] = {}
    for i in range(upto + 1):
        header = l1.get_header_from_event(i)
        frame, source = _frame(l1, header, storage_url, snapshot_dir)
        used[source] = used.get(source, 0) + 1
        try:
            data = decode_batch_data(frame)
        except BatchDataError as e:
            raise EscapeError(f"batch {i}: its data does not decode: {e}") from e
        for k, raw in enumerate(data.tx_data):
            try:
                ledger.apply(ltx.decode_tx(raw), data.fee_recipients[k])
            except ltx.TxRejected as e:
                raise EscapeError(f"batch {i} step {k}: not executable ({e.code})") from e
            if ledger.root != data.post_roots[k]:
                raise EscapeError(f"batch {i} step {k}: post-state root differs from its claim")
        if ledger.root != header.final_state_root:
            raise EscapeError(f"batch {i}: replayed root differs from the header on L1")
    return ledger.state, used


def state_from_node_store(
    l1: RollupL1, domain: ltx.Domain, upto: int, node_db: Path
) -> tuple[State, dict[str, int]]:
    """Replay a node store's blocks up to the last block of batch ``upto``."""
    from offchain.rollup.node.store import NodeStore

    if not node_db.is_file():
        raise EscapeError(f"no node store at {node_db}", "pass <node data dir>/node.db")
    header = l1.get_header_from_event(upto)
    last = header.first_block + header.l2_blocks - 1
    store = NodeStore(node_db)
    ledger = Ledger(domain)
    n = 0
    for b in store.blocks(1, last):
        producer = ltx.to_checksum(b.header.producer)
        for raw in b.txs:
            t = ltx.decode_tx(raw)
            ledger.apply(t, ltx.ZERO_ADDRESS if isinstance(t, ltx.Deposit) else producer)
        n += 1
    if n != last or ledger.root != header.final_state_root:
        raise EscapeError(
            f"the node store does not reach the root of batch {upto} (blocks 1..{last})",
            "use the batch data instead (drop --node-db)",
        )
    return ledger.state, {"node_store": n}


def build_escape_proof(
    l1: RollupL1,
    domain: ltx.Domain,
    account: str,
    token: str,
    *,
    storage_url: str | None = None,
    snapshot_dir: Path | None = None,
    node_db: Path | None = None,
    bridge: Any = None,
) -> tuple[EscapeProof, dict[str, int]]:
    """The escape proof of ``account``'s ``token`` balance at the last final batch.

    Raises:
        EscapeError: no final batch, or the state cannot be rebuilt from the sources.
    """
    upto = last_final_index(l1, bridge)
    if upto is None:
        raise EscapeError("no batch is final: there is no balance to escape with")
    if node_db is not None:
        state, used = state_from_node_store(l1, domain, upto, node_db)
    else:
        state, used = state_from_batches(l1, domain, upto, storage_url, snapshot_dir)
    header = l1.get_header_from_event(upto)
    bal = state.get(balance_key(account, token))
    return EscapeProof(header, ltx.to_checksum(account), ltx.to_checksum(token), bal, state), used
