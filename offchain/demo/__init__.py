"""``make demo``: start a devnet and play every scene, printing what happened.

Each domain adds a scene: ``(title, "module:function")`` where the function takes
``(devnet, console)``. Scenes run in order on one devnet.
"""

from __future__ import annotations

import importlib
import time

from rich.console import Console
from rich.rule import Rule

from offchain.config import load_config
from offchain.devnet import Devnet

SCENES: list[tuple[str, str]] = [
    ("Toolchain and chain client", "offchain.demo.chain:run"),
    ("Decentralized sequencer set", "offchain.demo.staking:run"),
    (
        "EMETH compute marketplace: jobs, SubJobs, cheating and slow nodes, Tickets on L1",
        "offchain.demo.emeth:run",
    ),
    (
        "Rollup on L1: batches, withdrawal, fraud proof, withheld data",
        "offchain.demo.rollup_l1:run",
    ),
    (
        "Data availability: compressed batches in blobs, a full batch answered in chunks",
        "offchain.demo.data:run",
    ),
    (
        "Rollup: deposits, transfers, batches, withdrawal, cheating sequencers caught",
        "offchain.demo.rollup:run",
    ),
    (
        "One threshold key for the sequencer set: DKG, join and kick with the same key",
        "offchain.demo.frost:run",
    ),
    (
        "Censorship resistance and the escape hatch: a forced transfer, then every user leaves",
        "offchain.demo.escape:run",
    ),
]


def run_demo(console: Console) -> None:
    """Run all :data:`SCENES` on a fresh ephemeral devnet."""
    t0 = time.perf_counter()
    console.print(Rule("l2kit demo: starting a local L1"))
    cfg = load_config()
    cfg.rollup.da_mode = "blobs"  # the devnet default (docs/spec.md, "Data availability modes")
    with Devnet(cfg, ephemeral=True, log=console.print) as d:
        for title, ref in SCENES:
            console.print(Rule(title))
            mod, fn = ref.split(":")
            getattr(importlib.import_module(mod), fn)(d, console)
    console.print(Rule(f"demo finished in {time.perf_counter() - t0:.1f}s"))
