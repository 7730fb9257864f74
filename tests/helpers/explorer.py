"""A demo-like rollup run for the explorer's tests and benchmark (never used by the daemons).

:class:`RollupRun` starts one sequencer node (with its batcher) per active sequencer on a
started devnet, as the demo does, deposits for a few users and sends them transfers; the
explorer under test reads it through its public interfaces only.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.devnet import Devnet
from offchain.explorer.config import ExplorerConfig
from offchain.explorer.service import Explorer
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client
from offchain.rollup.node.config import BatcherConfig, NodeConfig, RollupNodeConfig
from offchain.rollup.node.service import NodeService, RollupContracts

E18 = 10**18


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``cond`` until truthy; its value. Raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            v = cond()
        except Exception:  # noqa: BLE001 - a source still starting
            v = None
        if v:
            return v
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}")


@dataclass
class RollupRun:
    """Sequencer nodes for every active sequencer of ``devnet``, plus funded L2 users.

    Args:
        devnet: a started devnet.
        max_batch_txs: batcher's batch size.
        batch_timeout_ms: batcher's timeout before a partial batch is posted.
        block_time_ms: L2 block time.
    """

    devnet: Devnet
    max_batch_txs: int = 60
    batch_timeout_ms: int = 1000
    block_time_ms: int = 200
    nodes: list[NodeService] = field(default_factory=list)
    users: list[LocalAccount] = field(default_factory=list)
    nonces: dict[str, int] = field(default_factory=dict)

    def start(self) -> RollupRun:
        d = self.devnet
        assert d.chain is not None and d.deployment is not None
        self.contracts = RollupContracts.from_deployment(d.chain, d.deployment)
        sset = self.contracts.seqset()
        devs = {str(dev_account(i).address): dev_account(i) for i in range(40)}
        signers = [devs[str(a)] for a in sset.functions.activeSigners().call()]
        tmp = Path(tempfile.mkdtemp(prefix="explorer-run-", dir=d.data_dir))
        ports = {s.address.lower(): free_port() for s in signers}
        peers = {a: f"http://127.0.0.1:{p}/" for a, p in ports.items()}
        try:
            for s in signers:
                cfg = RollupNodeConfig(
                    node=NodeConfig(port=ports[s.address.lower()], data_dir=str(tmp / s.address),
                                    block_time_ms=self.block_time_ms, peers=peers),
                    batcher=BatcherConfig(max_batch_txs=self.max_batch_txs,
                                          batch_timeout_ms=self.batch_timeout_ms,
                                          poll_interval_ms=200),
                )  # fmt: skip
                # The key keepers run the DKG and install the group key: no batch before it.
                self.nodes.append(
                    NodeService(self.contracts, s, cfg, d.storage_url, frost_keeper=True).start()
                )
        except BaseException:
            self.stop()
            raise
        self.domain = ltx.Domain(
            ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(self.contracts.state_commitment)
        )
        return self

    @property
    def url(self) -> str:
        """The current sequencer's node (any node forwards to it)."""
        assert self.devnet.chain is not None
        cur = self.contracts.seqset().functions.currentSequencer().call()
        return next(n.url for n in self.nodes if n.signer.address == cur)

    def client(self) -> L2Client:
        return L2Client(self.url)

    def fund(self, n_users: int = 4, amount_wei: int = 2 * E18, first: int = 10) -> None:
        """Deposit ``amount_wei`` ETH on L1 for ``n_users`` users (dev accounts from ``first``;
        past the 40 Anvil funds, dev account 5 pays); wait until credited on L2."""
        d = self.devnet
        assert d.chain is not None
        self.users = [dev_account(first + i) for i in range(n_users)]
        for i, u in enumerate(self.users):
            payer = u if first + i < 40 else dev_account(5)
            BridgeClient(d.chain, self.contracts.bridge, d.chain.sender(payer)).deposit_eth(
                u.address, amount_wei
            )
            self.nonces[u.address] = 0
        c = self.client()
        wait_for(lambda: c.balance(self.users[-1].address) == amount_wei, 60, "deposits on L2")

    def transfers(self, n: int, wait: bool = True) -> list[str]:
        """``n`` signed transfers between the users (round robin); their hashes."""
        c = self.client()
        raws = []
        for k in range(n):
            u = self.users[k % len(self.users)]
            to = self.users[(k + 1) % len(self.users)].address
            t = ltx.sign_transfer(u, self.domain, to, ltx.ETH, 1000 + k, 0, self.nonces[u.address])
            self.nonces[u.address] += 1
            raws.append(["0x" + ltx.encode_tx(t).hex()])
        hashes: list[str] = []
        for k in range(0, len(raws), 500):
            ans = c.call_many("l2_sendTransaction", raws[k : k + 500])
            bad = [a for a in ans if "error" in a]
            if bad:
                raise RuntimeError(f"transfer refused: {bad[0]['error']}")
            hashes += [a["result"] for a in ans]
        if wait and hashes:
            c.wait_receipt(hashes[-1], timeout_s=120)
        return hashes

    def withdraw(self, amount_wei: int = E18 // 4) -> str:
        """A withdrawal of user 0's ETH to their own L1 address; its hash (once in a block)."""
        u = self.users[0]
        w = ltx.sign_withdraw(u, self.domain, u.address, ltx.ETH, amount_wei, 0,
                              self.nonces[u.address])  # fmt: skip
        self.nonces[u.address] += 1
        c = self.client()
        h = c.send(ltx.encode_tx(w))
        c.wait_receipt(h)
        return h

    def stop(self) -> None:
        while self.nodes:
            self.nodes.pop().stop()

    def __enter__(self) -> RollupRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def explorer_for(
    devnet: Devnet, node_url: str = "", el_url: str = "", poll_interval_ms: int = 300
) -> Explorer:
    """An explorer (free port, index in the devnet's data dir) over ``devnet``; not started."""
    assert devnet.anvil is not None and devnet.deployment is not None
    cfg = ExplorerConfig(
        rpc_url=devnet.anvil.url,
        node_url=node_url,
        el_url=el_url,
        port=0,
        db_path=str(Path(tempfile.mkdtemp(prefix="explorer-", dir=devnet.data_dir)) / "ix.sqlite"),
        poll_interval_ms=poll_interval_ms,
        refresh_s=0,
    )
    return Explorer(cfg, devnet.deployment)


@contextlib.contextmanager
def emeth_run(devnet: Devnet, n_nodes: int = 2) -> Iterator[tuple[Any, list[str]]]:
    """The EMETH execution layer and agents on ``devnet`` with honest nodes, after a splittable
    word count and two plain jobs were billed in Tickets settled on L1.

    Yields:
        ``(stack, job ids)`` (the stack still running).
    """
    from offchain.emeth.requester import submit_job
    from offchain.emeth.runtime import EmethAgentsConfig, stack_for_devnet, wait_until
    from offchain.storage.client import BlobClient

    assert devnet.chain is not None
    cfg = EmethAgentsConfig(poll_interval_ms=100, signer_interval_s=0.5, split_parts=3)
    stack = stack_for_devnet(devnet, n_nodes=n_nodes, config=cfg)
    try:
        stack.fund_nodes()
        stack.start_service()
        client, blobs = stack.client(), BlobClient(devnet.storage_url)
        alice = dev_account(devnet.config.emeth.requester_accounts[0])
        stack.l1.deposit(devnet.chain.sender(alice), 100 * E18)
        text = b"the quick brown fox jumps over the lazy dog\n" * 30
        jobs = [
            submit_job(client, blobs, alice, "wordcount/v1", text, 12 * E18, timeout_s=10,
                       splittable=True)["jobId"],
            submit_job(client, blobs, alice, "sortdedupe/v1", b"pear\napple\nfig\napple\n",
                       3 * E18, timeout_s=10)["jobId"],
            submit_job(client, blobs, alice, "wordcount/v1", b"to be or not to be\n", 2 * E18,
                       timeout_s=10)["jobId"],
        ]  # fmt: skip
        stack.start_agents()
        wait_until(lambda: all(client.job(j)["state"] == "billed" for j in jobs), 60, "billed")
        wait_until(lambda: all(t["settled"] for t in client.tickets()), 30, "Tickets settled")
        yield stack, jobs
    finally:
        stack.stop()
