"""``make mutation``: apply each curated mutant to a copy of the tree and run its tests.

The mutants live in ``tests/mutation/mutants.toml`` (one ``[[mutant]]`` table each: ``id``,
``file``, the exact ``original`` snippet, its ``replacement``, the ``pytest`` node ids and
``forge`` test paths that must catch it, and ``why``: the guarantee it breaks). A new check
gets its mutant in the same change.

For every mutant the script copies nothing back: it works in one throw-away copy of the
working tree (tracked and untracked, non-ignored files, plus the compile caches), writes the
mutated file there, runs the listed tests (the default suite's relevant part: ``slow`` tests
excluded), restores the file, and records the verdict:

* ``killed``   a listed test failed (what we want);
* ``survived`` every listed test passed: the guarantee is untested, write the missing test;
* ``invalid``  the mutant does not compile / the tests could not be collected;
* ``timeout``  the tests ran past ``--timeout-s`` (reported, not counted as killed).

Figures (``mutation_kill_pct``, ``mutants_total``, ``mutants_survived``) are printed and
written with the per-mutant verdicts to ``build/mutation/report.json``. The exit status is
non-zero unless every mutant is killed.

With ``--jobs N`` the mutants run in N throw-away copies at once (each copy holds one mutant
at a time, so two mutants of the same file never meet); ``bench/bench_mutation.py`` runs the
whole list this way and reports the figures of that run.

``--baseline`` first runs every listed test command on the unmutated copy: a mutant whose
tests already fail there is reported ``invalid`` (a broken test is not a kill).

Usage: ``python scripts/mutation.py [--only ID ...] [--list] [--timeout-s N] [--jobs N]
[--report PATH] [--baseline]``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "mutation" / "mutants.toml"
REPORT = ROOT / "build" / "mutation" / "report.json"
# Shared installs: linked into the copy, never copied.
LINKED = (".venv", "node_modules", ".solcx")
# Compile caches: copied so an unmutated contract is not recompiled per mutant.
CACHES = ("build", "out", "cache")


class MutantError(ValueError):
    """A mutant entry that cannot be applied (bad table, snippet not found exactly once)."""


@dataclass(frozen=True)
class Mutant:
    """One curated mutant: replace ``original`` (exactly once in ``file``) by ``replacement``."""

    id: str
    file: str
    original: str
    replacement: str
    why: str
    pytest: tuple[str, ...] = ()
    forge: tuple[str, ...] = ()


@dataclass
class Verdict:
    id: str
    status: str  # killed | survived | invalid | timeout
    seconds: float
    by: str = ""  # which command killed it
    detail: str = ""
    why: str = ""


@dataclass
class Report:
    verdicts: list[Verdict] = field(default_factory=list)

    def figures(self) -> dict[str, float | int]:
        total = len(self.verdicts)
        killed = sum(v.status == "killed" for v in self.verdicts)
        return {
            "mutants_total": total,
            "mutants_killed": killed,
            "mutants_survived": sum(v.status == "survived" for v in self.verdicts),
            "mutants_invalid": sum(v.status == "invalid" for v in self.verdicts),
            "mutants_timeout": sum(v.status == "timeout" for v in self.verdicts),
            "mutation_kill_pct": round(100.0 * killed / total, 1) if total else 0.0,
        }


def load_mutants(path: Path = MUTANTS) -> list[Mutant]:
    """Parse and check the mutant list (ids unique, each snippet present exactly once).

    Raises:
        MutantError: on a malformed entry or a snippet that no longer matches the code.
    """
    data = tomllib.loads(path.read_text())
    out: list[Mutant] = []
    seen: set[str] = set()
    for raw in data.get("mutant", []):
        try:
            m = Mutant(
                id=str(raw["id"]),
                file=str(raw["file"]),
                original=str(raw["original"]),
                replacement=str(raw["replacement"]),
                why=str(raw["why"]),
                pytest=tuple(raw.get("pytest", ())),
                forge=tuple(raw.get("forge", ())),
            )
        except KeyError as e:
            raise MutantError(f"mutant {raw.get('id', '?')}: missing key {e}") from e
        if m.id in seen:
            raise MutantError(f"mutant {m.id}: duplicate id")
        seen.add(m.id)
        if not m.pytest and not m.forge:
            raise MutantError(f"mutant {m.id}: lists no tests")
        if m.original == m.replacement:
            raise MutantError(f"mutant {m.id}: replacement equals original")
        for f in m.forge:
            if not (ROOT / f.split(":", 1)[0]).exists():
                raise MutantError(f"mutant {m.id}: forge test {f} does not exist")
        src = ROOT / m.file
        if not src.exists():
            raise MutantError(f"mutant {m.id}: {m.file} does not exist")
        hits = src.read_text().count(m.original)
        if hits != 1:
            raise MutantError(
                f"mutant {m.id}: snippet found {hits} times in {m.file} (must be exactly once)"
            )
        out.append(m)
    return out


def _tree_files() -> list[str]:
    res = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return [f for f in res.stdout.decode().split("\0") if f]


def make_copy(dest: Path) -> None:
    """Copy the working tree (not its ignored files) to ``dest``, link installs, copy caches."""
    for rel in _tree_files():
        src = ROOT / rel
        if not src.is_file() or any(rel == n or rel.startswith(n + "/") for n in LINKED):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    for name in LINKED:
        if (ROOT / name).exists():
            (dest / name).symlink_to((ROOT / name).resolve())
    for name in CACHES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name, symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(dest / "build" / "mutation", ignore_errors=True)
    # Recorded invariant failures would be replayed against every mutant: start clean.
    shutil.rmtree(dest / "cache" / "invariant", ignore_errors=True)


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["PATH"] = f"{tree / '.venv' / 'bin'}:{tree / 'node_modules' / '.bin'}:{env.get('PATH', '')}"
    env["SOLCX_BINARY_PATH"] = str(tree / ".solcx")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("L2KIT_ROOT", None)
    env.pop("L2KIT_BUILD_DIR", None)
    return env


def _commands(m: Mutant) -> list[tuple[str, list[str]]]:
    cmds: list[tuple[str, list[str]]] = []
    if m.forge:
        # One forge call over every listed path (a glob alternation of the paths); an entry
        # `path:testName` narrows the call to the named tests.
        paths = sorted({f.split(":", 1)[0] for f in m.forge})
        tests = sorted({f.split(":", 1)[1] for f in m.forge if ":" in f})
        pattern = "{" + ",".join(paths) + "}" if len(paths) > 1 else paths[0]
        cmd = ["forge", "test", "--offline", "--fail-fast", "--match-path", pattern]
        if tests:
            cmd += ["--match-test", "^(" + "|".join(tests) + r")\("]
        cmds.append(("forge", cmd))
    if m.pytest:
        py = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-m",
            "not slow",
            "-p",
            "no:cacheprovider",
        ]
        cmds.append(("pytest", [*py, *m.pytest]))
    return cmds


def _failed(kind: str, rc: int, out: str) -> bool:
    """Whether the tests failed: a non-zero exit, or (forge) a failed test in the output.

    ``forge test --fail-fast`` (1.7) exits 0 after stopping on a failure, so its output is read.
    """
    if rc != 0:
        return True
    return kind == "forge" and ("[FAIL" in out or "Suite result: FAILED" in out)


def _invalid(kind: str, rc: int, out: str) -> bool:
    """A mutant that does not compile or whose tests cannot be collected kills nothing."""
    if kind == "forge":
        return "Compiler run failed" in out or "No tests match" in out or "No tests found" in out
    # pytest: 2 interrupted/collection error, 3 internal error, 4 usage error, 5 no tests.
    return rc in (2, 3, 4, 5) or "CompileError" in out


def run_mutant(m: Mutant, tree: Path, timeout_s: float) -> Verdict:
    """Apply ``m`` in ``tree``, run its tests, restore the file; return the verdict."""
    path = tree / m.file
    original = path.read_text()
    path.write_text(original.replace(m.original, m.replacement, 1))
    t0 = time.perf_counter()
    try:
        for kind, cmd in _commands(m):
            try:
                rc, out = _run(cmd, tree, timeout_s)
                if kind == "pytest" and _errored_only(rc, out):
                    rc, out = _run(cmd, tree, timeout_s)  # a setup error: once more
            except subprocess.TimeoutExpired:
                return Verdict(m.id, "timeout", time.perf_counter() - t0, kind, "", m.why)
            if not _failed(kind, rc, out):
                continue
            tail = _failure_line(out)
            if _invalid(kind, rc, out):
                return Verdict(m.id, "invalid", time.perf_counter() - t0, kind, tail, m.why)
            by = "pytest-setup-error" if kind == "pytest" and _errored_only(rc, out) else kind
            return Verdict(m.id, "killed", time.perf_counter() - t0, by, tail, m.why)
        return Verdict(m.id, "survived", time.perf_counter() - t0, "", "", m.why)
    finally:
        path.write_text(original)
        shutil.rmtree(tree / "cache" / "invariant", ignore_errors=True)  # no replay in the next


def _run(cmd: list[str], tree: Path, timeout_s: float) -> tuple[int, str]:
    proc = subprocess.run(
        cmd,
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _errored_only(rc: int, out: str) -> bool:
    """pytest failed in fixture setup only (``ERROR`` lines, no ``FAILED``): it may be the
    environment (a busy binary, a port), so the command is retried once; if it errors again
    the mutant counts as killed by ``pytest-setup-error`` (visible in the report)."""
    lines = [ln.strip() for ln in out.splitlines()]
    return (
        rc == 1
        and any(ln.startswith("ERROR ") for ln in lines)
        and not any(ln.startswith("FAILED ") for ln in lines)
    )


def _failure_line(out: str) -> str:
    """The first line naming a failed test (pytest ``FAILED``, forge ``[FAIL``)."""
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("FAILED") or s.startswith("[FAIL") or s.startswith("ERROR"):
            return s[:200]
    lines = [s for s in out.splitlines() if s.strip()]
    return lines[-1][:200] if lines else ""


def baseline_failures(mutants: list[Mutant], tree: Path, timeout_s: float) -> dict[str, str]:
    """Run each distinct test command once on the unmutated ``tree``; mutant id -> failure.

    A listed test that already fails without the mutant would count as a kill; such mutants
    are reported ``invalid`` instead.
    """
    seen: dict[tuple[str, ...], str] = {}
    out: dict[str, str] = {}
    for m in mutants:
        for kind, cmd in _commands(m):
            key = tuple(cmd)
            if key not in seen:
                try:
                    rc, text = _run(cmd, tree, timeout_s)
                    seen[key] = _failure_line(text) if _failed(kind, rc, text) else ""
                except subprocess.TimeoutExpired:
                    seen[key] = "timeout"
            if seen[key]:
                out[m.id] = f"baseline fails: {seen[key]}"
    return out


def run_all(
    mutants: list[Mutant], tmp: Path, timeout_s: float, jobs: int, baseline: bool = False
) -> list[Verdict]:
    """Run every mutant in ``jobs`` copies of the tree under ``tmp``; verdicts in list order.

    With ``baseline``, each listed test command first runs on the unmutated tree, and a mutant
    whose tests already fail is ``invalid`` (not run).
    """
    jobs = min(jobs, len(mutants)) or 1
    trees: queue.Queue[Path] = queue.Queue()
    for j in range(jobs):
        tree = tmp / f"tree{j}"
        tree.mkdir()
        make_copy(tree)
        trees.put(tree)
    broken = baseline_failures(mutants, tmp / "tree0", timeout_s) if baseline else {}
    lock = threading.Lock()
    done = [0]

    def one(m: Mutant) -> Verdict:
        if m.id in broken:
            v = Verdict(m.id, "invalid", 0.0, "baseline", broken[m.id][:200], m.why)
            with lock:
                done[0] += 1
                print(f"[{done[0]:>2}/{len(mutants)}] invalid  {m.id:38} {v.detail}", flush=True)
            return v
        tree = trees.get()  # a copy no other mutant is using
        try:
            v = run_mutant(m, tree, timeout_s)
        finally:
            trees.put(tree)
        with lock:
            done[0] += 1
            head = f"[{done[0]:>2}/{len(mutants)}] {v.status:8} {m.id:38} {v.seconds:6.1f}s"
            print(f"{head} {v.by} {v.detail}", flush=True)
        return v

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, mutants))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="make mutation", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None, help="run only these mutant ids")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--timeout-s", type=float, default=900.0, help="per-mutant test timeout")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run at once (one copy each)")
    ap.add_argument("--report", default=None, help=f"where to write the report (default {REPORT})")
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="first run every listed test unmutated; a mutant whose tests already fail is invalid",
    )
    ap.add_argument("--keep", action="store_true", help="keep the copy of the tree (debugging)")
    args = ap.parse_args(argv)
    try:
        mutants = load_mutants()
    except (MutantError, tomllib.TOMLDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in mutants})
        if unknown:
            print(f"error: unknown mutant id(s) {', '.join(unknown)}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m.id in set(args.only)]
    if args.list:
        for m in mutants:
            print(f"{m.id:32} {m.file}: {m.why}")
        print(f"{len(mutants)} mutants")
        return 0
    report = Report()
    tmp = Path(tempfile.mkdtemp(prefix="l2kit-mutation-"))
    try:
        report.verdicts = run_all(mutants, tmp, args.timeout_s, max(1, args.jobs), args.baseline)
    finally:
        if args.keep:
            print(f"copies kept at {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    figures = report.figures()
    out = Path(args.report).resolve() if args.report else REPORT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({**figures, "verdicts": [asdict(v) for v in report.verdicts]}, indent=2) + "\n"
    )
    for k, val in figures.items():
        print(f"{k}: {val}")
    for v in report.verdicts:
        if v.status != "killed":
            print(f"NOT KILLED ({v.status}): {v.id}: {v.why}")
    print(f"report: {out}")
    return 0 if figures["mutants_killed"] == figures["mutants_total"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
