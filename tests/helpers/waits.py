"""Waits on the daemons' own progress instead of wall-clock sleeps."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import requests

from offchain.emeth.runtime import wait_until


class _Loop(Protocol):
    ticks: int  # successful ticks
    failures_total: int  # failed ticks


def rounds_of(loop: _Loop) -> int:
    """Ticks the loop has finished, successful or failed."""
    return loop.ticks + loop.failures_total


def wait_rounds(loops: Sequence[_Loop], rounds: int = 2, timeout_s: float = 30.0) -> None:
    """Wait until every loop has finished ``rounds`` more ticks (successful or failed) than now.

    A check that "nothing more appears" made after this has seen each daemon run that many
    complete rounds, whatever the machine's speed (instead of a sleep that a slow machine
    outruns).
    """
    marks = [(loop, rounds_of(loop)) for loop in loops]
    wait_until(
        lambda: all(rounds_of(loop) >= mark + rounds for loop, mark in marks),
        timeout_s,
        f"{rounds} more rounds of {len(marks)} daemon loops",
    )


def poll_until(
    cond: Callable[[], Any],
    timeout_s: float,
    what: str,
    ignore: type[Exception] | tuple[type[Exception], ...] = requests.RequestException,
    interval_s: float = 0.05,
) -> Any:
    """Poll ``cond`` until it returns something truthy (returned) or fail the test after
    ``timeout_s`` (AssertionError naming ``what`` and the last ignored error).

    Args:
        cond: the state to wait for (an L1 read, a daemon's HTTP status, ...).
        timeout_s: give up after this long.
        what: what is waited for, for the message.
        ignore: exceptions of ``cond`` that mean "not yet" (a peer still starting); any
            other one ends the wait at once.
        interval_s: pause between two polls.
    """
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            v = cond()
        except ignore as e:
            last, v = e, None
        if v:
            return v
        time.sleep(interval_s)
    why = f" (last error: {last})" if last else ""
    raise AssertionError(f"timed out waiting for {what}{why}")


def http_code(url: str) -> int:
    """The HTTP status ``GET url`` answers (0: nothing listening / no answer within 3 s)."""
    try:
        return requests.get(url, timeout=3).status_code
    except requests.RequestException:
        return 0


def wait_true(cond: Callable[[], Any], timeout_s: float, what: str) -> None:
    """Poll ``cond`` every 0.1 s; fail the test (AssertionError naming ``what``) after
    ``timeout_s``. An AssertionError ``cond`` raises (a process that exited) ends it at once."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def terminate(p: subprocess.Popen[Any], timeout_s: float = 30.0) -> None:
    """SIGTERM ``p`` and wait for it to exit; SIGKILL it after ``timeout_s``."""
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def _rounds(doc: dict[str, Any]) -> int:
    return int(doc["ticks"]) + int(doc.get("failuresTotal", 0))


def http_rounds(url: str) -> dict[str, int]:
    """Rounds (ticks + failed ticks) of each daemon loop a ``/health`` document reports: its
    parts with ``ticks`` / ``failuresTotal`` (or the body itself, for a one-part process)."""
    body = requests.get(url, timeout=3).json()
    parts = {k: v for k, v in body.items() if isinstance(v, dict) and "ticks" in v}
    if "ticks" in body:
        parts[""] = body
    return {f"{url} {k}": _rounds(v) for k, v in parts.items()}


def wait_http_rounds(
    urls: Sequence[str],
    rounds: int = 2,
    timeout_s: float = 30.0,
    check: Callable[[], Any] | None = None,
) -> None:
    """:func:`wait_rounds` for daemons in other processes: wait until every loop behind each
    ``/health`` URL has finished ``rounds`` more ticks (successful or failed) than now.

    Args:
        urls: the processes' ``/health`` URLs (each must report at least one loop).
        rounds: rounds to wait for.
        timeout_s: give up (AssertionError) after this long.
        check: called on every poll (an assertion that must hold all along).
    """
    marks: dict[str, int] = {}
    for u in urls:
        got = http_rounds(u)
        assert got, f"{u} reports no daemon loop"
        marks.update(got)
    deadline = time.monotonic() + timeout_s
    while True:
        if check is not None:
            check()
        now: dict[str, int] = {}
        for u in urls:
            now.update(http_rounds(u))
        behind = [k for k, m in marks.items() if now.get(k, m) < m + rounds]
        if not behind:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {rounds} rounds of {behind}"
        time.sleep(0.1)
