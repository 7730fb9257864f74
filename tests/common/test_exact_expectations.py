"""Every expected revert names its custom error: no bare ``vm.expectRevert()`` in the forge
suites, and every ``pytest.raises(TxReverted)`` is followed by an assertion on the decoded
``error_name`` (or, for a revert without data, on the message)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_no_bare_expect_revert_in_forge_tests() -> None:
    bare = [
        f"{p.relative_to(TESTS)}:{i}"
        for p in sorted((TESTS / "forge").rglob("*.t.sol"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if "vm.expectRevert()" in line
    ]
    assert bare == [], f"bare vm.expectRevert() (name the error and its arguments): {bare}"


def test_every_tx_reverted_expectation_names_the_error() -> None:
    loose = []
    for p in sorted(TESTS.rglob("*.py")):
        if p.name == Path(__file__).name:
            continue
        lines = p.read_text().splitlines()
        for i, line in enumerate(lines):
            if "pytest.raises(TxReverted" not in line or "match=" in line:
                continue
            window = "\n".join(lines[i : i + 6])
            if "error_name" not in window:
                loose.append(f"{p.relative_to(TESTS)}:{i + 1}")
    assert loose == [], f"pytest.raises(TxReverted) without an error_name check: {loose}"
