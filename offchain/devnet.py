"""A local devnet: Anvil + every contract + the blob store (+ agents added by scenes).

``l2kit devnet up`` runs one until Ctrl-C/SIGTERM; the demo and the tests use
:class:`Devnet` as a context manager, which always stops what it started.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import typer
from rich.console import Console

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import Anvil, port_in_use
from offchain.chain.client import Chain, connect
from offchain.chain.compile import compile_contracts
from offchain.cli_common import stop_on_signal, wait_for_signal
from offchain.config import L2KitConfig, load_config
from offchain.deploy import Deployment, deploy_all
from offchain.errors import ConfigError
from offchain.rollup.l1.bindings import DataMode


class Service(Protocol):
    """Anything the devnet started and must stop."""

    def stop(self) -> None: ...


@dataclass
class Devnet:
    """Anvil, the deployed contracts and the storage service.

    Args:
        config: settings (ports, data dir, domain parameters).
        ephemeral: use free ports and a temporary data dir (tests, demo).
        log: where progress lines go.
    """

    config: L2KitConfig = field(default_factory=load_config)
    ephemeral: bool = False
    log: Any = print
    anvil: Anvil | None = None
    chain: Chain | None = None
    deployment: Deployment | None = None
    storage_url: str = ""
    explorer_url: str = ""
    data_dir: Path = Path(".devnet")
    services: list[Service] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> Devnet:
        t0 = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.timings["devnet_up_s"] = time.perf_counter() - t0
        return self

    def _start(self) -> None:
        from offchain.storage.server import StorageServer

        cfg = self.config.devnet
        if self.ephemeral:
            self._tmp = tempfile.TemporaryDirectory(prefix="l2kit-devnet-")
            self.data_dir = Path(self._tmp.name)
        else:
            self.data_dir = Path(cfg.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.ephemeral and port_in_use(cfg.storage_port):
            raise ConfigError(
                f"storage port {cfg.storage_port} is already in use",
                "stop what listens there or pick another port with --storage-port",
            )
        res = compile_contracts(log=self.log)
        self.timings["compile_s"] = res.seconds
        if not res.cached:
            self.log(f"compiled   {res.contracts} contracts in {res.seconds:.1f}s")
        self.anvil = Anvil(
            port=None if self.ephemeral else cfg.anvil_port,
            block_time_s=cfg.block_time_s or None,
        ).start()
        self.timings["anvil_ready_s"] = self.anvil.ready_s
        self.log(f"anvil      {self.anvil.url} (chain id {self.anvil.chain_id})")
        self.chain = Chain(connect(self.anvil.url))
        self.config.network.rpc_url = self.anvil.url
        self.deployment = deploy_all(
            self.chain, self.chain.sender(dev_account(0)), self.config, log=self.log
        )
        self.deployment.save(self.data_dir / "deployment.json")
        storage = StorageServer(
            self.data_dir / "blobs", port=None if self.ephemeral else cfg.storage_port
        ).start()
        self.services.append(storage)
        self.storage_url = storage.url
        self.log(f"storage    {self.storage_url}")

    def start_explorer(self, node_url: str = "", el_url: str = "") -> str:
        """Serve the explorer over this devnet (and the node / execution layer if given).

        Its index lives in the data dir, started afresh (the chain is new). Returns its URL.
        """
        from offchain.explorer.config import ExplorerConfig
        from offchain.explorer.service import Explorer

        assert self.anvil is not None and self.deployment is not None
        db = self.data_dir / "explorer" / "index.sqlite"
        for f in (db, db.with_suffix(".cursor.json"), Path(f"{db}-wal"), Path(f"{db}-shm")):
            f.unlink(missing_ok=True)
        cfg = ExplorerConfig(
            rpc_url=self.anvil.url,
            node_url=node_url,
            el_url=el_url,
            port=0 if self.ephemeral else self.config.devnet.explorer_port,
            db_path=str(db),
        )
        ex = Explorer(cfg, self.deployment).start()
        self.services.append(ex)
        self.explorer_url = ex.url + "/"
        self.log(f"explorer   {self.explorer_url}")
        return self.explorer_url

    def info(self) -> dict[str, Any]:
        """Endpoints and addresses (what ``devnet up`` prints and writes to devnet.json)."""
        assert self.anvil and self.deployment
        return {
            "rpc_url": self.anvil.url,
            "chain_id": self.anvil.chain_id,
            "storage_url": self.storage_url,
            "explorer_url": self.explorer_url,
            "data_dir": str(self.data_dir),
            "contracts": self.deployment.addresses,
            "deployer": self.deployment.deployer,
        }

    def stop(self) -> None:
        """Stop services in reverse order, then Anvil. Safe to call twice."""
        while self.services:
            svc = self.services.pop()
            try:
                svc.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the rest
                self.log(f"warning: stopping {type(svc).__name__}: {e}")
        if self.anvil is not None:
            self.anvil.stop()
            self.anvil = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Devnet:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


app = typer.Typer(no_args_is_help=True)


@app.command("up")
def up(
    port: int = typer.Option(None, "--port", help="Anvil port (default: config devnet.anvil_port)"),
    storage_port: int = typer.Option(
        None, "--storage-port", help="blob store port (default: config devnet.storage_port)"
    ),
    data_dir: Path = typer.Option(
        None,
        "--data-dir",
        help="blobs, deployment.json and devnet.json (default: config devnet.data_dir)",
    ),
    explorer_port: int = typer.Option(
        None,
        "--explorer-port",
        help="explorer port, 0: none (default: config devnet.explorer_port)",
    ),
    da_mode: str = typer.Option(
        None,
        "--da-mode",
        help="blobs, storage or calldata (default: config devnet.da_mode)",
    ),
    full: bool = typer.Option(
        False,
        "--full",
        help="also 4 sequencer nodes (batchers, rotation), a verifier, EMETH and its agents",
    ),
) -> None:
    """Start Anvil, deploy everything, start the storage service; stop cleanly on Ctrl-C/SIGTERM.

    With --full, the whole system on fixed ports: nodes 9545-9548, verifier 9600, EMETH
    execution layer 8800 (see `l2kit devnet status`).
    """
    console = Console(soft_wrap=True)
    cfg = load_config()
    # A flag overrides the config only when it is given.
    if port is not None:
        cfg.devnet.anvil_port = port
    if storage_port is not None:
        cfg.devnet.storage_port = storage_port
    if data_dir is not None:
        cfg.devnet.data_dir = str(data_dir)
    data_dir = Path(cfg.devnet.data_dir)
    if explorer_port is not None:
        cfg.devnet.explorer_port = explorer_port
    if da_mode is not None:
        cfg.devnet.da_mode = da_mode
    cfg.rollup.da_mode = DataMode.parse(cfg.devnet.da_mode).name.lower()
    stop = stop_on_signal()
    out = data_dir / "devnet.json"
    out.unlink(missing_ok=True)  # never leave stale endpoints around
    t0 = time.perf_counter()
    with Devnet(cfg, log=console.print) as d:
        health: dict[str, str] = {}
        if full:
            from offchain.devnet_full import start_full

            health = start_full(d)
        elif cfg.devnet.explorer_port:
            d.start_explorer()
        info = d.info()
        info["health"] = health or {"storage": f"{d.storage_url}/health"}
        if d.explorer_url:
            info["health"].setdefault("explorer", f"{d.explorer_url.rstrip('/')}/health")
        d.timings["devnet_up_s"] = time.perf_counter() - t0
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        tmp.replace(out)  # atomic: readers never see a half-written file
        try:
            console.print(
                f"[green]devnet up[/] in {d.timings['devnet_up_s']:.2f}s; details in {out}"
            )
            for k, v in info["contracts"].items():
                console.print(f"  {k:<22} {v}")
            console.print("press Ctrl-C to stop")
            wait_for_signal(stop)
            console.print("stopping devnet")
        finally:
            out.unlink(missing_ok=True)
    console.print("devnet stopped")


@app.command("status")
def status_cmd(
    data_dir: Path = typer.Option(
        None, "--data-dir", help="where devnet.json is (default: config devnet.data_dir)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """Health of each component of the running devnet (from its devnet.json)."""
    from offchain.cli_common import make_console, print_json
    from offchain.devnet_full import status

    where = data_dir or Path(load_config().devnet.data_dir)
    f = where / "devnet.json"
    if not f.exists():
        raise ConfigError(f"no running devnet: {f} does not exist", "start one: l2kit devnet up")
    rows = status(json.loads(f.read_text()))
    if as_json:
        print_json([{"component": c, "status": s, "detail": d} for c, s, d in rows])
    else:
        console = make_console()
        for c, s, d in rows:
            color = {"ok": "green", "degraded": "yellow"}.get(s, "red")
            console.print(f"{c:<52} [{color}]{s:<9}[/] {d}")
    if any(s != "ok" for _, s, _ in rows):
        raise typer.Exit(1)
