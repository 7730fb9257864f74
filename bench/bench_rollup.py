"""Rollup daemon figures on a devnet (real contracts on Anvil, real blob store).

The sequencer's throughput, latency and memory figures are in ``bench/bench_wallet.py``.

- ``fraud_detect_to_slash_s``: a sequencer posts a batch with a wrong MTSR; wall time from
  the batch appearing on L1 until the running verifier's fraud proof has slashed the
  sequencer (median of 3; the verifier polls every 100 ms).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from offchain.chain.accounts import dev_account


def _fraud_to_slash() -> float:
    """Median of 3 runs on the production deployment (``deploy_all``: the real LockingPool and
    SequencerSet, 4 sequencers, the group key installed by the set; see tests/rollup)."""
    from offchain.chain.anvil import Anvil
    from offchain.chain.client import Chain, connect
    from offchain.chain.compile import compile_contracts
    from tests.rollup.conftest import RollupEnv, deploy_rollup, signers_of, wait_until

    compile_contracts()

    def once() -> float:
        with Anvil() as a:
            import tempfile

            from offchain.storage.server import StorageServer

            chain = Chain(connect(a.url))
            prod = deploy_rollup(chain)
            signers = signers_of(prod)  # the current sequencer first
            with tempfile.TemporaryDirectory() as tmp, StorageServer(Path(tmp) / "blobs") as st:
                env = RollupEnv(
                    chain, dev_account(0), signers, prod.addresses, st.url, Path(tmp), prod
                )
                try:
                    nodes = env.start_nodes(signers)
                    assert nodes[0].batcher is not None
                    nodes[0].batcher.fault = env.colluding("wrong_mtsr")
                    env.start_verifier(dev_account(34), run=True)
                    alice = dev_account(10)
                    env.bridge(alice).deposit_eth(alice.address, 10**18)
                    l1 = env.l1()
                    stake0 = env.stake(signers[0].address)
                    wait_until(lambda: l1.next_index() >= 1, timeout_s=30, what="faulty batch")
                    t_landed = time.monotonic()  # polled every 50 ms
                    wait_until(
                        lambda: env.stake(signers[0].address) < stake0,
                        timeout_s=30,
                        what="slash",
                    )
                    return time.monotonic() - t_landed
                finally:
                    env.stop_nodes()

        raise RuntimeError("unreachable")

    samples = [once() for _ in range(3)]
    return statistics.median(samples)


def run() -> dict[str, float]:
    return {"fraud_detect_to_slash_s": round(_fraud_to_slash(), 2)}


if __name__ == "__main__":
    print(run())
