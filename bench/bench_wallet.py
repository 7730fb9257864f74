"""Sequencer figures at wallet load, on a devnet (real contracts on Anvil, the node in its own
process: ``l2kit rollup node run``), over a state of more than 100,000 accounts.

- The state is first grown to ``SEED_ACCOUNTS`` funded accounts by transfers to fresh
  addresses (JSON-RPC batches), from ``USERS`` senders funded by L1 deposits of ETH and of the
  test token.
- ``sequencer_tps``: ``N_TXS`` wallet transactions (EIP-1559, signed as a wallet does; every
  other one an ERC-20 ``transfer`` on the token's L2 address, the others ETH transfers) sent
  with ``eth_sendRawTransaction`` in JSON-RPC batches of ``BATCH``; first request sent to the
  last transaction's block stored.
- ``sequencer_tps_single_tx_requests``: ``N_TXS`` more, one transaction per HTTP request
  (keep-alive connections), from ``CLIENTS`` concurrent clients (threads, each with its own
  senders so nonces stay in order); first request sent to the last one's block stored.
- Each of the two runs is repeated ``ROUNDS`` (3) times in this one process, alternating, on
  the growing state; the tps figures are the medians (the output lists every run), the CPU
  figures the means, the latency figures over the samples of every single-request run.
- ``l2_inclusion_p99_ms`` / ``p50``: during the single-request run, each sampled
  transaction's request sent to its block's seal timestamp.
- ``sequencer_rss_mb``: the node process's peak RSS (VmHWM) after both runs.
- ``sequencer_cpu_us_per_tx_*``: the node's CPU time (all threads of the node process and
  of its child processes, the decoding worker of JSON-RPC batches: /proc) per transaction in
  each run: what the wall-clock figures cost, whatever else the machine runs.
- ``sequencer_rss_mb_1m_accounts``: peak RSS of a process running a :class:`SequencerNode`
  (its executor, mempool, sqlite store and producer path, no HTTP) after 1,000,000 accounts
  were credited by deposits sealed in blocks of 10,000 (a deposit credits one balance leaf).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.common.hashing import keccak
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client

N_TXS = 20_000
ROUNDS = 3  # runs of each kind; the figures are their medians
USERS = 64
CLIENTS = 16
BATCH = 500
SEED_ACCOUNTS = 100_000
RSS_ACCOUNTS = 1_000_000

Signer = Callable[[bytes, str, str, int, int], bytes]
SEL_TRANSFER = keccak(b"transfer(address,uint256)")[:4]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the node's decoding worker)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(k) for k in (task / "children").read_text().split()]
    return out


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process and its live child processes (the
    node's transaction-decoding worker) have used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for kid in _children(pid):
        with contextlib.suppress(OSError):  # gone meanwhile
            total += _cpu_s(kid)
    return total


def _wait(cond: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 - not there yet
            pass
        time.sleep(0.05)
    raise RuntimeError("benchmark condition not reached in time")


class _Conn:
    """One keep-alive HTTP connection posting JSON-RPC bodies (a wallet's connection)."""

    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.c = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=60)

    def post(self, body: Any) -> Any:
        self.c.request("POST", "/", json.dumps(body), {"Content-Type": "application/json"})
        return json.loads(self.c.getresponse().read())


def _eip712_signer(domain: ltx.Domain) -> Signer:
    def sign(key: bytes, to: str, token: str, amount: int, nonce: int) -> bytes:
        return ltx.encode_tx(ltx.sign_transfer(key, domain, to, token, amount, 1, nonce))

    return sign


def _standard_signer(chain_id: int) -> Signer:
    """EIP-1559 transactions as a wallet signs them (RLP + secp256k1, low-s): ETH transfers,
    and ERC-20 ``transfer`` calls on the token's L2 address."""
    import rlp
    from coincurve import PrivateKey

    from offchain.rollup.ledger.ethtx import GAS_TOKEN_TRANSFER, L2_BASE_FEE, l2_token_address

    def sign(key: bytes, to: str, token: str, amount: int, nonce: int) -> bytes:
        if token == ltx.ETH:
            dest, value, data, gas = bytes.fromhex(to[2:]), amount, b"", 21_000
        else:
            dest, value, gas = bytes.fromhex(l2_token_address(token)[2:]), 0, GAS_TOKEN_TRANSFER
            data = SEL_TRANSFER + bytes(12) + bytes.fromhex(to[2:]) + amount.to_bytes(32, "big")
        fields = [chain_id, nonce, 0, 2 * L2_BASE_FEE, gas, dest, value, data, []]
        digest = keccak(b"\x02" + rlp.encode(fields))
        sig = PrivateKey(key).sign_recoverable(digest, hasher=None)
        r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
        return b"\x03" + b"\x02" + rlp.encode([*fields, v, r, s])

    return sign


def _batched(url: str, method: str, raws: list[bytes]) -> list[str]:
    conn = _Conn(url)
    out: list[str] = []
    for k in range(0, len(raws), BATCH):
        body = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": ["0x" + r.hex()]}
            for i, r in enumerate(raws[k : k + BATCH])
        ]
        ans = conn.post(body)
        bad = [a for a in ans if "error" in a]
        if bad:
            raise RuntimeError(f"submission refused: {bad[0]['error']}")
        out += [a["result"] for a in ans]
    return out


def _single(
    url: str, method: str, per_client: list[list[bytes]]
) -> tuple[list[str], list[tuple[float, str]]]:
    """Each client sends its transactions one per request; returns the hashes and a sample
    of (sent at, hash) for the latency."""
    hashes: list[list[str]] = [[] for _ in per_client]
    sent: list[list[tuple[float, str]]] = [[] for _ in per_client]
    errors: list[str] = []

    def client(i: int) -> None:
        conn = _Conn(url)
        for j, raw in enumerate(per_client[i]):
            ts = time.time()
            ans = conn.post({"jsonrpc": "2.0", "id": j, "method": method,
                             "params": ["0x" + raw.hex()]})  # fmt: skip
            if "error" in ans:
                errors.append(str(ans["error"]))
                return
            hashes[i].append(ans["result"])
            if j % 25 == 0:
                sent[i].append((ts, ans["result"]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(per_client))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"submission refused: {errors[0]}")
    return [h for hs in hashes for h in hs], [s for ss in sent for s in ss]


def _mixed(
    users: list[Any], token: str, sign: Signer, nonces: list[int], n: int, offset: int
) -> list[tuple[int, bytes]]:
    """``n`` transfers among the users (every other one a token transfer), interleaved."""
    out = []
    for j in range(n):
        i = j % len(users)
        to = users[(i + 1 + j // len(users)) % len(users)].address
        tok = token if (j + offset) % 2 else ltx.ETH
        out.append((i, sign(bytes(users[i].key), to, tok, 1, nonces[i])))
        nonces[i] += 1
    return out


def _sequencer(d: Any, method: str = "eth_sendRawTransaction") -> dict[str, float]:
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
        _wait(lambda: c.status(), 60)
        chain_id = int(c.status()["l2ChainId"])
        domain = ltx.Domain(chain_id, ltx.to_checksum(dep.addresses["state_commitment"]))
        sign = _eip712_signer(domain)
        users = [dev_account(100 + i) for i in range(USERS)]
        token = dep.addresses["test_token"]
        funder = dev_account(5)
        erc20 = d.chain.contract("TestToken", token)
        sender = d.chain.sender(funder)
        sender.send(erc20.functions.mint(funder.address, 10**30))
        bridge = BridgeClient(d.chain, dep.addresses["l1_bridge"], sender)
        sender.send(erc20.functions.approve(bridge.bridge.address, 10**30))
        for u in users:
            bridge.deposit_eth(u.address, 10**20)
            bridge.deposit_erc20(token, u.address, 10**24, approve=False)
        _wait(lambda: c.balance(users[-1].address, token) == 10**24, 120)
        nonces = [0] * USERS
        # Grow the state: transfers to fresh accounts.
        seed = []
        for j in range(SEED_ACCOUNTS):
            i = j % USERS
            fresh = "0x" + keccak(b"bench fresh %d" % j)[12:].hex()
            seed.append(sign(bytes(users[i].key), fresh, ltx.ETH, 10**9, nonces[i]))
            nonces[i] += 1
        seeded = _batched(url, "l2_sendTransaction", seed)
        _wait(lambda: (c.receipt(seeded[-1]) or {}).get("status") == "success", 300)
        # The measured runs: wallets' EIP-1559 transactions (eth_sendRawTransaction takes the
        # signed bytes; the ledger encoding is 0x03 ‖ those).
        std = _standard_signer(chain_id)
        strip = 1 if method == "eth_sendRawTransaction" else 0
        batched_tps_runs: list[float] = []
        single_tps_runs: list[float] = []
        batched_cpu = single_cpu = 0.0
        sample: list[tuple[float, str]] = []
        head0 = c.status()["head"]
        workers = 0
        for _ in range(ROUNDS):  # medians of ROUNDS runs of each kind, in this one process
            raws = [r[strip:] for _, r in _mixed(users, token, std, nonces, N_TXS, 0)]
            cpu0 = _cpu_s(proc.pid)
            t0 = time.time()
            hs = _batched(url, method, raws)
            _wait(lambda hs=hs: (c.receipt(hs[-1]) or {}).get("status") == "success", 120)
            batched_tps_runs.append(len(raws) / (time.time() - t0))
            batched_cpu += _cpu_s(proc.pid) - cpu0
            workers = len(_children(proc.pid))
            # One transaction per request, CLIENTS clients with their own senders.
            per_client: list[list[bytes]] = [[] for _ in range(CLIENTS)]
            for i, raw in _mixed(users, token, std, nonces, N_TXS, 1):
                per_client[i % CLIENTS].append(raw[strip:])
            cpu0 = _cpu_s(proc.pid)
            t0 = time.time()
            hs, sampled = _single(url, method, per_client)
            _wait(
                lambda hs=hs: all(
                    (c.receipt(h) or {}).get("status") == "success" for h in hs[-50:]
                ),
                120,
            )
            _wait(lambda: c.status()["mempool"] == 0, 60)
            single_tps_runs.append(len(hs) / (time.time() - t0))
            single_cpu += _cpu_s(proc.pid) - cpu0
            sample += sampled
        batched_tps = statistics.median(batched_tps_runs)
        single_tps = statistics.median(single_tps_runs)
        batched_cpu_us = batched_cpu / (ROUNDS * N_TXS) * 1e6
        single_cpu_us = single_cpu / (ROUNDS * N_TXS) * 1e6
        rss = _peak_rss_mb(proc.pid)
        block_ts: dict[int, int] = {}
        for n in range(head0 + 1, c.status()["head"] + 1):
            b = c.block(n)
            assert b is not None
            block_ts[n] = b["header"]["timestampMs"]
        lat = []
        for ts, h in sample:
            r = c.receipt(h)
            assert r is not None and r["status"] == "success"
            lat.append(block_ts[r["blockNumber"]] - ts * 1000)
        lat.sort()
        p99 = lat[int(len(lat) * 0.99) - 1]
        print(
            f"  state: {SEED_ACCOUNTS + 2 * USERS:,}+ accounts; {N_TXS:,} transfers (half token) "
            f"batched by {BATCH}: {batched_tps:,.0f} tps (median of {ROUNDS}: "
            f"{', '.join(f'{x:,.0f}' for x in batched_tps_runs)}); {N_TXS:,} more one per request "
            f"from {CLIENTS} clients: {single_tps:,.0f} tps (median of "
            f"{', '.join(f'{x:,.0f}' for x in single_tps_runs)}); inclusion p99 {p99:.0f} ms "
            f"over {len(lat)} sampled; node peak RSS {rss:.0f} MB; node CPU per transaction "
            f"{batched_cpu_us:.0f} us batched (node + {workers} child processes), "
            f"{single_cpu_us:.0f} us one per request (wall-clock "
            f"figures depend on what else the machine runs: load {os.getloadavg()[0]:.1f})"
        )
        return {
            "sequencer_tps": round(batched_tps, 1),
            "sequencer_tps_single_tx_requests": round(single_tps, 1),
            "l2_inclusion_p99_ms": round(p99, 1),
            "l2_inclusion_p50_ms": round(statistics.median(lat), 1),
            "sequencer_rss_mb": round(rss, 1),
            "sequencer_cpu_us_per_tx_batched": round(batched_cpu_us, 1),
            "sequencer_cpu_us_per_tx_single_requests": round(single_cpu_us, 1),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


_RSS_SCRIPT = """
import sys, tempfile
from pathlib import Path
from offchain.common.hashing import keccak
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.config import NodeConfig
from offchain.rollup.node.deposits import DepositSource
from offchain.rollup.node.execution import Executor
from offchain.rollup.node.node import SequencerNode
from offchain.rollup.node.peers import CurrentSequencer, PeerSet
from offchain.rollup.node.store import NodeStore
from offchain.rollup.node.block import address_of
from coincurve import PrivateKey

class Feed(DepositSource):
    def __init__(self): self.upto = 0
    def get(self, i):
        if i >= self.upto: return None
        a = "0x" + keccak(b"rss acct %d" % i)[12:].hex()
        return ltx.encode_tx(ltx.Deposit(i, a, a, ltx.ETH, 10**18 + i))

n, step = int(sys.argv[1]), 10_000
key = keccak(b"rss node key")
me = address_of(PrivateKey(key).public_key)
with tempfile.TemporaryDirectory() as tmp:
    feed = Feed()
    node = SequencerNode(NodeConfig(data_dir=tmp, max_mempool=step), key, Executor,
                         NodeStore(Path(tmp) / "node.db"), CurrentSequencer.fixed(me),
                         PeerSet(me, {}), feed)
    while feed.upto < n:
        feed.upto = min(n, feed.upto + step)
        node.seal_block()
    assert node.executor.ledger.state.size == n + 1 and node.next_deposit_id == n
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(int(line.split()[1]) / 1024)
"""


def rss_1m_accounts(n: int = RSS_ACCOUNTS) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(n)],
        capture_output=True, text=True, check=True, timeout=3600,
    )  # fmt: skip
    mb = float(out.stdout.strip().splitlines()[-1])
    print(f"  {n:,} accounts credited by deposits in blocks of 10,000: node peak RSS {mb:.0f} MB")
    return mb


def run() -> dict[str, float]:
    from offchain.devnet import Devnet

    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        out = _sequencer(d)
    out["sequencer_rss_mb_1m_accounts"] = round(rss_1m_accounts(), 1)
    return out


if __name__ == "__main__":
    print(run())
