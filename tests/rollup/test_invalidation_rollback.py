"""Nodes roll back after an L1 invalidation they never saw the append of (seed §11.14).

Deterministic: the batchers' background loops are stopped and every poll is made by the
test, so the bad batch is appended and proven invalid between two polls of the other nodes.
"""

from __future__ import annotations

import random

from offchain.chain.accounts import dev_account
from offchain.rollup.batcher.submitter import Batcher
from offchain.rollup.l1.bindings import BatchStatus
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.config import BatcherConfig
from offchain.rollup.node.service import NodeService
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB = dev_account(10), dev_account(11)


def _traffic(env: RollupEnv, node: NodeService) -> int:
    """A deposit and two transfers ALICE -> BOB through ``node``; returns what BOB got."""
    c = client(node)
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18 + random.randrange(10**9))
    wait_until(lambda: c.balance(ALICE.address) >= 10**18, what="deposit on L2")
    n0 = c.nonce(ALICE.address)
    sent, h = 0, ""
    for i in range(2):
        amount = random.randrange(1, 10**6)
        tx = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, amount, 1, n0 + i)
        h = c.send(ltx.encode_tx(tx))
        sent += amount
    c.wait_receipt(h)
    return sent


def test_invalidation_between_polls_rolls_back_every_node_once(rollup_env: RollupEnv) -> None:
    env = rollup_env
    cfg = BatcherConfig(max_batch_txs=50, batch_timeout_ms=200, poll_interval_ms=100)
    nodes = env.start_nodes(env.signers, batcher=cfg)
    batchers = []
    for n in nodes:
        assert n.batcher is not None
        n.batcher.stop()  # no background polls: the test makes each one
        batchers.append(n.batcher)
    faulty, l1 = nodes[0], env.l1()
    faulty_batcher = batchers[0]
    faulty_batcher.fault = env.colluding("wrong_mtsr")
    sent = _traffic(env, faulty)
    head = faulty_batcher.node.head
    wait_until(lambda: all(b.node.head >= head for b in batchers), what="blocks on every node")
    # The others poll while nothing is on L1 yet; then the faulty node appends its bad batch.
    for b in batchers[1:]:
        assert b.sync_invalidations() is None
    wait_until(lambda: faulty_batcher.tick()["action"] == "appended", what="the faulty batch on L1")
    assert l1.next_index() == 1
    bad_hash = l1.stored_header_hash(0)
    # Proven invalid before any node polls again: nobody saw nextIndex rise.
    out = env.start_verifier(dev_account(34)).tick()[0]
    assert out.result == "fraud_proven", out
    assert l1.next_index() == 0 and l1.batch_status(0) == BatchStatus.INVALID
    # Every node rolls back to the last valid batch (none: block 0), exactly once.
    assert [b.sync_invalidations() for b in batchers] == [0] * len(batchers)
    assert faulty_batcher.node.store.batch(0) is None
    assert [b.sync_invalidations() for b in batchers] == [None] * len(batchers)
    # ... also after a restart (the cursor is in the node's store).
    b = batchers[1]
    restarted = Batcher(b.node, b.l1, b.bridge, b.blobs, b.cosign, b.config)
    assert restarted.sync_invalidations() is None
    # The new sequencer re-submits a valid batch 0 with the users' transactions.
    current = env.seqset().functions.currentSequencer().call()
    honest = next(n for n in nodes if n.signer.address == current)
    assert honest is not faulty and honest.batcher is not None
    wait_until(lambda: client(honest).balance(BOB.address) == sent, what="re-executed transfers")
    assert honest.batcher is not None
    honest_l1 = honest.batcher.l1
    # Reorged-out append sent with a throwaway sender, so the node's nonces stay right.
    honest.batcher.l1 = env.l1(honest.signer)
    snapshot = env.chain.rpc("evm_snapshot")
    for _ in range(2):
        wait_until(
            lambda: honest.batcher is not None and honest.batcher.tick()["action"] == "appended",
            what="the resubmitted batch",
        )
        assert l1.next_index() == 1 and l1.stored_header_hash(0) != bad_hash
        assert [b.sync_invalidations() for b in batchers] == [None] * len(batchers)
        if snapshot is not None:
            # An L1 reorg drops the append: no invalidation, so no rollback; resubmitted.
            env.chain.rpc("evm_revert", snapshot)
            snapshot = None
            honest.batcher.l1 = honest_l1
            assert l1.next_index() == 0
            assert [b.sync_invalidations() for b in batchers] == [None] * len(batchers)
            assert client(honest).balance(BOB.address) == sent
    # A second invalidation at the same index (here by a challenger directly) rolls back again.
    challenger = dev_account(35)
    sc = env.contracts.l1().sc
    env.chain.sender(env.owner).send(sc.functions.setChallenger(challenger.address, True))
    env.chain.sender(challenger).send(sc.functions.invalidateFrom(0))
    assert l1.next_index() == 0
    assert [b.sync_invalidations() for b in batchers] == [0] * len(batchers)
    assert [b.sync_invalidations() for b in batchers] == [None] * len(batchers)
