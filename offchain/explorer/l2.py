"""The L2 and EMETH parts of the index: blocks and transactions read from a rollup node's
``l2_*`` JSON-RPC, and snapshots of the EMETH execution layer's jobs and Tickets.
"""

from __future__ import annotations

import contextlib
from typing import Any

import requests

from offchain.common.hashing import keccak
from offchain.errors import RpcError
from offchain.explorer.config import ExplorerConfig
from offchain.explorer.store import IndexStore
from offchain.rollup.errors import TxRejected
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.ethtx import StandardTx
from offchain.rollup.node.client import L2Client

KINDS = {ltx.Deposit: "deposit", ltx.Transfer: "transfer", ltx.Withdraw: "withdraw"}


def decode_block(b: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An ``l2_getBlock(n, true)`` answer as a block row and its transaction rows."""
    h = b["header"]
    number = int(h["number"])
    block = {
        "number": number,
        "hash": str(b["hash"]).lower(),
        "ts_ms": int(h["timestampMs"]),
        "tx_count": int(h["txCount"]),
        "producer": str(h["producer"]).lower(),
        "state_root": str(h["stateRoot"]).lower(),
    }
    txs = []
    for i, (th, raw) in enumerate(zip(b.get("txHashes", []), b.get("txs", []), strict=False)):
        try:
            enc = bytes.fromhex(raw[2:])
            t = ltx.decode_tx(enc)
        except (ValueError, TxRejected):
            continue
        leaf_hash = "0x" + keccak(enc).hex()  # what the MTTBR leaf binds (not txHash for 0x03)
        if isinstance(t, StandardTx):
            if t.action is not None and t.sender is not None:
                a = t.action
                txs.append({"hash": str(th).lower(), "block": number, "idx": i,
                            "kind": "withdraw" if a.is_withdrawal else "transfer",
                            "token": a.token.lower(), "sender": t.sender.lower(),
                            "recipient": a.recipient.lower(), "amount": a.amount,
                            "fee": t.fee, "nonce": t.nonce, "leaf_hash": leaf_hash})  # fmt: skip
            continue
        if isinstance(t, ltx.Forced):  # listed as the user tx it carries
            t = t.tx
        row: dict[str, Any] = {"hash": str(th).lower(), "block": number, "idx": i,
                               "leaf_hash": leaf_hash,
                               "kind": KINDS[type(t)], "token": t.token.lower()}  # fmt: skip
        if isinstance(t, ltx.Deposit):
            row.update(sender=t.l1_sender.lower(), recipient=t.recipient.lower(),
                       amount=t.amount, fee=0, nonce=t.deposit_id)  # fmt: skip
        elif isinstance(t, ltx.Transfer):
            row.update(sender=t.sender.lower(), recipient=t.to.lower(), amount=t.amount,
                       fee=t.fee, nonce=t.nonce)  # fmt: skip
        else:
            row.update(sender=t.sender.lower(), recipient=t.l1_recipient.lower(),
                       amount=t.amount, fee=t.fee, nonce=t.nonce)  # fmt: skip
        txs.append(row)
    return block, txs


class NodeIndex:
    """Copies new L2 blocks from the node into the store; follows the node's rollbacks.

    Args:
        config: explorer settings (``node_url``, ``max_l2_blocks_per_tick``).
        store: the index.
    """

    def __init__(self, config: ExplorerConfig, store: IndexStore) -> None:
        self.config = config
        self.store = store
        self.client = L2Client(config.node_url, timeout_s=config.source_timeout_s)

    def poll(self) -> int:
        """One step: the node's status, then up to ``max_l2_blocks_per_tick`` new blocks.

        Returns:
            How many blocks were stored.

        Raises:
            RpcError: the node does not answer.
        """
        status = self.client.status()
        self.store.put("node_status", status)
        head = int(status["head"])
        ours = self.store.l2_head()
        if ours is not None:
            if ours > head:
                self.store.drop_l2_from(head + 1)
                ours = head
            mine = self.store.scalar("SELECT hash FROM l2_blocks WHERE number = ?", ours)
            theirs = self.client.block(ours)
            if theirs is None or str(theirs["hash"]).lower() != mine:
                self.store.drop_l2_from(max(0, ours - 64))  # re-read the recent past
                ours = self.store.l2_head()
        start = 0 if ours is None else ours + 1
        end = min(head, start + self.config.max_l2_blocks_per_tick - 1)
        if end < start:
            return 0
        answers = self.client.call_many("l2_getBlock", [[n, True] for n in range(start, end + 1)])
        stored = 0
        with self.store.tx() as c:
            for a in answers:
                b = a.get("result")
                if not b:
                    continue  # no such block (the chain starts at 1)
                block, txs = decode_block(b)
                self.store.add_l2_block(block, txs, c)
                stored += 1
        return stored


class ElIndex:
    """Snapshots the EMETH execution layer's jobs and Tickets (its public HTTP API).

    Args:
        config: explorer settings (``el_url``).
        store: the index.
    """

    def __init__(self, config: ExplorerConfig, store: IndexStore) -> None:
        self.url = config.el_url.rstrip("/")
        self.timeout_s = config.source_timeout_s
        self.store = store
        self._session = requests.Session()

    def _get(self, path: str, **params: Any) -> Any:
        try:
            r = self._session.get(self.url + path, params=params, timeout=self.timeout_s)
        except requests.RequestException as e:
            raise RpcError(f"cannot reach the execution layer at {self.url}: {e}") from e
        if r.status_code != 200:
            raise RpcError(f"execution layer {path} answered HTTP {r.status_code}")
        return r.json()

    def poll(self) -> None:
        """Refresh the ``emeth_jobs``, ``emeth_tickets`` and ``emeth_health`` snapshots.

        Raises:
            RpcError: the execution layer does not answer.
        """
        jobs = self._get("/jobs", limit=1000)
        tickets = self._get("/tickets", limit=1000)
        self.store.put("emeth_jobs", jobs)
        self.store.put("emeth_tickets", tickets)
        # /health answers 503 while degraded: the jobs above are still good.
        with contextlib.suppress(RpcError):
            self.store.put("emeth_health", self._get("/health"))
