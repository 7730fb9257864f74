"""``sortdedupe/v1``: sort newline-separated records and drop duplicates.

Records are compared as UTF-8 byte strings. Result: the unique records in ascending order,
one per line (each followed by ``\\n``). Fuel: number of input records.
Verification is linear: the result must be strictly increasing (sorted, no duplicates) and
hold exactly the set of input records.
"""

from __future__ import annotations

import heapq
from typing import Any

from offchain.emeth.programs.base import Program, Verdict


def _records(data: bytes) -> list[bytes]:
    return [r for r in data.split(b"\n") if r]


def _encode(records: list[bytes]) -> bytes:
    return b"".join(r + b"\n" for r in records)


class SortDedupe(Program):
    """Sorted unique records."""

    program_id = "sortdedupe/v1"
    description = "sort newline-separated records and remove duplicates"

    def compute(self, dataset: bytes, params: dict[str, Any]) -> tuple[bytes, int]:
        recs = _records(dataset)
        return _encode(sorted(set(recs))), len(recs)

    def fuel(self, dataset: bytes, params: dict[str, Any]) -> int:
        return len(_records(dataset))

    def verify(self, dataset: bytes, result: bytes, params: dict[str, Any], fuel: int) -> Verdict:
        recs = _records(dataset)
        if fuel != len(recs):
            return Verdict(False, f"fuel {fuel} reported, {len(recs)} expected")
        if result and not result.endswith(b"\n"):
            return Verdict(False, "result does not end with a newline")
        out = _records(result)
        if len(out) != result.count(b"\n"):
            return Verdict(False, "result holds empty records")
        # One pass: strictly increasing means sorted and duplicate-free.
        for i in range(1, len(out)):
            if out[i - 1] >= out[i]:
                return Verdict(False, f"records {i - 1} and {i} are out of order or duplicated")
        if set(out) != set(recs):
            return Verdict(False, "result records differ from the dataset's")
        return Verdict(True)

    def split(self, dataset: bytes, parts: int, params: dict[str, Any]) -> list[bytes]:
        recs = _records(dataset)
        if parts < 2 or len(recs) < 2:
            return []
        parts = min(parts, len(recs))
        size = -(-len(recs) // parts)
        return [_encode(recs[i : i + size]) for i in range(0, len(recs), size)]

    def aggregate(self, results: list[bytes], params: dict[str, Any]) -> bytes:
        # k-way merge of sorted runs, dropping duplicates across runs.
        out: list[bytes] = []
        for rec in heapq.merge(*(_records(r) for r in results)):
            if not out or out[-1] != rec:
                out.append(rec)
        return _encode(out)
