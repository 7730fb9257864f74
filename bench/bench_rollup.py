"""Rollup daemon figures on a devnet (real contracts on Anvil, real blob store).

- ``sequencer_tps``: signed transfers accepted through the node's JSON-RPC submission path
  (``l2_sendTransaction``, JSON-RPC batches of 500), executed and sealed in blocks with a
  state root, over 20,000 transactions; time from the first submission until the last
  transaction's block is stored. The node runs in its own process (``l2kit rollup node run``).
- ``l2_inclusion_p99_ms``: submission (its request sent) to its block's seal timestamp, p99.
- ``sequencer_rss_mb``: the node process's peak RSS (VmHWM) after the run.
- ``fraud_detect_to_slash_s``: a sequencer posts a batch with a wrong MTSR; wall time from
  the batch appearing on L1 until the running verifier's fraud proof has slashed the
  sequencer (median of 3; the verifier polls every 100 ms).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client

N_TXS = 20_000
USERS = 40
BATCH = 500


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(cond: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError("benchmark condition not reached in time")


def _sequencer(d: Any) -> dict[str, float]:
    from offchain.bridge.client import BridgeClient

    dep = d.deployment
    sset = d.chain.contract("SequencerSet", dep.addresses["sequencer_set"])
    current = sset.functions.currentSequencer().call()
    signer_idx = next(i for i in range(1, 10) if dev_account(i).address == current)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "offchain.cli", "rollup", "node", "run",
         "--dev-account", str(signer_idx),
         "--port", str(port), "--data-dir", str(d.data_dir / "bench-node"), "--no-batcher",
         "--rpc-url", d.anvil.url, "--deployment", str(d.data_dir / "deployment.json"),
         "--storage-url", d.storage_url, "--block-time-ms", "100"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        c = L2Client(url, timeout_s=60)
        _wait(lambda: _up(c), 60)
        users = [dev_account(100 + i) for i in range(USERS)]
        funder = dev_account(5)
        bridge = BridgeClient(d.chain, dep.addresses["l1_bridge"], d.chain.sender(funder))
        for u in users:
            bridge.deposit_eth(u.address, 10**18)
        _wait(lambda: c.balance(users[-1].address) == 10**18, 60)
        domain = ltx.Domain(
            ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(dep.addresses["state_commitment"])
        )
        per_user = N_TXS // USERS
        raws = []
        for n in range(per_user):  # interleave users so every block has many senders
            for i, u in enumerate(users):
                to = users[(i + 1) % USERS].address
                raws.append(
                    "0x"
                    + ltx.encode_tx(
                        ltx.sign_transfer(bytes(u.key), domain, to, ltx.ETH, 1, 1, n)
                    ).hex()
                )
        head0 = c.status()["head"]
        sent_at: list[tuple[float, list[str]]] = []
        t0 = time.time()
        hashes: list[str] = []
        for k in range(0, len(raws), BATCH):
            chunk = raws[k : k + BATCH]
            ts = time.time()
            ans = c.call_many("l2_sendTransaction", [[r] for r in chunk])
            bad = [a for a in ans if "error" in a]
            if bad:
                raise RuntimeError(f"submission refused: {bad[0]['error']}")
            hs = [a["result"] for a in ans]
            hashes += hs
            sent_at.append((ts, hs))
        last = hashes[-1]
        _wait(lambda: (c.receipt(last) or {}).get("status") == "success", 120)
        t1 = time.time()
        rss = _peak_rss_mb(proc.pid)
        # Inclusion latency: each tx's submission to its block's seal time.
        block_ts: dict[int, int] = {}
        for n in range(head0 + 1, c.status()["head"] + 1):
            b = c.block(n)
            assert b is not None
            block_ts[n] = b["header"]["timestampMs"]
        lat = []
        for ts, hs in sent_at:
            for h in hs[:: max(1, len(hs) // 50)]:
                r = c.receipt(h)
                assert r is not None and r["status"] == "success"
                lat.append(block_ts[r["blockNumber"]] - ts * 1000)
        lat.sort()
        return {
            "sequencer_tps": round(len(raws) / (t1 - t0), 1),
            "l2_inclusion_p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
            "l2_inclusion_p50_ms": round(statistics.median(lat), 1),
            "sequencer_rss_mb": round(rss, 1),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _up(c: L2Client) -> bool:
    try:
        c.status()
        return True
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _fraud_to_slash() -> float:
    """Median of 3 devnet-style runs with the test sequencer set (see tests/rollup)."""
    from offchain.chain.anvil import Anvil
    from offchain.chain.client import Chain, connect
    from offchain.chain.compile import compile_contracts
    from tests.rollup.conftest import RollupEnv, deploy_rollup, wait_until

    compile_contracts()

    def once() -> float:
        with Anvil() as a:
            import tempfile

            from offchain.rollup.batcher.faults import Fault
            from offchain.storage.server import StorageServer

            chain = Chain(connect(a.url))
            signers = sorted(
                (dev_account(i) for i in range(20, 23)), key=lambda x: int(x.address, 16)
            )
            addresses = deploy_rollup(chain, signers)
            with tempfile.TemporaryDirectory() as tmp, StorageServer(Path(tmp) / "blobs") as st:
                env = RollupEnv(chain, dev_account(0), signers, addresses, st.url, Path(tmp))
                try:
                    nodes = env.start_nodes(signers)
                    assert nodes[0].batcher is not None
                    nodes[0].batcher.fault = Fault(
                        "wrong_mtsr", collude_keys=[bytes(s.key) for s in signers]
                    )
                    env.start_verifier(dev_account(34), run=True)
                    alice = dev_account(10)
                    env.bridge(alice).deposit_eth(alice.address, 10**18)
                    l1 = env.l1()
                    wait_until(lambda: l1.next_index() >= 1, timeout_s=30, what="faulty batch")
                    t_landed = time.monotonic()  # polled every 50 ms
                    seqset = env.seqset()
                    wait_until(
                        lambda: seqset.functions.stake(signers[0].address).call() < 10 * 10**18,
                        timeout_s=30,
                        what="slash",
                    )
                    return time.monotonic() - t_landed
                finally:
                    env.stop_nodes()

        raise RuntimeError("unreachable")

    samples = [once() for _ in range(3)]
    return statistics.median(samples)


def run() -> dict[str, float]:
    from offchain.devnet import Devnet

    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        out = _sequencer(d)
    out["fraud_detect_to_slash_s"] = round(_fraud_to_slash(), 2)
    return out


if __name__ == "__main__":
    print(run())
