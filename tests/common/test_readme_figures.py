"""README's benchmark table is generated from bench/results.json and matches it."""

from __future__ import annotations

import json

from scripts.readme_figures import MISSING, README, RESULTS, main, render, table


def test_readme_table_matches_results_json() -> None:
    assert main(["--check"]) == 0, "run `python scripts/readme_figures.py`"


def test_missing_figure_is_not_measured_never_an_old_value() -> None:
    results = json.loads(RESULTS.read_text())
    results.pop("sequencer_tps", None)
    results["failed"] = "rollup: RuntimeError: boom"
    out = table(results)
    row = next(line for line in out.splitlines() if line.startswith("| `sequencer_tps`"))
    assert f"| {MISSING} |" in row
    assert "Benchmarks that failed in this run: rollup: RuntimeError: boom." in out
    assert render(README.read_text(), results) != README.read_text()
