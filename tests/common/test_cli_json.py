"""Every read command of ``l2kit`` takes ``--json`` (issue 15: a scriptable CLI).

The whole ``l2kit --help`` tree is walked (the lazily mounted domains included); a command
that only reads (its name: status, show, list, get, balance, batches, deposits, funds, result,
config) must list ``--json``, itself or on the group that holds it.
"""

from __future__ import annotations

from typing import Any

import typer

from offchain.cli import app

READS = {"status", "show", "list", "get", "balance", "batches", "deposits", "funds", "result",
         "config"}  # fmt: skip


def _commands(cmd: Any, path: list[str], inherited: set[str], parent: Any) -> list[Any]:
    opts = inherited | {o for p in cmd.params for o in p.opts}
    if not hasattr(cmd, "list_commands"):
        return [(" ".join(path), opts)]
    ctx = cmd.context_class(cmd, parent=parent, info_name=path[-1] if path else "l2kit")
    out = []
    for name in cmd.list_commands(ctx):
        out += _commands(cmd.get_command(ctx, name), [*path, name], opts, ctx)
    return out


def test_everyReadCommandTakesJson() -> None:
    every = _commands(typer.main.get_command(app), [], set(), None)
    reads = [(p, o) for p, o in every if p.split()[-1] in READS]
    assert len(reads) >= 12, [p for p, _ in reads]  # the walk saw the domains' commands
    missing = [p for p, opts in reads if "--json" not in opts]
    assert not missing, f"read commands without --json: {missing}"
