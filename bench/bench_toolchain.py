"""Toolchain figures: compile (cold and cached), Anvil start-up, devnet start-up."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench.common import median_time_s
from offchain.chain.anvil import Anvil
from offchain.chain.compile import compile_contracts


def run() -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="l2kit-bench-build-"))
    try:
        cold = median_time_s(lambda: compile_contracts(force=True, out_dir=tmp), repeat=3)
        cached = median_time_s(lambda: compile_contracts(out_dir=tmp), repeat=5)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def anvil_once() -> float:
        a = Anvil(accounts=10).start()
        a.stop()
        return a.ready_s

    ready = sorted(anvil_once() for _ in range(5))[2]

    def devnet_once() -> float:
        from offchain.devnet import Devnet

        with Devnet(ephemeral=True, log=lambda *_: None) as d:
            return d.timings["devnet_up_s"]

    compile_contracts()
    devnet = sorted(devnet_once() for _ in range(3))[1]
    return {
        "compile_cold_s": round(cold, 3),
        "compile_cached_s": round(cached, 4),
        "anvil_ready_s": round(ready, 3),
        "devnet_up_s": round(devnet, 3),
    }
