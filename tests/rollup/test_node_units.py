"""Unit tests of the sequencer node without a chain: two real :class:`SequencerNode` s (the
current producer and a follower) with their real executors and stores, wired by hand.

- the producer includes L1 queue items in id order, never skipping one, and refuses user
  submissions of queue items, duplicates and a full mempool with the right JSON-RPC codes;
- a node that is not current seals nothing;
- a follower re-executes and imports the producer's blocks, and refuses a bad one (bad
  signature, a producer that is not current, wrong parent, a gap, a deposit out of order or
  forged, a state root that re-execution does not give) with the reason, storing nothing;
- the co-signer's rebuild check refuses a header whose roots differ from the node's blocks,
  naming the differing fields, and a header that does not hash to what is asked;
- who is current is cached, kept through an L1 failure and re-read when invalidated; the
  peer set refuses a signer it has no URL for and reports what an unreachable peer did not
  take.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.rollup.batcher.cosign import batch_validator
from offchain.rollup.batcher.plan import build_batch
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.block import Block, sign_block
from offchain.rollup.node.config import NodeConfig
from offchain.rollup.node.deposits import DepositSource
from offchain.rollup.node.errors import (
    KNOWN_TX,
    MEMPOOL_FULL,
    BlockInvalid,
    RollupNodeError,
    TxInvalid,
)
from offchain.rollup.node.execution import Executor
from offchain.rollup.node.node import SequencerNode
from offchain.rollup.node.peers import CurrentSequencer, PeerSet
from offchain.rollup.node.store import NodeStore
from offchain.staking.errors import CosignRefused
from tests.helpers.waits import poll_until

SC = "0x" + "5c" * 20  # the StateCommitment address of the L2 domain (no chain here)
PRODUCER, FOLLOWER, OTHER = dev_account(20), dev_account(21), dev_account(22)
ALICE, BOB = dev_account(10), dev_account(11)
DOMAIN = ltx.Domain(ltx.DEFAULT_L2_CHAIN_ID, ltx.to_checksum(SC))
E18 = 10**18


class Queue(DepositSource):
    """The L1 bridge queue as the deposit follower would have stored it (id -> encoded)."""

    def __init__(self) -> None:
        self.items: dict[int, bytes] = {}

    def add(self, deposit_id: int, recipient: str, amount: int) -> bytes:
        raw = ltx.encode_tx(ltx.Deposit(deposit_id, ALICE.address, recipient, ltx.ETH, amount))
        self.items[deposit_id] = raw
        return raw

    def get(self, deposit_id: int) -> bytes | None:
        return self.items.get(deposit_id)


def _node(
    tmp: Path, who: LocalAccount, current: str, queue: Queue, max_mempool: int = 100
) -> SequencerNode:
    d = tmp / who.address
    d.mkdir()
    cfg = NodeConfig(data_dir=str(d), max_mempool=max_mempool, current_follow_ms=0)
    return SequencerNode(
        cfg,
        bytes(who.key),
        lambda: Executor(ltx.DEFAULT_L2_CHAIN_ID, SC),
        NodeStore(d / "node.db"),
        CurrentSequencer.fixed(current.lower()),
        PeerSet(who.address, {}),
        queue,
    )


@pytest.fixture
def pair(tmp_path: Path) -> tuple[SequencerNode, SequencerNode, Queue]:
    queue = Queue()
    producer = _node(tmp_path, PRODUCER, PRODUCER.address, queue)
    follower = _node(tmp_path, FOLLOWER, PRODUCER.address, queue)
    return producer, follower, queue


def _transfer(nonce: int, amount: int = 1) -> bytes:
    return ltx.encode_tx(ltx.sign_transfer(ALICE, DOMAIN, BOB.address, ltx.ETH, amount, 0, nonce))


def _kinds(block: Block) -> list[str]:
    return [type(ltx.decode_tx(raw)).__name__ for raw in block.txs]


def test_producer_includes_queue_items_in_id_order_and_stops_at_a_gap(pair) -> None:  # type: ignore[no-untyped-def]
    producer, _, queue = pair
    queue.add(1, ALICE.address, 2 * E18)
    queue.add(0, ALICE.address, 3 * E18)
    queue.add(3, BOB.address, E18)  # 2 is not seen yet: 3 must wait for it
    b1 = producer.seal_block()
    assert b1 is not None
    assert [ltx.decode_tx(r).deposit_id for r in b1.txs] == [0, 1]  # type: ignore[union-attr]
    assert b1.header.next_deposit_id == 2 == producer.next_deposit_id
    producer.submit(_transfer(0))
    queue.add(2, BOB.address, E18)
    b2 = producer.seal_block()
    assert b2 is not None and b2.header.parent_hash == b1.hash()
    # The queue items first, in order, then the user's transfer executed before them.
    assert _kinds(b2) == ["Transfer", "Deposit", "Deposit"]
    assert [ltx.decode_tx(r).deposit_id for r in b2.txs[1:]] == [2, 3]  # type: ignore[union-attr]
    assert b2.header.next_deposit_id == 4
    assert producer.seal_block() is None  # nothing pending: no empty block


def test_producer_refuses_queue_items_duplicates_and_a_full_mempool(tmp_path: Path) -> None:
    queue = Queue()
    node = _node(tmp_path, PRODUCER, PRODUCER.address, queue, max_mempool=2)
    queue.add(0, ALICE.address, 5 * E18)
    assert node.seal_block() is not None
    with pytest.raises(TxInvalid) as e:
        node.submit(queue.add(1, ALICE.address, 10**30))  # a deposit only L1 can queue
    assert e.value.reason == "malformed"
    node.submit(_transfer(0))
    with pytest.raises(RollupNodeError) as e2:
        node.submit(_transfer(0))
    assert e2.value.code == KNOWN_TX
    with pytest.raises(TxInvalid) as e4:
        node.submit(_transfer(7))  # a nonce gap is refused by the ledger, not queued
    assert e4.value.reason == "wrong_nonce"
    node.submit(_transfer(1))
    with pytest.raises(RollupNodeError) as e3:
        node.submit(_transfer(2))
    assert e3.value.code == MEMPOOL_FULL
    assert len(node.mempool) == 2


def test_node_that_is_not_current_seals_nothing(tmp_path: Path) -> None:
    queue = Queue()
    queue.add(0, ALICE.address, E18)
    node = _node(tmp_path, FOLLOWER, PRODUCER.address, queue)
    assert node.seal_block() is None
    assert node.head == 0 and node.next_deposit_id == 0


def test_follower_imports_the_producers_blocks(pair) -> None:  # type: ignore[no-untyped-def]
    producer, follower, queue = pair
    queue.add(0, ALICE.address, 5 * E18)
    follower.import_block(producer.seal_block())
    producer.submit(_transfer(0, 7))
    b2 = producer.seal_block()
    follower.import_block(b2)
    follower.import_block(b2)  # a re-delivery changes nothing
    assert (follower.head, follower.head_hash) == (2, b2.hash())
    assert follower.executor.state_root() == producer.executor.state_root()
    assert follower.store.receipt(b2.tx_hashes[0]) is not None


def _refused(follower: SequencerNode, block: Block, reason: str) -> None:
    head, root = follower.head, follower.executor.state_root()
    with pytest.raises(BlockInvalid) as e:
        follower.import_block(block)
    assert e.value.reason == reason, e.value.message
    assert (follower.head, follower.executor.state_root()) == (head, root)  # nothing stored


def _resigned(block: Block, key: LocalAccount, **header: object) -> Block:
    h = dataclasses.replace(block.header, **header)  # type: ignore[arg-type]
    return sign_block(h, bytes(key.key), block.txs)


def test_follower_refuses_bad_blocks_with_the_reason(pair) -> None:  # type: ignore[no-untyped-def]
    producer, follower, queue = pair
    queue.add(0, ALICE.address, 5 * E18)
    b1 = producer.seal_block()
    assert b1 is not None
    forged_sig = dataclasses.replace(b1, signature=bytes(65))
    _refused(follower, forged_sig, "signature")
    by_other = _resigned(b1, OTHER, producer=OTHER.address.lower())
    _refused(follower, by_other, "producer")  # signed right, but OTHER is not current
    _refused(follower, _resigned(b1, PRODUCER, parent_hash=keccak(b"x")), "parent")
    _refused(follower, _resigned(b1, PRODUCER, number=2), "gap")
    _refused(follower, _resigned(b1, PRODUCER, state_root=keccak(b"y")), "state_root")
    inflated = ltx.encode_tx(ltx.Deposit(0, ALICE.address, ALICE.address, ltx.ETH, 500 * E18))
    forged = sign_block(b1.header, bytes(PRODUCER.key), [inflated])
    _refused(follower, forged, "deposit_forged")  # not the deposit L1 queued
    skipped = ltx.encode_tx(ltx.Deposit(1, ALICE.address, ALICE.address, ltx.ETH, E18))
    queue.items[1] = skipped
    _refused(follower, sign_block(b1.header, bytes(PRODUCER.key), [skipped]), "deposit_order")
    follower.import_block(b1)  # the honest block still goes in
    assert follower.head == 1


def test_cosign_refuses_a_header_its_blocks_do_not_rebuild(pair) -> None:  # type: ignore[no-untyped-def]
    producer, follower, queue = pair
    queue.add(0, ALICE.address, 5 * E18)
    follower.import_block(producer.seal_block())
    producer.submit(_transfer(0, 3))
    producer.submit(_transfer(1, 4))
    follower.import_block(producer.seal_block())

    def deposit_hash(count: int) -> bytes:  # stands in for L1's depositHashAt (both sides)
        h = bytes(32)
        for i in range(count):
            h = keccak(h + keccak(queue.items[i]))
        return h

    honest = build_batch(producer, 0, 1, 2, deposit_hash).header
    validate = batch_validator(follower, deposit_hash)
    validate(SC, 0, honest.hash(), honest.to_json())  # the same blocks: signed
    bad = dataclasses.replace(honest, state_roots_root=keccak(b"forged"), tx_count=4)
    with pytest.raises(CosignRefused) as e:
        validate(SC, 0, bad.hash(), bad.to_json())
    assert str(e.value).startswith(
        "batch 0 differs from this node's blocks in ['tx_count', 'state_roots_root']"
    ), str(e.value)
    with pytest.raises(CosignRefused) as e2:
        validate(SC, 0, keccak(b"another header"), honest.to_json())
    assert "does not hash" in str(e2.value)
    with pytest.raises(CosignRefused) as e3:
        validate(SC, 1, honest.hash(), honest.to_json())  # asked for another index
    assert "does not hash" in str(e3.value)
    with pytest.raises(CosignRefused) as e4:
        validate(SC, 0, honest.hash(), {"index": 0})
    assert "malformed batch header" in str(e4.value)


def test_current_sequencer_caches_keeps_the_last_answer_and_rereads_when_invalidated() -> None:
    answers = [PRODUCER.address, RuntimeError("L1 down"), FOLLOWER.address]
    reads: list[int] = []

    def source() -> str:
        reads.append(1)
        a = answers[min(len(reads), len(answers)) - 1]
        if isinstance(a, Exception):
            raise a
        return a

    cur = CurrentSequencer(source, ttl_ms=60_000, retry_ms=0)
    assert cur.get() == PRODUCER.address.lower() == cur.get()  # lower case, cached
    assert len(reads) == 1
    cur.invalidate()
    assert cur.get() == PRODUCER.address.lower() and len(reads) == 2  # L1 down: last answer
    cur.invalidate()
    assert cur.get() == FOLLOWER.address.lower() and len(reads) == 3  # a rotation is seen
    assert cur.fresh(0.0) == FOLLOWER.address.lower() and len(reads) == 4  # max age 0: re-read


def test_current_sequencer_backs_off_after_a_failed_read() -> None:
    """An L1 outage: every caller (each seal, each pushed block, each forwarded tx) used to
    re-read L1 and log, about every 10 ms per node. Now one read per ``retry_ms``."""
    up = [True]
    reads: list[int] = []

    def source() -> str:
        reads.append(1)
        if not up[0]:
            raise RuntimeError("L1 down")
        return PRODUCER.address

    cur = CurrentSequencer(source, ttl_ms=0, retry_ms=300)
    assert cur.get() == PRODUCER.address.lower() and len(reads) == 1
    up[0] = False
    for _ in range(200):  # a hot loop of callers, invalidating as the node does
        cur.invalidate()
        assert cur.get() == PRODUCER.address.lower()  # the last known answer
    assert len(reads) == 2  # one failed read, then no more until retry_ms has passed
    up[0] = True
    poll_until(
        lambda: cur.get() is not None and len(reads) == 3,
        timeout_s=5,
        what="a read after L1 is back",
    )
    assert cur.fresh(0.0) == PRODUCER.address.lower() and len(reads) == 4  # healthy: re-reads


def test_peers_refuse_unknown_signers_and_report_unreachable_ones() -> None:
    dead = "http://127.0.0.1:9/"  # nothing listens there
    peers = PeerSet(PRODUCER.address, {FOLLOWER.address: dead}, timeout_s=1)
    assert peers.signers() == {PRODUCER.address.lower(), FOLLOWER.address.lower()}
    assert peers.url_of(FOLLOWER.address.upper().replace("0X", "0x")) == dead
    with pytest.raises(LookupError, match=f"no URL configured for sequencer {OTHER.address}"):
        peers.forward(OTHER.address, {"jsonrpc": "2.0", "id": 1, "method": "l2_status"})
    raws = [_transfer(0), _transfer(1)]
    assert peers.forward_transactions(FOLLOWER.address, raws) == raws  # none taken
    assert peers.forward_transactions(OTHER.address, raws) == raws  # no URL: none taken
