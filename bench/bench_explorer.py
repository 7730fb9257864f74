"""Explorer figures on a devnet with 100 batches and 20,000 L2 transactions.

One node per active sequencer (with its batcher) runs on the devnet; 40 users send 20,000
signed transfers in 100 rounds of 200, each round batched on L1 before the next, so the L1
holds 100 batch headers. The explorer then indexes it all (L1 events, 20,000 L2 txs).

- ``explorer_page_ms_p95``: server time (the ``Server-Timing`` of each response) of every page
  (overview, sequencers, batches and a batch, L2, a block, a transaction, an address with 500
  transactions, bridge, EMETH, search), each loaded 20 times; the p95 over all loads.
- ``explorer_page_ms_max``: the slowest of those loads.
- ``explorer_index_lag_s``: an L1 deposit is mined; wall time until the bridge page (served
  by the running explorer, its indexer polling every 500 ms) shows its L1 transaction; the
  median of 5 (``explorer_index_lag_max_s``: the slowest).
- ``explorer_index_20k_txs_s``: time for the indexer to catch up from an empty index.

The explorer runs in its own process (``l2kit explorer``), as it is deployed, so the nodes of
the benchmark process do not share its interpreter lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from typing import Any

import requests
import structlog

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.devnet import Devnet
from tests.helpers.explorer import E18, RollupRun, wait_for

ROUNDS = 100
PER_ROUND = 200
USERS = 40
LOADS = 20


def _server_ms(r: requests.Response) -> float:
    return float(r.headers["Server-Timing"].split("dur=")[1])


def run() -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with (
        Devnet(ephemeral=True, log=lambda *a: None) as d,
        RollupRun(d, max_batch_txs=PER_ROUND, batch_timeout_ms=300, block_time_ms=100) as r,
    ):
        assert d.chain is not None
        chain = d.chain
        r.fund(USERS, amount_wei=E18, first=100)
        sc = r.contracts.l1()
        hashes: list[str] = []
        for k in range(ROUNDS):
            n0 = sc.next_index()
            hashes += r.transfers(PER_ROUND)
            wait_for(lambda n0=n0: sc.next_index() > n0, 60, f"batch of round {k}")  # type: ignore[misc]
        n_batches = sc.next_index()
        head = int(r.client().status()["head"])
        # The explorer in its own process, as `l2kit explorer` runs (not sharing the GIL with
        # the four nodes of this process).
        assert d.anvil is not None
        port, db = free_port(), d.data_dir / "bench-explorer" / "ix.sqlite"
        proc = subprocess.Popen(
            [sys.executable, "-m", "offchain.cli", "explorer", "--rpc-url", d.anvil.url,
             "--deployment", str(d.data_dir / "deployment.json"), "--node-url", r.url,
             "--port", str(port), "--db", str(db), "--refresh-s", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "L2KIT_LOG_LEVEL": "error"},
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            s = requests.Session()
            t0 = time.perf_counter()

            def indexed() -> bool:
                last_block = s.get(f"{base}/l2/block/{head}", timeout=30).status_code == 200
                last_batch = s.get(f"{base}/batches/{n_batches - 1}", timeout=30).status_code
                return last_block and last_batch == 200

            wait_for(indexed, 600, "the explorer's index")
            index_s = time.perf_counter() - t0
            with sqlite3.connect(db) as c:
                n_txs = int(c.execute("SELECT COUNT(*) FROM l2_txs").fetchone()[0])
            user = r.users[0].address
            pages = [
                "/", "/sequencers", "/batches", "/batches?page=3", f"/batches/{n_batches // 2}",
                "/l2", f"/l2/block/{head // 2}", f"/l2/tx/{hashes[len(hashes) // 2]}",
                f"/address/{user}", "/bridge", "/emeth", f"/search?q={hashes[-1]}",
            ]  # fmt: skip
            samples: list[float] = []
            for p in pages:
                mine = []
                for _ in range(LOADS):
                    resp = s.get(base + p, timeout=30, allow_redirects=False)
                    assert resp.status_code in (200, 303), (p, resp.status_code)
                    mine.append(_server_ms(resp))
                mine.sort()
                print(f"  {p[:40]:<40} p50 {mine[len(mine) // 2]:7.1f} ms  max {mine[-1]:7.1f} ms")
                samples += mine
            samples.sort()
            lags = []
            funder = dev_account(5)
            bridge = BridgeClient(chain, r.contracts.bridge, chain.sender(funder))
            for _ in range(5):
                dep = bridge.deposit_eth(funder.address, E18 // 100)
                t_mined = time.perf_counter()
                mark = f'data-deposit="{dep.deposit_id}"'
                wait_for(lambda m=mark: m in s.get(base + "/bridge", timeout=10).text, 30, "lag")  # type: ignore[misc]
                lags.append(time.perf_counter() - t_mined)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "explorer_page_ms_p95": round(samples[int(len(samples) * 0.95) - 1], 1),
        "explorer_page_ms_max": round(samples[-1], 1),
        "explorer_index_lag_s": round(statistics.median(lags), 2),
        "explorer_index_lag_max_s": round(max(lags), 2),
        "explorer_index_20k_txs_s": round(index_s, 1),
        "explorer_bench_batches": n_batches,
        "explorer_bench_l2_txs": n_txs,
    }
