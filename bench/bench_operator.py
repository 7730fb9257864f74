"""Operator figures: CLI start-up and the whole system's start-up (issue 15).

- ``cli_startup_ms``: wall time of ``l2kit --help`` in a fresh process (target <= 800).
  Domain commands are mounted lazily, so it imports neither web3, eth_account nor ape.
  ``cli_startup_cpu_ms`` (user + sys of the child) does not depend on the machine's load.
- ``devnet_full_up_s``: ``devnet up --full`` in process (compile cached): Anvil, every
  contract, storage, four sequencer nodes with batchers and rotation, a verifier, the EMETH
  execution layer and its agents, all answering (target <= 60).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time


def _once(*args: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "offchain.cli", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000


def _full_up_s() -> float:
    from offchain.chain.compile import compile_contracts
    from offchain.devnet import Devnet
    from offchain.devnet_full import start_full

    compile_contracts()
    t0 = time.perf_counter()
    with Devnet(ephemeral=True, log=lambda *_: None) as d:
        start_full(d)
        return time.perf_counter() - t0


def run() -> dict[str, float]:
    _once("--help")  # warm the OS file cache once
    helps = [_once("--help") for _ in range(7)]
    versions = [_once("--version") for _ in range(5)]
    full = sorted(_full_up_s() for _ in range(3))[1]
    return {
        "devnet_full_up_s": round(full, 2),
        "cli_startup_ms": round(statistics.median(w for w, _ in helps), 1),
        "cli_startup_cpu_ms": round(statistics.median(c for _, c in helps), 1),
        "cli_version_ms": round(statistics.median(w for w, _ in versions), 1),
    }
