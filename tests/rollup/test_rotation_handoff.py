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


def test_block_sealed_at_the_rotation_is_handed_to_the_new_sequencer(
    rollup_env: RollupEnv,
) -> None:
    env = rollup_env
    old, new, other = env.start_nodes(env.signers)  # signers[0] is current on L1
    assert old.node is not None and new.node is not None
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    for c in map(client, (old, new, other)):
        wait_until(lambda c=c: c.balance(ALICE.address) == 10**18, what="deposit")  # type: ignore[misc]
    head0 = client(old).status()["head"]

    # L1 rotates to `new` at the very moment `old` seals its next block (signed while it was
    # current): the block reaches its peers after the rotation and they refuse it.
    owner = env.chain.sender(env.owner)
    seqset = env.seqset()
    sealed_at_rotation: list[int] = []

    def rotate_while_sealing(block: Block) -> Block:
        if not sealed_at_rotation:
            sealed_at_rotation.append(block.number)
            owner.send(seqset.functions.setCurrent(env.signers[1].address))
            for peer in (new, other):  # they saw the rotation (as their RotationFollower does)
                assert peer.node is not None
                peer.node.current.invalidate()
        return block

    old.node.fault_hook = rotate_while_sealing
    t0 = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 7, 0, 0)
    h0 = client(old).send(ltx.encode_tx(t0))
    wait_until(lambda: sealed_at_rotation, what="a block sealed at the rotation")
    assert sealed_at_rotation == [head0 + 1]

    # Accepted by `old`, so it is included by the new sequencer and every node agrees.
    for svc in (new, other, old):
        r = client(svc).wait_receipt(h0, timeout_s=20)
        assert r["blockNumber"] == head0 + 1
    block = client(new).block(head0 + 1)
    assert (
        block is not None and block["header"]["producer"].lower() == env.signers[1].address.lower()
    )
    # The user's next transaction (next nonce, through another node) follows on the new chain.
    t1 = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 0, 1)
    h1 = client(other).send(ltx.encode_tx(t1))
    for svc in (new, other, old):
        client(svc).wait_receipt(h1, timeout_s=20)
    wait_until(
        lambda: len({client(s).status()["headHash"] for s in (old, new, other)}) == 1,
        what="one chain on every node",
    )
    for svc in (old, new, other):
        assert client(svc).balance(BOB.address) == 8
        assert client(svc).nonce(ALICE.address) == 2


def test_forwarded_tx_dropped_at_the_hand_over_is_reported_where_it_was_sent(
    rollup_env: RollupEnv,
) -> None:
    env = rollup_env
    old, follower, gone = env.start_nodes(env.signers)
    assert old.node is not None
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    c = client(follower)
    wait_until(lambda: c.balance(ALICE.address) == 10**18, what="deposit")
    old.node.config.block_time_ms = 60_000  # it holds the next transaction unsealed
    t0 = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 7, 0, 0)
    h0 = c.send(ltx.encode_tx(t0))  # forwarded to `old`, the current sequencer
    assert (c.receipt(h0) or {}).get("status") == "pending"
    # L1 rotates to a sequencer whose node is down: `old` cannot hand the transaction over.
    gone.stop()
    env.services.remove(gone)
    env.chain.sender(env.owner).send(env.seqset().functions.setCurrent(env.signers[2].address))
    old.node.current.invalidate()
    r = c.wait_receipt(h0, timeout_s=20, status="dropped: resend")
    assert r["blockNumber"] is None
    assert (client(old).receipt(h0) or {}).get("status") == "dropped: resend"
    with pytest.raises(RollupNodeError) as e:  # resending gets a clear, retryable error
        c.send(ltx.encode_tx(t0))
    assert e.value.code == NO_CURRENT_SEQUENCER
