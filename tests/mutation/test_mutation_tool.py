"""The mutation tool reads a valid list and reads forge's verdict from its output."""

from __future__ import annotations

from scripts.mutation import Report, Verdict, _failed, load_mutants


def test_mutant_list_is_valid_and_long_enough() -> None:
    mutants = load_mutants()  # raises on a snippet that no longer matches exactly once
    assert len(mutants) >= 30
    assert all(m.pytest or m.forge for m in mutants)


def test_forge_fail_fast_exit_zero_still_counts_as_failed() -> None:
    # forge 1.7 `test --fail-fast` exits 0 after stopping on a failing test.
    out = '[FAIL: AssertionFailed("a withdrawal was paid twice: 1 != 0")] invariant_x()\n'
    assert _failed("forge", 0, out)
    assert _failed("forge", 0, "Suite result: FAILED. 4 passed; 2 failed")
    assert not _failed("forge", 0, "[PASS] invariant_x() (runs: 64, calls: 2048)")
    assert _failed("pytest", 1, "")
    assert not _failed("pytest", 0, "[FAIL looks like forge but is pytest output")


def test_figures_count_only_killed() -> None:
    r = Report([Verdict("a", "killed", 1.0), Verdict("b", "survived", 1.0)])
    f = r.figures()
    assert f["mutants_total"] == 2 and f["mutation_kill_pct"] == 50.0
