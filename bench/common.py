"""Helpers for benchmarks: medians of repeated timings."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time_s(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs in this process."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)
