"""``l2kit devnet up --full``: the whole system on one machine, on fixed documented ports.

On top of :class:`~offchain.devnet.Devnet` (Anvil, every contract, the blob store): one
sequencer node per active sequencer (four on a devnet: dev accounts 1..4), each with its
batcher and the rotation follower (heartbeats, reselection, epochs), peers of one another;
a verifier; the EMETH execution layer with all its agents (signer, splitter, verifier,
aggregator, timeouts, billing, three nodes). Ports (``devnet.*`` settings):

=================  ======  ==================================
component          port    health
=================  ======  ==================================
anvil (L1 RPC)     8545    ``eth_chainId``
storage            8600    ``GET /health``
explorer           8700    ``GET /health``
EMETH exec. layer  8800    ``GET /health``
sequencer nodes    9545..  ``GET /health`` (JSON-RPC on ``/``)
verifier           9600    ``GET /health``
=================  ======  ==================================
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offchain.chain.accounts import dev_account
from offchain.errors import ConfigError

if TYPE_CHECKING:
    from offchain.devnet import Devnet

VERIFIER_ACCOUNT = 28  # dev account of the full devnet's rollup verifier


def start_full(d: Devnet) -> dict[str, str]:
    """Start nodes, verifier and EMETH on a started devnet; they stop with it.

    Returns:
        Component name -> its health URL (also written to ``devnet.json`` as ``health``).

    Raises:
        ConfigError: a fixed port is taken, or an active sequencer is not a dev account.
    """
    from offchain.chain.anvil import port_in_use
    from offchain.emeth.runtime import stack_for_devnet
    from offchain.rollup.node.rpc import HttpServer
    from offchain.rollup.node.service import NodeService, RollupContracts
    from offchain.rollup.verifier.daemon import Verifier
    from offchain.storage.client import BlobClient

    assert d.chain is not None and d.deployment is not None
    dc, cfg = d.config.devnet, d.config
    contracts = RollupContracts.from_deployment(d.chain, d.deployment)
    active = [str(a) for a in contracts.seqset().functions.activeSigners().call()]
    devs: dict[str, Any] = {str(dev_account(i).address): dev_account(i) for i in range(40)}
    if not all(a in devs for a in active):
        raise ConfigError("an active sequencer is not a dev account", "use a fresh devnet")
    ports = {a.lower(): (0 if d.ephemeral else dc.node_base_port + i) for i, a in enumerate(active)}
    wanted = [*ports.values(), dc.verifier_port, dc.el_port] if not d.ephemeral else []
    for p in wanted:
        if port_in_use(p):
            raise ConfigError(f"port {p} is already in use", "stop what listens there")
    if d.ephemeral:
        from offchain.chain.anvil import free_port

        ports = {a: free_port() for a in ports}
    peers = {a: f"http://127.0.0.1:{p}/" for a, p in ports.items()}
    health: dict[str, str] = {"storage": f"{d.storage_url}/health"}
    base = Path(d.data_dir)
    for a in active:
        rc = replace(
            cfg.rollup_node,
            node=replace(
                cfg.rollup_node.node,
                port=ports[a.lower()],
                data_dir=str(base / "nodes" / a),
                peers=peers,
            ),
        )
        node = NodeService(contracts, devs[a], rc, d.storage_url, run_batcher=True, rotation=True)
        d.services.append(node.start())
        health[f"node {a}"] = f"{node.url.rstrip('/')}/health"
        d.log(f"node       {node.url} (sequencer {a}, batcher, rotation)")
    vc = replace(cfg.rollup_node.verifier, data_dir=str(base / "verifier"))
    verifier = Verifier(
        contracts,
        dev_account(VERIFIER_ACCOUNT),
        BlobClient(d.storage_url, timeout_s=vc.storage_timeout_s),
        vc,
    )
    server = HttpServer(verifier.app(), port=0 if d.ephemeral else dc.verifier_port)
    d.services.append(server.start())
    d.services.append(verifier.start())
    health["verifier"] = f"{server.url}health"
    d.log(f"verifier   {server.url}")
    agents = replace(cfg.emeth_agents, el_port=0 if d.ephemeral else dc.el_port)
    stack = stack_for_devnet(d, n_nodes=3, config=agents)
    d.services.append(stack)
    stack.fund_nodes()
    stack.start_service().start_agents()
    health["emeth"] = f"{stack.url}/health"
    d.log(f"emeth      {stack.url} ({len(stack.agents)} agents)")
    if dc.explorer_port and not d.explorer_url:
        d.start_explorer(node_url=next(iter(peers.values())), el_url=stack.url)
    if d.explorer_url:
        health["explorer"] = f"{d.explorer_url.rstrip('/')}/health"
    return health


def status(info: dict[str, Any], timeout_s: float = 3.0) -> list[tuple[str, str, str]]:
    """(component, status, detail) of every component listed in a ``devnet.json``.

    ``ok`` for HTTP 200 (or an answering L1), ``degraded``/``down`` with the reason otherwise.
    """
    import requests

    out: list[tuple[str, str, str]] = []
    try:
        r = requests.post(
            info["rpc_url"],
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
            timeout=timeout_s,
        )
        out.append(("anvil", "ok", f"block {int(r.json()['result'], 16)}"))
    except (requests.RequestException, KeyError, ValueError) as e:
        out.append(("anvil", "down", type(e).__name__))
    health = info.get("health") or {"storage": f"{info.get('storage_url', '')}/health"}
    for name, url in health.items():
        t0 = time.perf_counter()
        try:
            r = requests.get(url, timeout=timeout_s)
            body = (
                r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            )
            state = str(body.get("status", "ok" if r.status_code == 200 else "down"))
            if r.status_code != 200 and state == "ok":
                state = "degraded"
            failing = body.get("failing") or ""
            detail = f"HTTP {r.status_code} in {(time.perf_counter() - t0) * 1000:.0f} ms"
            out.append((name, state, f"{detail} {failing}".strip()))
        except requests.RequestException as e:
            out.append((name, "down", type(e).__name__))
    return out
