"""Outages of a running node's dependencies, with real processes and a real network cut:
the L1 node (every node reaches Anvil through a TCP proxy that the test cuts), a peer (one of
the co-signing nodes stopped), the blob store (stopped). During the outage ``/health``
answers 503 naming the failing part; after it, 200, every agent resumed by itself, and every
accepted L2 transaction is in exactly one batch on L1."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from offchain.chain.accounts import dev_account
from offchain.chain.client import Chain, connect
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.node.config import BatcherConfig
from offchain.rollup.node.service import NodeService
from offchain.storage.server import StorageServer
from tests.helpers.frost import halting_peers
from tests.helpers.proxy import TcpProxy
from tests.helpers.waits import wait_rounds
from tests.rollup.conftest import RollupEnv, client, wait_until

# Slow lane (make test-all): the default suite's black-box outages of the same parts (L1 cut,
# blob store, co-signing peers) are in tests/devnet/test_outage_processes.py.
pytestmark = pytest.mark.slow

ALICE, BOB = dev_account(10), dev_account(11)
FAST = BatcherConfig(max_batch_txs=5, batch_timeout_ms=300, poll_interval_ms=100)


def _health(svc: NodeService) -> tuple[int, dict[str, Any]]:
    r = requests.get(svc.url + "health", timeout=5)
    return r.status_code, r.json()


def _batched_txs(env: RollupEnv, svc: NodeService) -> list[bytes]:
    """Transaction hashes of every batch L1 holds (0..nextIndex-1), from the node's blocks."""
    l1 = env.l1()
    assert svc.node is not None
    out: list[bytes] = []
    for i in range(l1.next_index()):
        rec = svc.node.store.batch(i)
        assert rec is not None and l1.header_matches(i, BatchHeader.from_json(rec["header"]).hash())
        for b in svc.node.store.blocks(rec["first_block"], rec["last_block"]):
            out += [svc.node.executor.tx_hash(raw) for raw in b.txs]
    return out


class Users:
    def __init__(self, env: RollupEnv, svc: NodeService) -> None:
        self.env, self.svc, self.nonce, self.accepted = env, svc, 0, []  # type: ignore[var-annotated]

    def send(self, n: int) -> None:
        c = client(self.svc)
        for _ in range(n):
            t = ltx.sign_transfer(ALICE, self.env.domain, BOB.address, ltx.ETH, 1, 0, self.nonce)
            h = c.send(ltx.encode_tx(t))
            self.nonce += 1
            self.accepted.append(bytes.fromhex(h.removeprefix("0x")))


def _all_batched_once(env: RollupEnv, svc: NodeService, users: Users) -> None:
    def done() -> bool:
        got = _batched_txs(env, svc)
        return all(h in got for h in users.accepted)

    wait_until(done, 40, "every accepted transaction batched")
    got = _batched_txs(env, svc)
    user = [h for h in got if h in set(users.accepted)]
    assert len(user) == len(set(user)) == len(users.accepted)  # exactly once each


def _outage(cut: Any, restore: Any, svc: NodeService, part: str, outage_s: float) -> float:
    """Cut, check 503 naming ``part`` (one of ``a|b``), restore, return the time until 200."""
    cut()
    try:
        wait_until(lambda: _health(svc)[0] == 503, 30, f"/health 503 during the {part} outage")
        code, body = _health(svc)
        assert any(f.split(":")[0] in part.split("|") for f in body["failing"]), body["failing"]
        # The outage lasts outage_s, and until each failing loop failed two more ticks.
        time.sleep(outage_s)
        wait_rounds([getattr(svc, name) for name in part.split("|")], 2, 60)
        assert _health(svc)[0] == 503
    finally:
        restore()
    t0 = time.monotonic()
    wait_until(lambda: _health(svc)[0] == 200, 30, f"/health 200 after the {part} outage")
    return time.monotonic() - t0


def _proxied(env: RollupEnv, proxy: TcpProxy) -> RollupEnv:
    return dataclasses.replace(env, chain=Chain(connect(proxy.url), env.chain.artifacts),
                               services=[], verifiers=[])  # fmt: skip


@pytest.mark.parametrize(
    "outage_s",
    [pytest.param(3.0, id="3s"), pytest.param(30.0, id="30s", marks=pytest.mark.slow)],
)
def test_l1OutageIs503ThenRecoversWithNothingLost(rollup_env: RollupEnv, outage_s: float) -> None:
    env = rollup_env
    u = urlparse(env.chain.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    with TcpProxy(u.hostname or "127.0.0.1", u.port or 8545) as proxy:
        penv = _proxied(env, proxy)
        try:
            nodes = penv.start_nodes(env.signers, FAST)
            svc = nodes[0]
            env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
            wait_until(lambda: client(svc).balance(ALICE.address) > 0, what="deposit")
            users = Users(env, svc)
            users.send(3)
            back = _outage(proxy.cut, proxy.restore, svc, "deposits|batcher", outage_s)
            assert back <= 10
            users.send(3)
            _all_batched_once(env, svc, users)
            assert all(n.batcher is not None and n.batcher.alive for n in nodes)
        finally:
            penv.stop_nodes()


def test_storageOutageIs503ThenRecovers(rollup_env: RollupEnv, tmp_path: Path) -> None:
    env = rollup_env
    storage = StorageServer(tmp_path / "blobs").start()
    port = storage.port
    senv = dataclasses.replace(env, storage_url=storage.url, services=[], verifiers=[])
    try:
        nodes = senv.start_nodes(env.signers, FAST)
        svc = nodes[0]
        env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
        wait_until(lambda: client(svc).balance(ALICE.address) > 0, what="deposit")
        users = Users(env, svc)

        def cut() -> None:
            storage.stop()
            users.send(3)  # accepted while the store is down: a batch is due, cannot be stored

        def restore() -> None:
            nonlocal storage
            storage = StorageServer(tmp_path / "blobs", port=port).start()

        back = _outage(cut, restore, svc, "batcher", 3.0)
        assert back <= 10
        users.send(2)
        _all_batched_once(env, svc, users)
    finally:
        senv.stop_nodes()
        storage.stop()


def test_peerOutageIs503ThenRecovers(rollup_env: RollupEnv) -> None:
    env = rollup_env
    nodes = env.start_nodes(env.signers, FAST)
    svc = nodes[0]
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    wait_until(lambda: client(svc).balance(ALICE.address) > 0, what="deposit")
    users = Users(env, svc)
    # the co-signers without which the others hold less than the threshold of shares
    assert env.prod.key is not None
    alloc = env.prod.key.allocation
    by_addr = {n.signer.address: n for n in nodes}
    shares = {a: len(alloc.identifiers.get(a, ())) for a in by_addr}
    peers = [by_addr[a] for a in halting_peers(shares, alloc.threshold, svc.signer.address)]
    holder: list[NodeService] = []

    def cut() -> None:
        for peer in peers:  # co-signers gone: no threshold of shares for the next batch
            peer.stop()
            env.services.remove(peer)
        users.send(3)

    def restore() -> None:
        for peer in peers:
            again = NodeService(env.contracts, peer.signer, peer.config, env.storage_url).start()
            env.services.append(again)
            holder.append(again)

    back = _outage(cut, restore, svc, "batcher", 3.0)
    assert back <= 10
    users.send(2)
    _all_batched_once(env, svc, users)
