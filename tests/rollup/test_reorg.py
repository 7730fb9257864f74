"""Attack: L1 reorgs (``anvil_reorg``) while a real node + batcher run on Anvil.

A batch removed by a reorg must be rebuilt and re-appended at the same index within a few
seconds (the sender re-reads its nonce); afterwards L1 holds batches 0..N with no gap or
duplicate, each matching the node's record, and ``l2_status`` reports what L1 holds now.
"""

from __future__ import annotations

import time

import pytest

from offchain.chain.accounts import dev_account
from offchain.chain.networks import default_confirmations
from offchain.rollup.ledger import tx as ltx
from offchain.rollup.ledger.batch import BatchHeader
from offchain.rollup.node.config import BatcherConfig
from offchain.rollup.node.service import NodeService
from tests.helpers.reorg import ALICE, BOB, funded_rollup
from tests.helpers.waits import wait_rounds
from tests.rollup.conftest import RollupEnv, client, wait_until

# Storage-mode data answers here are blob transactions (tests/rollup/conftest.py).
pytestmark = pytest.mark.usefixtures("blob_ready")

FAST_BATCHES = BatcherConfig(max_batch_txs=1, batch_timeout_ms=100, poll_interval_ms=50)


def _appended_block(env: RollupEnv, index: int) -> int:
    logs = env.l1().sc.events.BatchAppended.get_logs(
        from_block=0, argument_filters={"index": index}
    )
    return max(int(lg["blockNumber"]) for lg in logs)


def _assert_l1_matches_node(env: RollupEnv, svc: NodeService) -> int:
    l1 = env.l1()
    n = l1.next_index()
    assert svc.node is not None
    for i in range(n):  # 0..n-1, no gap, each the node's own batch
        rec = svc.node.store.batch(i)
        assert rec is not None, f"node has no record of L1 batch {i}"
        assert l1.header_matches(i, BatchHeader.from_json(rec["header"]).hash()), i
    return n


def _transfer(env: RollupEnv, svc: NodeService, nonce: int) -> None:
    c = client(svc)
    t = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 0, nonce)
    c.wait_receipt(c.send(ltx.encode_tx(t)), timeout_s=20)


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_batchRemovedByReorgIsReappendedAtSameIndex(rollup_env: RollupEnv, depth: int) -> None:
    env = rollup_env
    f = funded_rollup(env, FAST_BATCHES)
    svc, c = f.svc, f.c
    _transfer(env, svc, 0)
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, 20, "first batch on L1")
    idx = l1.next_index() - 1
    env.chain.rpc("evm_mine")  # the batch is now `depth - 1` blocks deep at most
    reorg_depth = max(depth, int(env.chain.w3.eth.block_number) - _appended_block(env, idx) + 1)
    t0 = time.monotonic()
    env.chain.rpc("anvil_reorg", reorg_depth, [])
    assert l1.next_index() == idx  # the batch is gone from L1
    wait_until(lambda: l1.next_index() == idx + 1, 30, "batch re-appended at the same index")
    assert time.monotonic() - t0 <= 10
    _transfer(env, svc, 1)  # the rollup keeps going: the next batch lands too
    wait_until(lambda: l1.next_index() >= idx + 2, 30, "next batch after the reorg")
    _assert_l1_matches_node(env, svc)
    # A batch may still be landing after the check above: the status follows what L1 holds.
    wait_until(lambda: c.status()["lastBatch"] == l1.next_index() - 1, 10, "status matches L1")
    h = svc.health()
    assert h["status"] != "down", h["failing"]


def test_depositRemovedByReorgIsUncreditedAndRollupGoesOn(rollup_env: RollupEnv) -> None:
    """A deposit consumed on L2 (after the devnet's default 2 confirmations) and then removed
    by a deeper L1 reorg: the node rolls back the unbatched blocks that consumed it,
    re-executes their other transactions, and batches go on with no deposit L1 lacks."""
    env = rollup_env
    f = funded_rollup(
        env, BatcherConfig(max_batch_txs=1000, batch_timeout_ms=3000, poll_interval_ms=50)
    )
    svc, c = f.svc, f.c  # alice's deposit is deep: only carol's goes
    carol = dev_account(12)
    env.bridge(BOB).deposit_eth(carol.address, 5 * 10**17)
    wait_until(lambda: c.balance(carol.address) > 0, what="carol's deposit credited on L2")
    _transfer(env, svc, 0)  # alice -> bob, in a block after the one that consumed it
    bridge = env.contracts.bridge_contract()
    (ev,) = bridge.events.DepositQueued.get_logs(from_block=0, argument_filters={"depositId": 1})
    depth = int(env.chain.w3.eth.block_number) - int(ev["blockNumber"]) + 1
    assert depth > default_confirmations(env.chain.chain_id)  # deeper than the confirmations
    env.chain.rpc("anvil_reorg", depth, [])  # the deposit's L1 block is gone
    assert bridge.functions.depositCount().call() == 1
    wait_until(lambda: c.balance(carol.address) == 0, 15, "carol's deposit uncredited")
    assert c.balance(BOB.address) == 1  # alice's transfer re-executed on the rolled-back state
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, 30, "a batch after the reorg")
    _assert_l1_matches_node(env, svc)
    assert svc.node is not None
    rec = svc.node.store.batch(l1.next_index() - 1)
    assert rec is not None
    header = BatchHeader.from_json(rec["header"])
    assert header.deposit_count == 1  # no deposit that L1 does not hold
    assert svc.health()["status"] != "down", svc.health()["failing"]


def test_depositConsumedOnlyAfterConfirmations(rollup_env: RollupEnv) -> None:
    env = rollup_env
    (svc,) = env.start_nodes(env.signers[:1], deposit_confirmations=3)
    c = client(svc)
    env.bridge(ALICE).deposit_eth(ALICE.address, 10**18)
    # The deposit follower and the block producer ran rounds since the deposit was mined.
    assert svc.deposits is not None and svc.producer is not None
    wait_rounds([svc.deposits, svc.producer], 3)
    assert c.balance(ALICE.address) == 0  # 0 confirmations: not consumed yet
    for _ in range(3):
        env.chain.rpc("evm_mine")
    wait_until(lambda: c.balance(ALICE.address) == 10**18, 10, "credited after 3 confirmations")


def test_statusReportsWhatL1HoldsAfterReorg(rollup_env: RollupEnv) -> None:
    env = rollup_env
    f = funded_rollup(env, FAST_BATCHES)
    svc, c = f.svc, f.c
    _transfer(env, svc, 0)
    l1 = env.l1()
    wait_until(lambda: c.status()["lastBatch"] == l1.next_index() - 1 >= 0, 20, "batch on L1")
    n = l1.next_index()
    assert svc.batcher is not None
    svc.batcher.stop()  # freeze the batcher so we see the status between reorg and re-append
    env.chain.rpc(
        "anvil_reorg", int(env.chain.w3.eth.block_number) - _appended_block(env, n - 1) + 1, []
    )
    assert l1.next_index() == n - 1
    svc.batcher.sync_invalidations()
    assert c.status()["lastBatch"] == (n - 2 if n >= 2 else None)


def test_dataAnswerRemovedByReorgIsAnsweredAgain(rollup_env: RollupEnv) -> None:
    """The sequencer's provideData is reorged out: the request is open again on L1; the batcher
    answers it again, the verifier verifies from L1, nobody honest is slashed."""
    from offchain.rollup.l1.bindings import RequestStatus

    env = rollup_env
    funded_rollup(env, FAST_BATCHES)
    l1 = env.l1()
    wait_until(lambda: l1.next_index() >= 1, 20, "a batch on L1")
    v = env.start_verifier(dev_account(32), "http://127.0.0.1:9")  # storage down, no snapshot
    assert v.tick()[0].result == "requested"
    wait_until(lambda: l1.data_request(0).status == RequestStatus.ANSWERED, 20, "answered")
    da = env.chain.contract("DataAvailabilityChallenge", env.addresses["da_challenge"])
    (ev,) = da.events.DataProvided.get_logs(from_block=0, argument_filters={"index": 0})
    depth = int(env.chain.w3.eth.block_number) - int(ev["blockNumber"]) + 1
    env.chain.rpc("anvil_reorg", depth, [])
    assert l1.data_request(0).status == RequestStatus.OPEN  # the answer is gone
    t0 = time.monotonic()
    wait_until(lambda: l1.data_request(0).status == RequestStatus.ANSWERED, 20, "answered again")
    assert time.monotonic() - t0 <= 10
    wait_until(lambda: v.tick() is not None and v.verified_index >= 0, 20, "verified from L1")
    assert all(env.stake(s.address) == env.stake_at_deploy(s.address) for s in env.signers)


def test_fraudProofRemovedByReorgIsSentAgain(rollup_env: RollupEnv) -> None:
    from tests.rollup.conftest import FRAUD_SLASH

    env = rollup_env
    f = funded_rollup(env)
    nodes, faulty, l1, seqset = f.nodes, f.svc, env.l1(), env.seqset()
    bad = env.signers[0]
    assert faulty.batcher is not None
    faulty.batcher.fault = env.colluding("wrong_mtsr")
    stake0 = env.stake(bad.address)
    slashed = stake0 - max(0, stake0 - FRAUD_SLASH)
    _transfer(env, faulty, 0)
    wait_until(lambda: l1.next_index() >= 1, 30, "the faulty batch")
    for svc in nodes:  # no resubmission in between: the reorg only removes the proof
        if svc.batcher is not None:
            svc.batcher.stop()
    v = env.start_verifier(dev_account(34))
    wait_until(lambda: any(o.result == "fraud_proven" for o in v.tick()), 20, "fraud proven")
    assert env.stake(bad.address) == stake0 - slashed
    head = int(env.chain.w3.eth.block_number)
    env.chain.rpc("anvil_reorg", 1, [])  # proveFraud was the last L1 transaction
    assert int(env.chain.w3.eth.block_number) == head
    assert env.stake(bad.address) == stake0  # the proof is gone
    assert bad.address in seqset.functions.activeSigners().call()
    wait_until(lambda: v.tick() is not None and env.stake(bad.address) < stake0,
               20, "fraud proven again")  # fmt: skip
    assert env.stake(bad.address) == stake0 - slashed
    assert bad.address not in seqset.functions.activeSigners().call()


@pytest.mark.slow
def test_randomReorgsDuringARunLeaveL1Consistent(rollup_env: RollupEnv) -> None:
    """Reorgs of depth 1-5 at random moments while users transact: afterwards L1 holds
    batches 0..N, no gap or duplicate, each the node's own; every accepted transaction is in
    exactly one batch; no honest batch is challenged; nothing stopped."""
    import random
    import threading

    env = rollup_env
    f = funded_rollup(
        env, BatcherConfig(max_batch_txs=3, batch_timeout_ms=200, poll_interval_ms=50)
    )
    nodes, svc, c = f.nodes, f.svc, f.c
    accepted: list[bytes] = []
    stop = threading.Event()

    def users() -> None:
        nonce = 0
        while not stop.is_set():
            t = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 0, nonce)
            try:
                h = c.send(ltx.encode_tx(t))
            except Exception:  # noqa: BLE001 - refused (e.g. while rotating): not accepted
                stop.wait(0.05)
                continue
            accepted.append(bytes.fromhex(h.removeprefix("0x")))
            nonce += 1
            stop.wait(0.1)

    rng = random.Random(14)
    th = threading.Thread(target=users)
    th.start()
    try:
        for _ in range(8):
            # A random moment, counted in progress: 3-12 more accepted transactions and a new
            # L1 block (their batches landing) since the last reorg.
            mark, head = len(accepted) + rng.randint(3, 12), int(env.chain.w3.eth.block_number)
            wait_until(lambda m=mark: len(accepted) >= m, 60, f"{mark} accepted transactions")  # type: ignore[misc]
            wait_until(lambda h=head: env.chain.w3.eth.block_number > h, 60, "a new L1 block")  # type: ignore[misc]
            depth = min(rng.randint(1, 5), int(env.chain.w3.eth.block_number) - 1)
            env.chain.rpc("anvil_reorg", depth, [])
    finally:
        stop.set()
        th.join(10)
    v = env.start_verifier(dev_account(35))
    l1 = env.l1()

    def all_batched() -> bool:
        assert svc.node is not None
        got: list[bytes] = []
        for i in range(l1.next_index()):
            rec = svc.node.store.batch(i)
            if rec is None:
                return False
            for b in svc.node.store.blocks(rec["first_block"], rec["last_block"]):
                got += [svc.node.executor.tx_hash(raw) for raw in b.txs]
        mine = [h for h in got if h in set(accepted)]
        assert len(mine) == len(set(mine))  # never twice
        return len(mine) == len(accepted)

    wait_until(all_batched, 60, "every accepted transaction in one batch")
    n = _assert_l1_matches_node(env, svc)
    wait_until(lambda: v.tick() is not None and v.verified_index >= n - 1, 60, "all verified")
    assert all(o.result == "verified" for o in v.outcomes)  # no honest batch challenged
    assert all(s.batcher is not None and s.batcher.alive for s in nodes)


def test_statusNeverReportsABatchInFlight(rollup_env: RollupEnv) -> None:
    """Anvil stops mining: the batcher records batch 0 and sends appendBatch, which waits in
    the pool. ``l2_status`` must not report it until L1 holds it; ``lastSafeBatch`` only once
    it is ``confirmations`` blocks deep."""
    env = rollup_env
    f = funded_rollup(env, FAST_BATCHES)
    svc, c = f.svc, f.c
    assert svc.node is not None
    l1 = env.l1()
    wait_until(lambda: c.status()["lastBatch"] is not None, 20, "the deposit's batch on L1")
    held = l1.next_index()
    env.chain.rpc("evm_setAutomine", False)
    try:
        _transfer_nowait(env, svc, 0)
        wait_until(lambda: (svc.node.store.last_batch() or {}).get("index") == held, 20,
                   "the node's record of the next batch")  # fmt: skip
        assert l1.next_index() == held  # appendBatch waits in the pool
        assert c.status()["lastBatch"] == held - 1
    finally:
        env.chain.rpc("evm_setAutomine", True)
    env.chain.rpc("evm_mine")
    wait_until(lambda: l1.next_index() == held + 1, 20, "the batch mined")
    wait_until(lambda: c.status()["lastBatch"] == held, 10, "status follows L1")
    confirmations = svc.node.l1_view.confirmations if svc.node.l1_view else 0
    mined_at = l1._appended_at_index(held)[-1].block_number
    # Other agents' transactions also make blocks: judge each answer by the batch's depth,
    # read after the answer (so the depth is at least what the node saw).
    safe = None
    for _ in range(confirmations + 5):
        safe = c.status()["lastSafeBatch"]
        head = env.chain.w3.eth.block_number
        if head - mined_at < confirmations:
            assert safe is not None and safe < held, (safe, head, mined_at, confirmations)
        if safe == held:
            break
        env.chain.rpc("evm_mine")
    assert safe == held


def _transfer_nowait(env: RollupEnv, svc: NodeService, nonce: int) -> None:
    t = ltx.sign_transfer(ALICE, env.domain, BOB.address, ltx.ETH, 1, 0, nonce)
    client(svc).send(ltx.encode_tx(t))


def test_verifierNeverSeesABatchAReorgWithinItsConfirmationsRemoves(rollup_env: RollupEnv) -> None:
    """The verifier (default confirmations: 2 on a local devnet) checks a batch only once it
    is that deep: a batch a shallower reorg removes is never checked, the re-appended one is,
    and nothing is rewound or challenged."""
    from offchain.rollup.verifier.daemon import Verifier

    env = rollup_env
    f = funded_rollup(env, FAST_BATCHES)
    l1 = env.l1()
    # The deposit's batch first: "the verifier at L1's batches" must not pass on an empty L1.
    wait_until(lambda: l1.next_index() >= 1, 20, "the deposit's batch on L1")
    v = env.start_verifier(dev_account(36))
    assert v.confirmations == default_confirmations(env.chain.chain_id) == 2
    wait_until(lambda: v.tick() is not None and v.verified_index == l1.next_index() - 1, 20,
               "the verifier at L1's batches")  # fmt: skip
    for svc in f.nodes[1:]:  # one batcher re-appends (the others would race it)
        if svc.batcher is not None:
            svc.batcher.stop()
    idx = l1.next_index()
    _transfer(env, f.svc, 0)
    wait_until(lambda: l1.next_index() > idx, 20, "the new batch on L1")
    assert Verifier.tick(v) == [] and v.verified_index == idx - 1  # not yet deep enough
    depth = int(env.chain.w3.eth.block_number) - _appended_block(env, idx) + 1
    assert depth <= 2
    env.chain.rpc("anvil_reorg", depth, [])
    assert l1.next_index() == idx  # the batch is gone
    wait_until(lambda: l1.next_index() > idx, 20, "the batch re-appended")
    assert Verifier.tick(v) == []  # the re-append is not deep enough either
    for _ in range(2):
        env.chain.rpc("evm_mine")
    (o,) = Verifier.tick(v)
    assert o.result == "verified" and v.verified_index == idx
    assert l1.stored_header_hash(idx) == v._hashes[idx]
    assert all(env.stake(s.address) > 0 for s in env.signers)
