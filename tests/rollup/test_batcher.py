"""Exactly one batch per index: a second submitter, a restart or an L1 reorg never makes a
duplicate or a gap (the batches on L1 cover consecutive L2 blocks)."""

from __future__ import annotations

import threading

from offchain.chain.accounts import dev_account
from offchain.rollup.batcher.submitter import Batcher
from offchain.rollup.l1.bindings import RollupL1
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.node.config import BatcherConfig
from offchain.rollup.node.service import NodeService
from tests.rollup.conftest import RollupEnv, client, wait_until

ALICE, BOB = dev_account(10), dev_account(11)
FAST = BatcherConfig(max_batch_txs=4, batch_timeout_ms=200, poll_interval_ms=50)


def _assert_contiguous(l1: RollupL1, head: int | None = None) -> int:
    """Every batch on L1 starts right after the previous one; returns the last covered block."""
    expected_first = 1
    for i in range(l1.next_index()):
        h = l1.get_header_from_event(i)
        assert h.index == i
        assert h.first_block == expected_first, (i, h.first_block, expected_first)
        expected_first = h.first_block + h.l2_blocks
    if head is not None:
        assert expected_first - 1 <= head
    return expected_first - 1


def _transfers(env: RollupEnv, svc: NodeService, n: int) -> None:
    c = client(svc)
    nonce = c.nonce(ALICE.address)
    for i in range(n):
        h = c.send(
            ltx.encode_tx(
                ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1 + i, 0, nonce + i)
            )
        )
    c.wait_receipt(h)


def test_second_submitter_restart_and_reorg(rollup_env: RollupEnv) -> None:
    env = rollup_env
    nodes = env.start_nodes(env.signers, FAST)
    cur = nodes[0]
    l1 = env.l1()
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    wait_until(lambda: client(cur).balance(ALICE.address) > 0, what="deposit")
    # A second submitter for the same node racing the first one.
    assert cur.node is not None and cur.batcher is not None
    rival = Batcher(cur.node, env.contracts.l1(env.chain.sender(cur.signer)),
                    env.contracts.bridge_contract(),
                    cur.batcher.blobs, cur.batcher.cosign, FAST)  # fmt: skip
    stop = threading.Event()
    results: list[str] = []

    def race() -> None:
        while not stop.is_set():
            try:
                results.append(rival.tick()["action"])
            except Exception as e:  # noqa: BLE001 - the rival may lose races in many ways
                results.append(type(e).__name__)
            stop.wait(0.03)

    t = threading.Thread(target=race)
    t.start()
    try:
        for _ in range(3):
            _transfers(env, cur, 5)
        wait_until(lambda: l1.next_index() >= 3, timeout_s=30, what="several batches")
    finally:
        stop.set()
        t.join(10)
    _assert_contiguous(l1, cur.node.head)
    # Restart the current node: it continues at L1's next index, no gap, no duplicate.
    before = l1.next_index()
    cfg = cur.config
    cur.stop()
    env.services.remove(cur)
    again = NodeService(env.contracts, env.signers[0], cfg, env.storage_url).start()
    env.services.append(again)
    _transfers(env, again, 5)
    wait_until(lambda: l1.next_index() > before, timeout_s=30, what="a batch after the restart")
    covered = _assert_contiguous(l1)
    wait_until(
        lambda: _assert_contiguous(l1) == (again.node.head if again.node else -1),
        timeout_s=30,
        what="all blocks batched",
    )
    assert covered <= (again.node.head if again.node else 0)
    # An L1 reorg drops the newest batch: it is submitted again at the same index.
    snap = env.chain.rpc("evm_snapshot")
    _transfers(env, again, 3)
    n = l1.next_index()
    wait_until(lambda: l1.next_index() > n, timeout_s=30, what="a batch to reorg out")
    dropped = l1.get_header_from_event(n)
    verifier = env.start_verifier(dev_account(37))
    wait_until(
        lambda: verifier.tick() is not None and verifier.verified_index >= n, what="verified"
    )
    env.chain.rpc("evm_revert", snap)
    assert l1.next_index() == n
    verifier.tick()  # the batch it verified is gone from L1: it rewinds, challenges nothing
    assert verifier.verified_index == n - 1
    if again.batcher is not None:
        again.batcher.l1.sender.resync_nonce()  # type: ignore[union-attr]
    wait_until(lambda: l1.next_index() > n, timeout_s=30, what="the dropped batch resubmitted")
    assert l1.get_header_from_event(n).first_block == dropped.first_block
    _assert_contiguous(l1)
    wait_until(lambda: verifier.tick() is not None and verifier.verified_index >= n, what="again")
    assert all(o.result == "verified" for o in verifier.outcomes)
