"""``l2kit rollup ...``: run the rollup daemons and act as an L2 user.

- ``node run`` / ``batcher run``: a sequencer node (JSON-RPC, producer, deposit follower,
  co-signer; the batch submitter too unless ``--no-batcher``) until Ctrl-C/SIGTERM;
- ``verifier run``: a verifier daemon;
- ``tx transfer|withdraw`` (signed EIP-712 L2 transactions) and ``tx deposit`` (L1 bridge);
- ``balance``, ``status``.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from offchain.cli_common import (
    DEV_ACCOUNT,
    DEVNET_DEPLOYMENT,
    DEVNET_RPC_URL,
    KEY,
    L2_URL,
    STORAGE_URL,
    account,
    connect,
    from_config,
    print_json,
    wait_for_signal,
)
from offchain.errors import ConfigError

app = typer.Typer(no_args_is_help=True)
tx_app = typer.Typer(no_args_is_help=True, help="Send L2 transactions (and L1 deposits).")
node_app = typer.Typer(no_args_is_help=True, help="Sequencer node daemon.")
batcher_app = typer.Typer(no_args_is_help=True, help="Batch submitter (runs with a node).")
verifier_app = typer.Typer(no_args_is_help=True, help="Verifier daemon.")
app.add_typer(node_app, name="node")
app.add_typer(batcher_app, name="batcher")
app.add_typer(verifier_app, name="verifier")
app.add_typer(tx_app, name="tx")

ETH = "0x0000000000000000000000000000000000000000"
NODE_URL = L2_URL
# `tx transfer|withdraw|deposit` share these.
AMOUNT = typer.Option(..., "--amount", help="smallest units (wei)")
FEE = typer.Option(0, "--fee")
WAIT = typer.Option(True, "--wait/--no-wait")
# `node run` and `batcher run` (the same daemon) share these.
NODE_PORT = typer.Option(
    None, "--port", help="JSON-RPC port (default: config devnet.node_base_port)"
)
NODE_DATA_DIR = typer.Option(Path(".devnet/l2node"), "--data-dir")
PEERS = typer.Option(None, "--peers", help='JSON {"0xsigner": "http://host:port/"} or a file')


def _contracts(rpc_url: str, deployment: Path) -> Any:
    from offchain.rollup.node.service import RollupContracts

    chain, dep = connect(rpc_url, deployment)
    try:
        return RollupContracts.from_deployment(chain, dep)
    except KeyError as e:
        raise ConfigError(
            f"the deployment has no {e} contract", "deploy the rollup and bridge steps"
        ) from e


def _parse_peers(peers: str | None) -> dict[str, str]:
    if not peers:
        return {}
    try:
        text = Path(peers).read_text() if Path(peers).exists() else peers
        out = json.loads(text)
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"--peers must be JSON or a JSON file: {e}") from e
    if not isinstance(out, dict):
        raise ConfigError("--peers must map signer addresses to node URLs")
    return {str(k): str(v) for k, v in out.items()}


def _check_active_signer(contracts: Any, me: str) -> None:
    """A batching node's key must be an active signer of the sequencer set (``activeSigners``
    of ``contracts/staking/ISequencerSet.sol``): any other key can neither produce blocks nor
    co-sign batches.

    Raises:
        ConfigError: ``me`` is not active.
    """
    seqset = contracts.seqset()
    active = [str(a) for a in seqset.functions.activeSigners().call()]
    if me.lower() not in {a.lower() for a in active}:
        raise ConfigError(
            f"{me} is not an active signer of the sequencer set {seqset.address} "
            f"({len(active)} active): its node can neither produce nor co-sign batches",
            "lock stake for it (`l2kit sequencer lock AMOUNT --signer ADDRESS`), use an active "
            "signer's key, or run a read-only node with --no-batcher",
        )


def _run_node(
    key: str | None,
    dev: int | None,
    port: int,
    data_dir: Path,
    peers: str | None,
    storage_url: str,
    rpc_url: str,
    deployment: Path,
    block_time_ms: int,
    batcher: bool,
    fault: str | None,
    rotation: bool = False,
    frost_keeper: bool | None = None,
) -> None:
    from offchain.config import load_config
    from offchain.rollup.node.service import NodeService

    console = Console(soft_wrap=True)
    cfg = load_config()
    rc = cfg.rollup_node
    port = port if port is not None else cfg.devnet.node_base_port
    storage_url = from_config(storage_url, "network.storage_url")
    rc.node.port, rc.node.data_dir, rc.node.block_time_ms = port, str(data_dir), block_time_ms
    rc.node.peers = _parse_peers(peers) or rc.node.peers
    acct = account(key, dev)
    contracts = _contracts(rpc_url, deployment)
    if batcher:
        _check_active_signer(contracts, acct.address)
    svc = NodeService(
        contracts,
        acct,
        rc,
        storage_url,
        run_batcher=batcher,
        rotation=rotation,
        frost_keeper=frost_keeper,
    )
    svc.start()
    # The daemon's long-lived objects (modules, the replayed state and store) are out of the
    # collector's way from here: a full collection no longer walks them on the hot path.
    gc.collect()
    gc.freeze()
    try:
        if fault:
            from offchain.rollup.batcher.faults import Fault

            if svc.batcher is None:
                raise ConfigError("--fault needs the batcher")
            console.print(f"[bold red]FAULTY SEQUENCER MODE: {fault} (test/devnet only)[/]")
            Fault(fault).install(svc)
        console.print(f"node {acct.address} at {svc.url} (data in {data_dir}); Ctrl-C to stop")
        wait_for_signal(daemons=svc.daemons)
    finally:
        svc.stop()
    console.print("node stopped")


@node_app.command("run")
def node_run(
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
    port: int = NODE_PORT,
    data_dir: Path = NODE_DATA_DIR,
    peers: str = PEERS,
    storage_url: str = STORAGE_URL,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    block_time_ms: int = typer.Option(200, "--block-time-ms"),
    no_batcher: bool = typer.Option(False, "--no-batcher", help="do not submit batches"),
    fault: str = typer.Option(None, "--fault", help="TEST/DEVNET ONLY: misbehave (faults.MODES)"),
    rotation: bool = typer.Option(
        False,
        "--rotation/--no-rotation",
        help="heartbeat, reselect and advance epochs on L1 (off by default)",
    ),
    frost_keeper: bool = typer.Option(
        None,
        "--frost-keeper/--no-frost-keeper",
        help="run the FROST key keeper over --peers (DKG when L1 has no group key, resharing);"
        " default: with --rotation",
        show_default=False,
    ),
) -> None:
    """Run a sequencer node until Ctrl-C/SIGTERM."""
    _run_node(
        key,
        dev,
        port,
        data_dir,
        peers,
        storage_url,
        rpc_url,
        deployment,
        block_time_ms,
        not no_batcher,
        fault,
        rotation,
        frost_keeper,
    )


@batcher_app.command("run")
def batcher_run(
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
    port: int = NODE_PORT,
    data_dir: Path = NODE_DATA_DIR,
    peers: str = PEERS,
    storage_url: str = STORAGE_URL,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
) -> None:
    """Run the batch submitter with the node whose blocks it batches (same as ``node run``)."""
    _run_node(key, dev, port, data_dir, peers, storage_url, rpc_url, deployment, 200, True, None)


@verifier_app.command("run")
def verifier_run(
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
    data_dir: Path = typer.Option(Path(".devnet/verifier"), "--data-dir"),
    snapshot_dir: Path = typer.Option(
        None, "--snapshot-dir", help="local batch-data snapshots (§9.1)"
    ),
    storage_url: str = STORAGE_URL,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
    port: int = typer.Option(
        None, "--port", help="health and metrics port (default: config devnet.verifier_port)"
    ),
    beacon_url: str = typer.Option(
        None,
        "--beacon-url",
        help="beacon node REST API for Blobs-mode data (blob_sidecars; default: config "
        "rollup_node.verifier.beacon_url)",
    ),
) -> None:
    """Run a verifier until Ctrl-C/SIGTERM."""
    from offchain.config import load_config
    from offchain.rollup.verifier.daemon import Verifier
    from offchain.storage.client import BlobClient

    console = Console(soft_wrap=True)
    cfg = load_config()
    vc = cfg.rollup_node.verifier
    port = port if port is not None else cfg.devnet.verifier_port
    storage_url = from_config(storage_url, "network.storage_url")
    vc.data_dir = str(data_dir)
    vc.snapshot_dir = str(snapshot_dir) if snapshot_dir else ""
    if beacon_url is not None:
        vc.beacon_url = beacon_url
    acct = account(key, dev)
    contracts = _contracts(rpc_url, deployment)
    if int(contracts.chain.w3.eth.get_balance(acct.address)) == 0:
        raise ConfigError(
            f"verifier {acct.address} holds no ETH: it cannot pay a data request's fee or the "
            "gas of a fraud proof",
            f"send ETH to {acct.address}, or use a funded key",
        )
    v = Verifier(
        contracts,
        acct,
        BlobClient(storage_url, timeout_s=vc.storage_timeout_s),
        vc,
    )
    from offchain.rollup.node.rpc import HttpServer

    server = HttpServer(v.app(), port=port, name="l2-verifier").start()
    v.start()
    console.print(
        f"verifier {acct.address} (data in {data_dir}); health {server.url}health; Ctrl-C to stop"
    )
    try:
        wait_for_signal(daemons=lambda: [v])
    finally:
        v.stop()
        server.stop()
    console.print("verifier stopped")


# ------------------------------------------------------------------ user commands
def _client(url: str) -> Any:
    from offchain.rollup.node.client import L2Client

    return L2Client(from_config(url, "network.l2_url"))


def _domain(url: str) -> Any:
    """The L2 EIP-712 domain: the node's chain id and StateCommitment (from l2_status)."""
    from offchain.rollup.ledger import tx as ltx

    st = _client(url).status()
    return ltx.Domain(
        int(st.get("l2ChainId", ltx.DEFAULT_L2_CHAIN_ID)), ltx.to_checksum(st["stateCommitment"])
    )


def _account_and_nonce(key: str | None, dev: int | None, url: str) -> tuple[Any, int]:
    """The signing account and its next L2 nonce (read from the node)."""
    acct = account(key, dev)
    return acct, int(_client(url).nonce(acct.address))


def _send(url: str, raw: bytes, wait: bool) -> None:
    c = _client(url)
    h = c.send(raw)
    console = Console(soft_wrap=True)
    console.print(f"sent {h}")
    if wait:
        r = c.wait_receipt(h, timeout_s=30, status="")
        console.print(f"status {r['status']} in block {r['blockNumber']}")


@tx_app.command("transfer")
def tx_transfer(
    to: str = typer.Option(..., "--to"),
    amount: int = AMOUNT,
    token: str = typer.Option(ETH, "--token", help="L1 token address (0x0 = ETH)"),
    fee: int = FEE,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
    url: str = NODE_URL,
    wait: bool = WAIT,
) -> None:
    """Sign and send an L2 transfer (nonce read from the node)."""
    from offchain.rollup.ledger import tx as ltx

    acct, nonce = _account_and_nonce(key, dev, url)
    t = ltx.sign_transfer(acct, _domain(url), to, token, amount, fee, nonce)
    _send(url, ltx.encode_tx(t), wait)


@tx_app.command("withdraw")
def tx_withdraw(
    amount: int = AMOUNT,
    to: str = typer.Option(None, "--to", help="L1 recipient (default: yourself)"),
    token: str = typer.Option(ETH, "--token"),
    fee: int = FEE,
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
    url: str = NODE_URL,
    wait: bool = WAIT,
) -> None:
    """Sign and send an L2 withdrawal to L1 (finalize it on L1 after the challenge window)."""
    from offchain.rollup.ledger import tx as ltx

    acct, nonce = _account_and_nonce(key, dev, url)
    w = ltx.sign_withdraw(acct, _domain(url), to or acct.address, token, amount, fee, nonce)
    _send(url, ltx.encode_tx(w), wait)


@tx_app.command("deposit")
def tx_deposit(
    amount: int = AMOUNT,
    to: str = typer.Option(None, "--to", help="L2 recipient (default: yourself)"),
    token: str = typer.Option(ETH, "--token"),
    key: str = KEY,
    dev: int = DEV_ACCOUNT,
    rpc_url: str = DEVNET_RPC_URL,
    deployment: Path = DEVNET_DEPLOYMENT,
) -> None:
    """Deposit ETH or an ERC20 into the L1 bridge for an L2 account."""
    from offchain.bridge.client import BridgeClient

    c = _contracts(rpc_url, deployment)
    acct = account(key, dev)
    b = BridgeClient(c.chain, c.bridge, c.chain.sender(acct))
    to = to or acct.address
    dep = b.deposit_eth(to, amount) if int(token, 16) == 0 else b.deposit_erc20(token, to, amount)
    Console(soft_wrap=True).print(f"deposit #{dep.deposit_id}: {amount} of {token} for {to}")


@app.command("balance")
def balance(
    address: str = typer.Argument(...),
    token: str = typer.Option(ETH, "--token"),
    url: str = NODE_URL,
    as_json: bool = typer.Option(False, "--json", help="print one JSON document"),
) -> None:
    """L2 balance and nonce of ADDRESS."""
    c = _client(url)
    if as_json:
        bal, nonce = c.balance(address, token), c.nonce(address)
        print_json({"address": address, "token": token, "balance_wei": str(bal), "nonce": nonce})
        return
    Console(soft_wrap=True).print(
        f"{address}: {c.balance(address, token)} (token {token}), nonce {c.nonce(address)}"
    )


@app.command("status")
def status(
    url: str = NODE_URL,
    as_json: bool = typer.Option(False, "--json", help="plain JSON (no colours), for scripts"),
) -> None:
    """The node's head, state root, current sequencer and last batch (JSON)."""
    data = _client(url).status()
    if as_json:
        print_json(data)
        return
    Console(soft_wrap=True).print_json(json.dumps(data))
