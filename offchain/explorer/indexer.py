"""The indexer: one :class:`~offchain.common.daemon.Daemon` that, each tick, reads every
source it is configured with (L1 events and state, the rollup node, the EMETH execution
layer) into the SQLite index, each source on its own so that one being down leaves the
others indexed; the :class:`~offchain.explorer.sources.SourceBoard` says which is down.
"""

from __future__ import annotations

import time
from typing import Any

import requests
import structlog
from web3.exceptions import Web3Exception

from offchain.common.daemon import Daemon, LoopConfig
from offchain.deploy import Deployment
from offchain.errors import L2KitError
from offchain.explorer.config import ExplorerConfig
from offchain.explorer.l1 import L1Index
from offchain.explorer.l2 import ElIndex, NodeIndex
from offchain.explorer.sources import SourceBoard
from offchain.explorer.store import IndexStore

log = structlog.get_logger("explorer.indexer")

# What a source being down raises (the tick catches these per source and carries on).
SOURCE_ERRORS: tuple[type[BaseException], ...] = (
    L2KitError,
    requests.RequestException,
    Web3Exception,
    ConnectionError,
    TimeoutError,
    ValueError,
    KeyError,
)


class Indexer(Daemon):
    """Fills the explorer's index from the L1, the node and the execution layer.

    Args:
        config: explorer settings.
        store: the index.
        deployment: the deployment file's contents.
        board: where each source's health is recorded.
    """

    name = "explorer-indexer"

    def __init__(
        self,
        config: ExplorerConfig,
        store: IndexStore,
        deployment: Deployment,
        board: SourceBoard,
    ) -> None:
        super().__init__(LoopConfig(poll_interval_ms=config.poll_interval_ms, max_failures=0))
        self.config = config
        self.store = store
        self.board = board
        self.l1 = L1Index(config, store, deployment)
        self.node = NodeIndex(config, store) if config.node_url else None
        self.el = ElIndex(config, store) if config.el_url else None
        self.stats: dict[str, Any] = {"events": 0, "l2Blocks": 0, "lastTickMs": 0.0}

    def tick(self) -> dict[str, Any]:
        """Read each source once. Never raises for a source being down."""
        t0 = time.perf_counter()
        out: dict[str, Any] = {"events": 0, "l2Blocks": 0}
        try:
            self.l1.connect()
            out["events"] = self.l1.poll_events()
            self.l1.snapshot()
            self.board.ok("l1")
        except SOURCE_ERRORS as e:
            self._down("l1", e)
            self.l1.disconnect()
        if self.node is not None:
            try:
                out["l2Blocks"] = self.node.poll()
                self.board.ok("node")
            except SOURCE_ERRORS as e:
                self._down("node", e)
        if self.el is not None:
            try:
                self.el.poll()
                self.board.ok("el")
            except SOURCE_ERRORS as e:
                self._down("el", e)
        self.stats["events"] += out["events"]
        self.stats["l2Blocks"] += out["l2Blocks"]
        self.stats["lastTickMs"] = round((time.perf_counter() - t0) * 1000, 1)
        self.store.put("indexer", {"at": time.time(), **self.stats})
        return out

    def busy(self, out: Any) -> bool:
        """Still catching up: tick again at once."""
        return bool(out and out.get("l2Blocks", 0) >= self.config.max_l2_blocks_per_tick)

    def _down(self, name: str, e: BaseException) -> None:
        msg = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        if self.board.is_ok(name):
            log.warning("source_down", source=name, error=msg)
        self.board.down(name, msg)

    def catch_up(self, max_ticks: int = 100) -> None:
        """Tick until nothing new arrives (tests, benchmarks)."""
        for _ in range(max_ticks):
            out = self.step()
            if out is not None and not out["events"] and not out["l2Blocks"]:
                return

    def health_doc(self) -> dict[str, Any]:
        """The loop's health document plus the indexer's counters."""
        return {**super().health_doc(), **self.stats}
