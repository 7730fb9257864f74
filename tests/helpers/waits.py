"""Waits on the daemons' own progress instead of wall-clock sleeps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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
