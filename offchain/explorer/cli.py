"""``l2kit explorer``: index the L1, a rollup node and the EMETH execution layer, and serve the
explorer's pages until Ctrl-C/SIGTERM."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from offchain.cli_common import (
    DEVNET_DEPLOYMENT,
    DEVNET_RPC_URL,
    from_config,
    resolve,
    stop_on_signal,
    wait_for_signal,
)


def explorer_cmd(
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    node_url: str = typer.Option(
        "", "--node-url", envvar="L2KIT_L2_URL", help="rollup node JSON-RPC URL (optional)"
    ),
    el_url: str = typer.Option(
        "", "--el-url", envvar="L2KIT_EL_URL", help="EMETH execution layer URL (optional)"
    ),
    port: int = typer.Option(
        None, "--port", help="HTTP port of the pages (default: config devnet.explorer_port)"
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="interface to bind"),
    db: Path = typer.Option(Path(".explorer/index.sqlite"), "--db", help="the SQLite index"),
    from_block: int = typer.Option(0, "--from-block", help="first L1 block to index"),
    poll_interval_ms: int = typer.Option(500, "--poll-interval-ms", help="indexer period"),
    refresh_s: int = typer.Option(5, "--refresh-s", help="pages' auto-refresh (0: off)"),
) -> None:
    """Serve the explorer: sequencers, batches, L2, bridge and EMETH at a glance (read-only)."""
    from offchain.explorer.config import ExplorerConfig
    from offchain.explorer.service import Explorer

    console = Console(soft_wrap=True)
    rpc_url, deployment = resolve(rpc_url, deployment)
    port = from_config(port, "devnet.explorer_port")
    cfg = ExplorerConfig(
        rpc_url=rpc_url,
        deployment_file=str(deployment),
        node_url=node_url,
        el_url=el_url,
        port=port,
        host=host,
        db_path=str(db),
        l1_start_block=from_block,
        poll_interval_ms=poll_interval_ms,
        refresh_s=refresh_s,
    )
    stop = stop_on_signal()
    with Explorer(cfg) as ex:
        console.print(f"explorer   {ex.url}/  (index {db}; Ctrl-C to stop)")
        wait_for_signal(stop)
    console.print("explorer stopped")
