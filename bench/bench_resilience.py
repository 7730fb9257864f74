"""Recovery figures: real nodes (3 sequencers, batcher each) on Anvil with a real blob store.

- ``agent_recovery_s``: the blob store is stopped for ``OUTAGE_S`` while a batch is due (the
  batcher's ticks fail and back off to the default 5 s maximum), then started again on the
  same port; wall time from its return to the batcher's next successful action (the batch
  appended on L1). Default backoff (``LoopConfig``: 200 ms doubling to 5 s, plus jitter).
  Median of 3. Target ≤ 10 s.
- ``reorg_batch_resubmit_s``: ``anvil_reorg`` (depth 2) removes the newest ``BatchAppended``;
  wall time from the reorg to the batch being on L1 again at the same index (the sender
  re-reads its nonce, the batcher rebuilds from ``nextIndex``). Median of 5. Target ≤ 10 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from offchain.chain.accounts import dev_account

OUTAGE_S = 12.0


def run() -> dict[str, float]:
    from offchain.chain.anvil import Anvil
    from offchain.chain.client import Chain, connect
    from offchain.chain.compile import compile_contracts
    from offchain.rollup.ledger import tx as ltx
    from offchain.rollup.node.config import BatcherConfig
    from offchain.storage.server import StorageServer
    from tests.rollup.conftest import RollupEnv, client, deploy_rollup, signers_of, wait_until

    compile_contracts()
    alice, bob = dev_account(10), dev_account(11)
    with Anvil() as a, tempfile.TemporaryDirectory() as tmp:
        chain = Chain(connect(a.url))
        prod = deploy_rollup(chain)  # deploy_all, 4 sequencers, the key installed by the set
        signers = signers_of(prod)  # the current sequencer first
        blobs_dir = Path(tmp) / "blobs"
        storage = StorageServer(blobs_dir).start()
        port = storage.port
        env = RollupEnv(
            chain, dev_account(0), signers, prod.addresses, storage.url, Path(tmp), prod
        )
        try:
            nodes = env.start_nodes(
                signers, BatcherConfig(max_batch_txs=1, batch_timeout_ms=100, poll_interval_ms=50)
            )
            cur = client(nodes[0])
            env.bridge(alice).deposit_eth(alice.address, 10**18)
            wait_until(lambda: cur.balance(alice.address) > 0, what="deposit")
            for _ in range(8):
                chain.rpc("evm_mine")
            l1 = env.l1()
            nonce = 0

            def transfer() -> None:
                nonlocal nonce
                t = ltx.sign_transfer(alice, env.domain, bob.address, ltx.ETH, 1, 0, nonce)
                nonce += 1
                cur.wait_receipt(cur.send(ltx.encode_tx(t)), timeout_s=20)

            resubmit: list[float] = []
            for _ in range(5):
                n = l1.next_index()
                chain.rpc("evm_mine")  # the depth-2 reorg then removes this batch, not the last
                transfer()
                wait_until(lambda n=n: l1.next_index() > n, 30, "batch")  # type: ignore[misc]
                t0 = time.monotonic()
                chain.rpc("anvil_reorg", 2, [])
                wait_until(lambda n=n: l1.next_index() > n, 30, "re-append")  # type: ignore[misc]
                resubmit.append(time.monotonic() - t0)

            def settled() -> bool:  # every batch a node recorded is on L1: none in flight
                recorded = [
                    (s.node.store.last_batch() or {}).get("index", -1) for s in nodes if s.node
                ]
                return max(recorded) + 1 == l1.next_index()

            recovery: list[float] = []
            for _ in range(3):
                # A re-append after the reorgs above may still be landing: start from rest.
                wait_until(settled, 30, "every recorded batch on L1")
                n = l1.next_index()
                storage.stop()
                transfer()  # a batch is now due; its data cannot be stored
                time.sleep(OUTAGE_S)
                assert l1.next_index() == n
                storage = StorageServer(blobs_dir, port=port).start()
                t0 = time.monotonic()
                wait_until(lambda n=n: l1.next_index() > n, 30, "batch after the outage")  # type: ignore[misc]
                recovery.append(time.monotonic() - t0)
        finally:
            env.stop_nodes()
            storage.stop()
    return {
        "agent_recovery_s": round(statistics.median(recovery), 2),
        "agent_recovery_max_s": round(max(recovery), 2),
        "reorg_batch_resubmit_s": round(statistics.median(resubmit), 2),
        "reorg_batch_resubmit_max_s": round(max(resubmit), 2),
    }
