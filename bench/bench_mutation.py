"""Mutation figures, measured in this run: ``make mutation`` over every curated mutant.

Runs ``scripts/mutation.py`` (each mutant of ``tests/mutation/mutants.toml`` in a throw-away
copy of the tree, against its own listed default-suite tests, ``L2KIT_MUTATION_JOBS`` copies at
once, default 2; ``L2KIT_MUTATION_BASELINE=1`` adds ``--baseline``) with a fresh report file,
and reads the figures back from that file only. A surviving mutant lowers
``mutation_kill_pct`` (it is a measurement, not a bench failure); a run that writes no report
fails the bench.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run() -> dict[str, float | int]:
    jobs = int(os.environ.get("L2KIT_MUTATION_JOBS", "2"))
    # L2KIT_MUTATION_BASELINE=1: first run every listed test unmutated (slower; a test that
    # already fails then makes its mutant invalid instead of counting as a kill).
    baseline = ["--baseline"] if os.environ.get("L2KIT_MUTATION_BASELINE") == "1" else []
    with tempfile.TemporaryDirectory(prefix="l2kit-bench-mutation-") as tmp:
        report = Path(tmp) / "report.json"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "mutation.py"), "--jobs", str(jobs)]
            + ["--report", str(report), *baseline],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t0
        if not report.exists():
            raise RuntimeError(
                f"mutation run wrote no report (rc {proc.returncode}): {proc.stderr[-500:]}"
            )
        data = json.loads(report.read_text())
    for v in data["verdicts"]:
        if v["status"] != "killed":
            print(f"  mutant {v['id']} {v['status']}: {v['why']}")
    return {
        "mutation_kill_pct": float(data["mutation_kill_pct"]),
        "mutants_total": int(data["mutants_total"]),
        "mutants_survived": int(data["mutants_survived"]),
        "mutation_run_s": round(seconds, 1),
    }
