"""CLI start-up: wall time of ``l2kit --help`` and ``l2kit --version`` (fresh processes).

Target (issue 15): ``cli_startup_ms`` <= 800. Domain commands are mounted lazily, so
neither imports web3, eth_account or ape. The CPU time (user + sys) of the child is
reported too: on a shared machine it is the figure that does not depend on the load.
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


def run() -> dict[str, float]:
    _once("--help")  # warm the OS file cache once
    helps = [_once("--help") for _ in range(7)]
    versions = [_once("--version") for _ in range(5)]
    return {
        "cli_startup_ms": round(statistics.median(w for w, _ in helps), 1),
        "cli_startup_cpu_ms": round(statistics.median(c for _, c in helps), 1),
        "cli_version_ms": round(statistics.median(w for w, _ in versions), 1),
    }
