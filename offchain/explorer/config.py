"""Settings of the explorer (units in names)."""

from __future__ import annotations

from dataclasses import dataclass

# Deployment keys whose contracts' events the indexer reads (any missing one is skipped).
WATCHED_CONTRACTS: tuple[str, ...] = (
    "sequencer_set",
    "locking_pool",
    "state_commitment",
    "l1_bridge",
    "da_challenge",
    "fraud_prover",
    "emeth_core",
)


@dataclass
class ExplorerConfig:
    """Where the explorer reads from and how it serves.

    Attributes:
        rpc_url: the L1 JSON-RPC endpoint.
        deployment_file: the deployment file (contract keys, artifact names, addresses).
        node_url: a rollup node's JSON-RPC URL ("" : not configured).
        el_url: the EMETH execution layer's HTTP API ("" : not configured).
        port: HTTP port of the pages (0: a free one).
        host: interface to bind.
        db_path: the SQLite index file.
        poll_interval_ms: pause between two indexer ticks.
        l1_start_block: first L1 block scanned for events.
        max_block_step: most L1 blocks read by one ``eth_getLogs``.
        max_l2_blocks_per_tick: most L2 blocks fetched from the node per tick.
        source_timeout_s: HTTP timeout towards each source.
        refresh_s: the pages' auto-refresh period (0: off).
    """

    rpc_url: str = "http://127.0.0.1:8545"
    deployment_file: str = ".devnet/deployment.json"
    node_url: str = ""
    el_url: str = ""
    port: int = 8700
    host: str = "127.0.0.1"
    db_path: str = ".explorer/index.sqlite"
    poll_interval_ms: int = 500
    l1_start_block: int = 0
    max_block_step: int = 2000
    max_l2_blocks_per_tick: int = 500
    source_timeout_s: float = 2.0
    refresh_s: int = 5
