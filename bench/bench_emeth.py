"""EMETH throughput: jobs per minute through the whole off-chain pipeline on a devnet.

Each run: a fresh execution layer (own SQLite file) with 3 nodes and every agent in one
process; one requester registers ``JOBS`` plain jobs (word count, sort/dedupe, 4x4 matmul in
turn); the clock stops when every job is billed in a Ticket that is settled on L1.
``emeth_jobs_per_min`` is the median over ``RUNS`` runs.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import structlog

from offchain.chain.accounts import dev_account
from offchain.devnet import Devnet
from offchain.emeth.requester import submit_job
from offchain.emeth.runtime import EmethAgentsConfig, stack_for_devnet, wait_until
from offchain.storage.client import BlobClient

JOBS = 30
RUNS = 3
EMETH = 10**18


def _datasets() -> list[tuple[str, bytes]]:
    m = json.dumps(
        {"a": [[i + j for j in range(4)] for i in range(4)], "b": [[1] * 4] * 4}
    ).encode()
    return [
        ("wordcount/v1", b"the quick brown fox jumps over the lazy dog\n" * 20),
        ("sortdedupe/v1", b"".join(f"r{(i * 37) % 50}\n".encode() for i in range(200))),
        ("matmul/v1", m),
    ]


def _one_run(devnet: Devnet, run: int) -> float:
    with tempfile.TemporaryDirectory(prefix="l2kit-bench-emeth-") as tmp:
        cfg = EmethAgentsConfig(
            db_url=f"sqlite:///{Path(tmp) / 'el.db'}", poll_interval_ms=50, signer_interval_s=0.5
        )
        stack = stack_for_devnet(devnet, n_nodes=3, config=cfg)
        try:
            stack.fund_nodes()
            stack.start_service().start_agents()
            client = stack.client()
            blobs = BlobClient(devnet.storage_url)
            alice = dev_account(devnet.config.emeth.requester_accounts[0])
            data = _datasets()
            t0 = time.perf_counter()
            ids = []
            for i in range(JOBS):
                prog, ds = data[i % len(data)]
                ids.append(submit_job(client, blobs, alice, prog, ds, EMETH + run)["jobId"])

            def done() -> bool:
                billed = client.jobs(state="billed", limit=1000)
                tickets = client.tickets()
                return len(billed) == JOBS and all(t["settled"] for t in tickets)

            wait_until(done, 180, f"{JOBS} jobs billed and settled", interval_s=0.1)
            return time.perf_counter() - t0
        finally:
            stack.stop()


def run() -> dict[str, float]:
    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        return _run()
    finally:
        structlog.configure(**old)


def _run() -> dict[str, float]:
    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        assert d.chain is not None and d.deployment is not None
        from offchain.emeth.l1 import EmethL1

        l1 = EmethL1.from_deployment(d.chain, d.deployment)
        alice = dev_account(d.config.emeth.requester_accounts[0])
        l1.deposit(d.chain.sender(alice), 10_000 * EMETH)
        times = [_one_run(d, r) for r in range(RUNS)]
    per_min = [JOBS / t * 60 for t in times]
    return {"emeth_jobs_per_min": round(statistics.median(per_min), 1)}


if __name__ == "__main__":
    print(run())
