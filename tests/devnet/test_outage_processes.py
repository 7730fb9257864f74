"""Black-box outages: every daemon is its own ``l2kit`` process, its dependencies fail for real.

The L1 is the production deployment as ``l2kit devnet up`` makes it (``deploy_all``: the real
LockingPool, SequencerSet, rollup contracts and governance; windows of
:func:`tests.helpers.prod.windowed_config`) with the devnet's four sequencers, 20k/30k/40k/50k
tokens locked, and a FROST group key dealt by stake and installed by the set with its members'
ECDSA approvals (:func:`tests.helpers.prod.keyed_rollup`): shares 2/3/3/4, a batch needs 9 of
the 12. Processes: the four sequencer nodes with their batchers (``rollup node run``, named by
stake, ``seq20k`` .. ``seq50k``; each holds its shares and co-signs the current sequencer's
batches), a rollup verifier (``rollup verifier run``), the EMETH execution layer
(``emeth el run``) and an EMETH agent (the verifier, ``emeth verifier run --metrics-port``).
They reach the L1 (Anvil, mining an empty block every second besides every transaction)
through a TCP proxy the test cuts, the blob store (stopped and started again on its port), the
co-signing peers without which the others hold less than the threshold (the 50k node, or the
40k and 30k nodes when the 50k one is current: stopped and started again on their ports and data),
and the execution layer (the process stopped and started again on its port and database). Each
outage: every process that depends on the part answers ``/health`` 503 naming it for the whole
outage; after it, 200 again without a restart, every process still the same one (but the
stopped one), every accepted L2 transaction in exactly one batch on L1, and the execution
layer's jobs as they were. The 3 s variant is in the default suite, the 30 s one is slow; so is
the L1 node's own stop (the Anvil process stopped, restarted on its port from its dumped
state). ("Every job billed once" across an execution-layer outage, with every EMETH agent a
process: tests/emeth/offchain/test_outage_processes.py.)
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.devnet import Devnet
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client
from offchain.staking.config import TOKEN
from offchain.storage.server import StorageServer
from tests.helpers.frost import halting_peers
from tests.helpers.prod import ProdRollup, keyed_rollup, windowed_config
from tests.helpers.proxy import TcpProxy
from tests.helpers.waits import http_code, terminate, wait_true

CLI = [sys.executable, "-m", "offchain.cli"]
ALICE, BOB = dev_account(10), dev_account(11)
EL_VERIFIER = 37  # the execution layer's default verifier (`emeth el run`)
RECOVER_S = 30  # deadline for /health 200 after a dependency returns (README: within ~5 s)
SEQUENCERS = 4  # the devnet's set: 20k/30k/40k/50k tokens, FROST shares 2/3/3/4


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("L2KIT_")}
    return {**base, "PYTHONUNBUFFERED": "1", **extra}


@dataclass
class World:
    """The devnet, the proxy in front of its Anvil, the blob store and the processes."""

    devnet: Devnet
    prod: ProdRollup
    proxy: TcpProxy
    dir: Path
    storage: StorageServer
    storage_port: int
    ports: dict[str, int]
    shares: dict[str, int]  # node name -> its FROST shares of the installed key
    threshold: int  # the shares a batch signature needs
    procs: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    args: dict[str, tuple[tuple[str, ...], dict[str, str]]] = field(default_factory=dict)
    current: str = ""  # the node of the current sequencer
    accepted: list[str] = field(default_factory=list)
    nonce: int = 0

    def health(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/health"

    @property
    def el_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['el']}"

    @property
    def l2(self) -> L2Client:
        return L2Client(f"http://127.0.0.1:{self.ports[self.current]}/")

    @property
    def nodes(self) -> list[str]:
        return list(self.shares)

    @property
    def cosigners(self) -> list[str]:
        """The fewest co-signing peers (not the current sequencer, heaviest first) whose stop
        halts signing: the 50k node (4 of the 12 shares: the others hold 8, below the threshold
        of 9), or, when it is the current sequencer, the 40k and the 30k nodes (6 of 12). Any one
        of the three smaller nodes alone (at most 28.6 % of the stake) leaves 9: signing goes
        on, as the seed's rule says (halts only if more than 1/3 stop)."""
        return halting_peers(self.shares, self.threshold, self.current)

    def spawn(self, name: str, *args: str, wait: bool = True, **env: str) -> None:
        """Start ``name`` (again, as it was started, without ``args``); with ``wait``, until
        its port answers (:meth:`wait_up`)."""
        if not args:
            args, env = self.args[name]
        self.args[name] = (args, env)
        log = (self.dir / f"{name}.log").open("a")
        self.procs[name] = subprocess.Popen(
            [*CLI, *args], stdout=log, stderr=subprocess.STDOUT, text=True, env=_env(**env)
        )
        if wait:
            self.wait_up(name)

    def wait_up(self, *names: str) -> None:
        for name in names:
            wait_true(lambda n=name: self.alive(n) and http_code(self.health(n)) != 0, 90,  # type: ignore[misc]
                      f"{name} up")  # fmt: skip

    def alive(self, name: str) -> bool:
        p = self.procs[name]
        assert p.poll() is None, f"{name} exited {p.returncode}: " + self.log(name)
        return True

    def log(self, name: str) -> str:
        return (self.dir / f"{name}.log").read_text()[-3000:]

    def spawn_el(self, wait: bool = True) -> None:
        dep = str(self.devnet.data_dir / "deployment.json")
        self.spawn("el", "emeth", "--rpc-url", self.proxy.url, "--deployment", dep, "el", "run",
                   wait=wait, L2KIT_EMETH_AGENTS__EL_PORT=str(self.ports["el"]),
                   L2KIT_EMETH_AGENTS__DB_URL=f"sqlite:///{self.dir / 'el.db'}")  # fmt: skip

    def stop(self, name: str) -> None:
        terminate(self.procs[name])

    def send(self, n: int) -> None:
        c = self.l2
        st = c.status()
        domain = ltx.Domain(int(st["l2ChainId"]), ltx.to_checksum(st["stateCommitment"]))
        for _ in range(n):
            t = ltx.sign_transfer(ALICE, domain, BOB.address, ltx.ETH, 1, 0, self.nonce)
            self.accepted.append(c.send(ltx.encode_tx(t)))
            self.nonce += 1


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    d = tmp_path_factory.mktemp("outage-procs")
    cfg = windowed_config(SEQUENCERS, challenge_s=30, da_s=10)
    with Devnet(cfg, ephemeral=True, log=lambda *a, **k: None) as dn:
        assert dn.chain is not None and dn.anvil is not None and dn.deployment is not None
        prod = keyed_rollup(dn.chain, dn.deployment, cfg)
        assert prod.key is not None
        ids = prod.key.allocation.identifiers
        names = {a: f"seq{prod.stake(a) // (1000 * TOKEN)}k" for a in sorted(prod.keys)}
        shares = {names[a]: len(ids[a]) for a in names}
        port = free_port()
        storage = StorageServer(d / "blobs", port=port).start()
        ports = {n: free_port() for n in (*shares, "verifier", "el", "agent")}
        with TcpProxy("127.0.0.1", dn.anvil.port or 8545) as proxy:
            w = World(
                dn, prod, proxy, d, storage, port, ports, shares, prod.key.allocation.threshold
            )
            w.current = names[prod.current().address]
            l1 = ["--rpc-url", proxy.url, "--deployment", str(dn.data_dir / "deployment.json")]
            peers = json.dumps({a: f"http://127.0.0.1:{ports[n]}/" for a, n in names.items()})
            try:
                for a, n in names.items():
                    prod.key.give_share(a, d / n)  # the installed key's shares of this signer
                    w.spawn(n, "rollup", "node", "run", "--key", prod.keys[a].key.hex(),
                            "--port", str(ports[n]), "--data-dir", str(d / n), "--peers", peers,
                            "--storage-url", storage.url, *l1, wait=False,
                            L2KIT_ROLLUP_NODE__BATCHER__MAX_BATCH_TXS="5",
                            L2KIT_ROLLUP_NODE__BATCHER__BATCH_TIMEOUT_MS="300",
                            L2KIT_ROLLUP_NODE__BATCHER__POLL_INTERVAL_MS="100")  # fmt: skip
                w.spawn("verifier", "rollup", "verifier", "run", "--dev-account", "33",
                        "--port", str(ports["verifier"]), "--data-dir", str(d / "verifier"),
                        "--storage-url", storage.url, *l1, wait=False,
                        L2KIT_ROLLUP_NODE__VERIFIER__POLL_INTERVAL_MS="100",
                        # seed §9 order: storage, snapshot, then the L2 nodes; without them a
                        # storage outage sends the verifier straight to a data request, whose
                        # answer rotates the current sequencer out (§3.3.6) mid-test
                        L2KIT_ROLLUP_NODE__VERIFIER__L2_NODE_URLS=json.dumps(
                            [f"http://127.0.0.1:{ports[n]}" for n in shares]),
                )  # fmt: skip
                w.spawn_el(wait=False)
                w.spawn("agent", "emeth", "--el-url", w.el_url, "--rpc-url", proxy.url,
                        "--deployment", str(dn.data_dir / "deployment.json"),
                        "--dev-account", str(EL_VERIFIER), "verifier", "run",
                        "--metrics-port", str(ports["agent"]), wait=False)  # fmt: skip
                w.wait_up(*ports)  # started together: their start-ups overlap
                prod.bridge(ALICE).deposit_eth(
                    ALICE.address, 10**18
                )  # confirmed by interval blocks
                wait_true(lambda: w.l2.balance(ALICE.address) > 0, 60, "alice's deposit on L2")
                for name in ports:
                    wait_true(lambda n=name: http_code(w.health(n)) == 200, 60, f"{name} healthy")  # type: ignore[misc]
                yield w
            finally:
                for name in list(w.procs):
                    w.stop(name)
                w.storage.stop()


def _outage(
    w: World, parts: list[str], cut: Callable[[], None], restore: Callable[[], None], s: float
) -> float:
    """Cut; every process in ``parts`` answers 503 (naming what failed) for ``s`` seconds;
    restore; returns the seconds until all of them answer 200 again."""
    cut()
    try:
        for name in parts:
            _wait_code(w, name, 503, 30, "503")
            body = requests.get(w.health(name), timeout=3).json()
            assert body.get("failing"), (name, body)
        end = time.monotonic() + s
        while time.monotonic() < end:  # the outage lasts: nobody pretends to be fine
            for name in parts:
                assert http_code(w.health(name)) == 503, name
            time.sleep(0.5)
    finally:
        restore()
    t0 = time.monotonic()
    for name in parts:
        _wait_code(w, name, 200, RECOVER_S, "200 again")
    return time.monotonic() - t0


def _wait_code(w: World, name: str, code: int, timeout_s: float, what: str) -> None:
    """Wait until ``name``'s /health answers ``code``; else fail with its body and log."""
    try:
        wait_true(lambda: http_code(w.health(name)) == code, timeout_s, f"{name} {what}")
    except AssertionError:
        raise AssertionError(f"{name} not {what}: {_body(w, name)}\n{w.log(name)}") from None


def _body(w: World, name: str) -> Any:
    try:
        return requests.get(w.health(name), timeout=3).json()
    except (requests.RequestException, ValueError) as e:
        return repr(e)


def _all_batched_once(w: World) -> None:
    """Every accepted L2 transaction lies in exactly one of L1's batches 0..N (no gap)."""
    l1 = RollupL1.from_deployment(w.prod.chain, w.prod.dep)
    c = w.l2

    def ranges() -> list[tuple[int, int]]:
        out = []
        for i in range(l1.next_index()):
            h = l1.get_header_from_event(i)
            out.append((h.first_block, h.first_block + h.l2_blocks - 1))
        return out

    def blocks() -> list[int] | None:
        got = [c.receipt(h) for h in w.accepted]
        if any(r is None or r.get("blockNumber") is None for r in got):
            return None
        return [int(r["blockNumber"]) for r in got if r is not None]

    def done() -> bool:
        b, r = blocks(), ranges()
        return b is not None and bool(r) and max(b) <= r[-1][1]

    wait_true(done, 60, "every accepted transaction in a batch on L1")
    r = ranges()
    assert all(r[i][1] + 1 == r[i + 1][0] for i in range(len(r) - 1)), r  # no gap, no overlap
    for n in blocks() or []:
        assert sum(lo <= n <= hi for lo, hi in r) == 1, (n, r)


def _alive(w: World) -> None:
    for name in w.procs:
        assert w.alive(name)


@pytest.mark.parametrize(
    "outage_s", [pytest.param(3.0, id="3s"), pytest.param(30.0, id="30s", marks=pytest.mark.slow)]
)
def test_everyProcessResumesAfterEachOutage(world: World, outage_s: float) -> None:
    w = world
    pids = {n: p.pid for n, p in w.procs.items()}
    w.send(2)
    # L1 unreachable: every node (deposits, batcher), the verifier and the execution layer's
    # L1 watcher; the users' transactions are still accepted and batched afterwards.
    back = _outage(w, [*w.nodes, "verifier", "el"], w.proxy.cut, w.proxy.restore, outage_s)
    assert back <= RECOVER_S
    w.send(3)
    _all_batched_once(w)

    # The blob store stopped while a batch is due (the verifier reads it too).
    def storage_down() -> None:
        w.storage.stop()
        w.send(3)

    def storage_up() -> None:
        w.storage = StorageServer(w.dir / "blobs", port=w.storage_port).start()

    _outage(w, [w.current], storage_down, storage_up, outage_s)
    _all_batched_once(w)

    # The execution layer stopped: the agent process waits for it, then works again.
    jobs = requests.get(w.el_url + "/health", timeout=5).json()["jobs"]
    _outage(w, ["agent"], lambda: w.stop("el"), w.spawn_el, outage_s)
    assert requests.get(w.el_url + "/health", timeout=5).json()["jobs"] == jobs  # nothing lost

    wait_true(lambda: http_code(w.health("verifier")) == 200, RECOVER_S, "verifier 200")
    _alive(w)
    stopped = ("el", *w.cosigners)
    assert {n: p.pid for n, p in w.procs.items() if n not in stopped} == {
        n: pid for n, pid in pids.items() if n not in stopped
    }  # nobody was restarted but the processes the test stopped


def test_peerStoppedAndRestartedBatchesResume(world: World) -> None:
    """The co-signing peers without which the others hold less than the threshold stop
    (:attr:`World.cosigners`: the 50k node, or the 40k and 30k nodes when the 50k one is
    current): the current sequencer's batch cannot get a threshold of shares (503 naming the
    batcher); the peers come back and batching resumes by itself. (After the other outages the
    node's L1 connections have sat idle past Anvil's 30 s idle close, which the proxy does not
    pass on: its FROST rounds failed with its own share a bare 500 and RemoteDisconnected until
    the clients resent once on a fresh connection.)"""
    w = world
    peers = w.cosigners
    assert sum(w.shares.values()) - sum(w.shares[p] for p in peers) < w.threshold  # halts

    def peers_down() -> None:
        for p in peers:
            w.stop(p)
        w.send(3)

    def peers_up() -> None:
        for p in peers:
            w.spawn(p)

    _outage(w, [w.current], peers_down, peers_up, 3.0)
    _all_batched_once(w)


def _load_state_file(w: World) -> Path:
    """Stop L1 block production and write Anvil's state (``anvil_dumpState``) to a file that
    ``anvil --load-state`` reads back: its accounts, contracts, blocks, receipts and logs."""
    chain = w.devnet.chain
    assert chain is not None
    chain.rpc("evm_setIntervalMining", 0)  # no block between the dump and the stop
    raw = bytes.fromhex(str(chain.rpc("anvil_dumpState"))[2:])
    path = w.dir / "anvil-state.json"
    path.write_bytes(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    return path


@pytest.mark.slow
def test_l1NodeStoppedAndRestartedWithItsStateEveryProcessResumes(world: World) -> None:
    """The L1 node itself stops (the Anvil process, not a cut connection) for 30 s and comes
    back on its port with the chain it had: every process resumes by itself, every accepted
    L2 transaction is in exactly one batch and applied once, the jobs are as they were."""
    w = world
    anvil = w.devnet.anvil
    assert anvil is not None
    pids = {n: p.pid for n, p in w.procs.items()}
    extra = list(anvil.extra_args)
    w.send(2)
    _all_batched_once(w)
    jobs = requests.get(w.el_url + "/health", timeout=5).json()["jobs"]

    def l1_down() -> None:
        state = _load_state_file(w)
        anvil.stop()
        anvil.extra_args = [*extra, "--load-state", str(state)]

    _outage(w, [*w.nodes, "verifier", "el"], l1_down, anvil.start, 30.0)
    w.send(3)
    _all_batched_once(w)
    assert w.l2.balance(BOB.address) == len(w.accepted)  # each transfer (1 wei) applied once
    assert requests.get(w.el_url + "/health", timeout=5).json()["jobs"] == jobs
    wait_true(lambda: http_code(w.health("agent")) == 200, RECOVER_S, "agent 200")
    _alive(w)
    assert {n: p.pid for n, p in w.procs.items()} == pids  # nobody was restarted
