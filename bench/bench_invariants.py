"""Invariant-campaign figures at the ``make test-all`` settings, measured in this run.

Runs the rollup and staking invariant suites with forge at ``FOUNDRY_INVARIANT_RUNS=160`` x
``FOUNDRY_INVARIANT_DEPTH=64`` (what ``make test-all`` sets) and reads forge's own
``(runs: R, calls: C, reverts: V)`` line of every invariant: ``invariant_calls_per_run`` is
the smallest ``C`` over the invariants run (calls in one invariant's campaign; every invariant
of a suite runs the same ``runs x depth``, so one per suite is run to keep the bench short).
The reach tests' per-action success counts (summed over the CI campaign) are printed and
reported as ``invariant_reach_<suite>_<action>`` figures.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("rollup_l1/RollupInvariants", "staking/StakingInvariants")
# One invariant per suite (same runs x depth as the others) and the two reach tests.
TESTS = "^(invariant_cannotFinalizeTwice|invariant_poolMatchesModel|test_ciCampaign)"
RUNS, DEPTH = 160, 64  # Makefile test-all
CALLS = re.compile(r"\[PASS\] (invariant_\w+)\(\) \(runs: (\d+), calls: (\d+), reverts: (\d+)\)")
REACH = {
    "test_ciCampaignReachesEveryState": "rollup",
    "test_ciCampaignReachesStakingStates": "staking",
}


def _reach_counts(out: str) -> dict[str, int]:
    """The ``name count`` log lines printed by each reach test, keyed by suite and action."""
    figures: dict[str, int] = {}
    blocks = re.split(r"^\[(?:PASS|FAIL)[^\]]*\] ", out, flags=re.M)
    for block in blocks:
        test = block.split("(", 1)[0]
        if test not in REACH:
            continue
        logs = block.split("Logs:", 1)[1] if "Logs:" in block else ""
        for line in logs.splitlines():
            m = re.fullmatch(r"\s+([A-Za-z]+)(?: \(sum\))? (\d+)", line)
            if m:
                figures[f"invariant_reach_{REACH[test]}_{m.group(1)}"] = int(m.group(2))
    return figures


def run() -> dict[str, float | int]:
    env = dict(os.environ, FOUNDRY_INVARIANT_RUNS=str(RUNS), FOUNDRY_INVARIANT_DEPTH=str(DEPTH))
    pattern = "tests/forge/{" + ",".join(f"{s}.t.sol" for s in SUITES) + "}"
    proc = subprocess.run(
        ["forge", "test", "--offline", "-vv", "--match-path", pattern, "--match-test", TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        failed = [ln for ln in out.splitlines() if ln.startswith("[FAIL")]
        raise RuntimeError(f"invariant suites failed: {failed[:3] or out[-500:]}")
    calls = [(name, int(r), int(c)) for name, r, c, _ in CALLS.findall(out)]
    if not calls:
        raise RuntimeError("forge printed no invariant results")
    for name, r, c in calls:
        print(f"  {name}: {r} runs, {c:,} calls")
    reach = _reach_counts(out)
    for k, v in reach.items():
        print(f"  {k}: {v}")
    return {
        "invariant_calls_per_run": min(c for _, _, c in calls),
        "invariant_runs": min(r for _, r, _ in calls),
        **reach,
    }
