"""Run every ``bench/bench_*.py`` and write ``bench/results.json`` (one flat object).

Each module defines ``run() -> dict[str, float | int | str]``; figure names carry
their unit (``_gas``, ``_s``, ``_ms``, ``_tps``, ``_mb``). Gas figures are exact;
time figures are medians of several runs in one process. A module may be chosen
with ``python -m bench.run NAME ...``.

``bench/results.json`` holds only what this run measured: it is rewritten from scratch (a
module not run, or one that failed, contributes no figure, never an old one). A failed
module is listed under ``failed`` with its error, and the exit status is non-zero.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1 else f"{v:,.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def main(argv: list[str]) -> int:
    from offchain.logs import configure_logging

    configure_logging(os.environ.get("L2KIT_LOG_LEVEL", "warning"))  # agents' chatter off
    console = Console()
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    chosen = [m if m.startswith("bench_") else f"bench_{m}" for m in argv] or modules
    unknown = [m for m in chosen if m not in modules]
    if unknown:
        console.print(
            f"[red]error:[/] unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(modules)}"
        )
        return 2
    results: dict[str, object] = {}  # only figures measured in this run
    failed: list[str] = []
    errors: dict[str, str] = {}
    for name in chosen:
        console.print(f"[bold]running {name}[/]")
        t0 = time.perf_counter()
        try:
            figures = importlib.import_module(f"bench.{name}").run()
        except Exception as e:  # noqa: BLE001 - report and continue with the other benchmarks
            console.print(f"[red]{name} failed[/]\n{traceback.format_exc()}")
            failed.append(name)
            errors[name] = f"{type(e).__name__}: {e}"[:300]
            continue
        results.update(figures)
        console.print(f"  done in {time.perf_counter() - t0:.1f}s")
    results["machine"] = machine()
    results["modules"] = ",".join(n.removeprefix("bench_") for n in chosen if n not in failed)
    if failed:
        results["failed"] = "; ".join(f"{n.removeprefix('bench_')}: {errors[n]}" for n in failed)
    results = dict(sorted(results.items()))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title="bench/results.json")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in results.items():
        if k in ("machine", "modules", "failed"):
            continue
        table.add_row(k, _fmt(v))
    console.print(table)
    console.print(f"machine: {machine()}")
    if failed:
        console.print(f"[red]failed:[/] {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
