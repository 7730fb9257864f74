"""Prometheus metrics of one sequencer node."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class NodeMetrics:
    """Prometheus metrics of one node (own registry, so several nodes share a process)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.accepted = Counter("l2_txs_accepted", "submissions accepted", registry=r)
        self.rejected = Counter("l2_txs_rejected", "submissions refused", ["reason"], registry=r)
        self.forwarded = Counter("l2_txs_forwarded", "submissions forwarded", registry=r)
        self.blocks = Counter("l2_blocks", "blocks stored", ["origin"], registry=r)
        self.refused_blocks = Counter(
            "l2_blocks_refused", "peer blocks refused", ["reason"], registry=r
        )
        self.head = Gauge("l2_head", "number of the last block", registry=r)
        self.mempool = Gauge("l2_mempool", "unsealed transactions", registry=r)
        self.seal_s = Histogram("l2_seal_seconds", "time to seal a block", registry=r)
