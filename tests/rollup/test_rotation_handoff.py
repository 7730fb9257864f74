"""Rotation boundary: a block sealed by the old sequencer as L1 rotates is refused by every peer
(they accept blocks only from the L1 current sequencer); its user transactions must not be lost
but handed to the new sequencer and included there (seed §3.3.6.3)."""

from __future__ import annotations

import pytest

from offchain.chain.accounts import dev_account
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.block import Block
from offchain.rollup.node.errors import NO_CURRENT_SEQUENCER, RollupNodeError
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB = dev_account(10), dev_account(11)


def _reselect(env: RollupEnv) -> str:
    """L1 replaces the current sequencer for a missed heartbeat (``SequencerSet.reselect`` once
    its deadline passed; the stake-weighted draw excludes the replaced one). Returns the new
    current sequencer."""
    seqset = env.seqset()
    deadline = int(seqset.functions.heartbeatDeadline().call())
    now = int(env.chain.w3.eth.get_block("latest")["timestamp"])
    env.warp(max(1, deadline - now + 1))
    env.chain.sender(env.owner).send(seqset.functions.reselect())
    return str(seqset.functions.currentSequencer().call())


def _next_drawn(env: RollupEnv) -> str:
    """Who the next reselect draws (the set's own views: the committed draw set without the
    current sequencer, the next seed), while nothing changes them before it."""
    ss = env.seqset().functions
    pool = env.prod.c("locking_pool").functions
    signers, stakes = pool.drawSet(ss.drawCommitBlock().call()).call()
    current = ss.currentSequencer().call()
    weights = [0 if a == current else int(w) for a, w in zip(signers, stakes, strict=True)]
    return str(signers[ss.selectIndex(weights, ss.nextSeed().call()).call()])


def test_block_sealed_at_the_rotation_is_handed_to_the_new_sequencer(
    rollup_env: RollupEnv,
) -> None:
    env = rollup_env
    nodes = env.start_nodes(env.signers)  # signers[0] is current on L1
    old = nodes[0]
    assert old.node is not None
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    for c in map(client, nodes):
        wait_until(lambda c=c: c.balance(ALICE.address) == 10**18, what="deposit")  # type: ignore[misc]
    head0 = client(old).status()["head"]

    # L1 rotates to `new` at the very moment `old` seals its next block (signed while it was
    # current): the block reaches its peers after the rotation and they refuse it.
    sealed_at_rotation: list[int] = []
    drawn: list[str] = []

    def rotate_while_sealing(block: Block) -> Block:
        if not sealed_at_rotation:
            drawn.append(_reselect(env))
            sealed_at_rotation.append(block.number)
            for peer in nodes[1:]:  # they saw the rotation (as their RotationFollower does)
                assert peer.node is not None
                peer.node.current.invalidate()
        return block

    old.node.fault_hook = rotate_while_sealing
    t0 = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 7, 0, 0)
    h0 = client(old).send(ltx.encode_tx(t0))
    wait_until(lambda: sealed_at_rotation, what="a block sealed at the rotation")
    assert sealed_at_rotation == [head0 + 1]
    new = next(n for n in nodes if n.signer.address == drawn[0])
    other = next(n for n in nodes if n is not old and n is not new)

    # Accepted by `old`, so it is included by the new sequencer and every node agrees.
    for svc in nodes:
        r = client(svc).wait_receipt(h0, timeout_s=20)
        assert r["blockNumber"] == head0 + 1
    block = client(new).block(head0 + 1)
    assert block is not None and block["header"]["producer"].lower() == drawn[0].lower()
    # The user's next transaction (next nonce, through another node) follows on the new chain.
    t1 = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 0, 1)
    h1 = client(other).send(ltx.encode_tx(t1))
    for svc in nodes:
        client(svc).wait_receipt(h1, timeout_s=20)
    wait_until(
        lambda: len({client(s).status()["headHash"] for s in nodes}) == 1,
        what="one chain on every node",
    )
    for svc in nodes:
        assert client(svc).balance(BOB.address) == 8
        assert client(svc).nonce(ALICE.address) == 2


def test_forwarded_tx_dropped_at_the_hand_over_is_reported_where_it_was_sent(
    rollup_env: RollupEnv,
) -> None:
    env = rollup_env
    nodes = env.start_nodes(env.signers)
    old = nodes[0]
    assert old.node is not None
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    for n in nodes:
        wait_until(lambda n=n: client(n).balance(ALICE.address) == 10**18, what="deposit")  # type: ignore[misc]
    # L1 will rotate to `gone` (the draw's next), whose node will be down; `follower` is another.
    drawn = _next_drawn(env)
    gone = next(n for n in nodes if n.signer.address == drawn)
    follower = next(n for n in nodes if n is not old and n is not gone)
    c = client(follower)
    old.node.config.block_time_ms = 60_000  # it holds the next transaction unsealed
    t0 = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 7, 0, 0)
    h0 = c.send(ltx.encode_tx(t0))  # forwarded to `old`, the current sequencer
    assert (c.receipt(h0) or {}).get("status") == "pending"
    # L1 rotates to a sequencer whose node is down: `old` cannot hand the transaction over.
    gone.stop()
    env.services.remove(gone)
    assert _reselect(env) == drawn
    old.node.current.invalidate()
    r = c.wait_receipt(h0, timeout_s=20, status="dropped: resend")
    assert r["blockNumber"] is None
    assert (client(old).receipt(h0) or {}).get("status") == "dropped: resend"
    with pytest.raises(RollupNodeError) as e:  # resending gets a clear, retryable error
        c.send(ltx.encode_tx(t0))
    assert e.value.code == NO_CURRENT_SEQUENCER
