"""The rollup on the full devnet (real SequencerSet + LockingPool, deploy steps): the nodes
generate the FROST group key among themselves at start (their key keepers' DKG, installed
through the >2/3 ECDSA path), follow an epoch rotation and keep producing and batching under
the new sequencer, each batch carrying one 96-byte FROST signature."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offchain.bridge.client import BridgeClient
from offchain.chain.accounts import dev_account
from offchain.chain.anvil import free_port
from offchain.devnet import Devnet
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.client import L2Client
from offchain.rollup.node.config import BatcherConfig, NodeConfig, RollupNodeConfig
from offchain.rollup.node.service import NodeService, RollupContracts
from tests.rollup.conftest import wait_until


def _signatures_of(contracts: RollupContracts, index: int) -> list[bytes]:
    """The signature list the appendBatch transaction of batch ``index`` carried."""
    sc = contracts.l1().sc
    (ev,) = sc.events.BatchAppended.get_logs(from_block=0, argument_filters={"index": index})
    tx = contracts.chain.w3.eth.get_transaction(ev["transactionHash"])
    _fn, args = sc.decode_function_input(tx["input"])
    sigs: Any = args["signatures"]
    return [bytes(s) for s in sigs]


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with Devnet(ephemeral=True, log=lambda *a: None) as d:
        yield d


def test_rotation_on_the_devnet(devnet: Devnet) -> None:
    d = devnet
    assert d.chain is not None and d.deployment is not None
    contracts = RollupContracts.from_deployment(d.chain, d.deployment)
    sset = contracts.seqset()
    by_addr = {dev_account(i).address: dev_account(i) for i in range(40)}
    signers_addr = sset.functions.activeSigners().call()
    signers = [by_addr[a] for a in signers_addr]
    ports = {s.address.lower(): free_port() for s in signers}
    peers = {a: f"http://127.0.0.1:{p}/" for a, p in ports.items()}
    tmp = Path(tempfile.mkdtemp(dir=d.data_dir))
    nodes: list[NodeService] = []
    try:
        for s in signers:
            cfg = RollupNodeConfig(
                node=NodeConfig(
                    port=ports[s.address.lower()], data_dir=str(tmp / s.address), peers=peers
                ),
                batcher=BatcherConfig(max_batch_txs=20, batch_timeout_ms=500, poll_interval_ms=100),
            )
            nodes.append(NodeService(contracts, s, cfg, d.storage_url, rotation=True).start())
        # No key on L1: the lowest-address node's keeper runs the DKG and installs it (seed 004).
        gx = wait_until(
            lambda: int(sset.functions.groupKeyX().call()), timeout_s=60, what="the nodes' DKG"
        )
        alice, bob = dev_account(10), dev_account(11)
        domain = ltx.Domain(ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(contracts.state_commitment))
        BridgeClient(d.chain, contracts.bridge, d.chain.sender(alice)).deposit_eth(
            alice.address, 10**18
        )
        first = sset.functions.currentSequencer().call()
        c = L2Client(nodes[0].url)
        wait_until(lambda: c.balance(alice.address) == 10**18, what="deposit")
        h = c.send(ltx.encode_tx(ltx.sign_transfer(alice, domain, bob.address, ltx.ETH, 5, 0, 0)))
        c.wait_receipt(h)
        l1 = contracts.l1()
        wait_until(
            lambda: l1.next_index() >= 1, timeout_s=30, what="a batch by the first sequencer"
        )
        # End epochs until the draw picks another sequencer (a rotation follower calls
        # advanceEpoch each time; with equal stakes the same one is redrawn with p = 1/n, so
        # ten epochs leave a chance below 1e-6 of never rotating away).
        epoch_len = int(sset.functions.timing().call()[0])
        now = first
        for _ in range(10):
            epoch0 = int(sset.functions.epochInfo().call()[0])
            d.chain.rpc("evm_increaseTime", epoch_len + 1)
            d.chain.rpc("evm_mine")
            wait_until(
                lambda e=epoch0: int(sset.functions.epochInfo().call()[0]) > e,
                timeout_s=30,
                what="new epoch",
            )
            now = sset.functions.currentSequencer().call()
            if now != first:
                break
        assert now != first, "ten epoch ends never rotated the sequencer"
        assert now in signers_addr
        # Transfers keep working (sent to every node; followers forward) and get batched.
        n0 = l1.next_index()
        for i, node in enumerate(nodes):  # one user, sequential nonces, through every node
            cl = L2Client(node.url)
            t = ltx.sign_transfer(alice, domain, bob.address, ltx.ETH, 1, 0, 1 + i)
            assert cl.wait_receipt(cl.send(ltx.encode_tx(t)), timeout_s=30)["status"] == "success"
        wait_until(lambda: l1.next_index() > n0, timeout_s=30, what="a batch after the rotation")
        assert l1.batch_sequencer(l1.next_index() - 1) == now
        # Batches appended after the key was installed carry exactly one FROST signature.
        (sig,) = _signatures_of(contracts, l1.next_index() - 1)
        assert len(sig) == 96 and int(sset.functions.groupKeyX().call()) == gx
        assert L2Client(nodes[-1].url).balance(bob.address) == 5 + len(nodes)
    finally:
        for n in nodes:
            n.stop()
