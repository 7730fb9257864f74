"""``wordcount/v1``: count words in UTF-8 text.

Words are maximal runs of letters, digits, apostrophes or underscores, lower-cased.
Result: canonical JSON ``{"total": n, "counts": {"word": k, ...}}`` (keys sorted).
Fuel: number of words. Verification recomputes (linear time, same cost as the job).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from offchain.emeth.errors import ProgramError
from offchain.emeth.programs.base import Program, Verdict
from offchain.emeth.programs.canonical import load_json

_WORD = re.compile(r"[\w']+", re.UNICODE)


def _text(dataset: bytes) -> str:
    try:
        return dataset.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProgramError(
            f"wordcount: dataset is not UTF-8 text ({e.reason} at byte {e.start})"
        ) from e


def _counts(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def _encode(counts: Counter[str] | dict[str, int]) -> bytes:
    body = {"total": sum(counts.values()), "counts": dict(sorted(counts.items()))}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class WordCount(Program):
    """Word frequencies of a text."""

    program_id = "wordcount/v1"
    description = "word frequencies of UTF-8 text (splits on line boundaries)"

    def compute(self, dataset: bytes, params: dict[str, Any]) -> tuple[bytes, int]:
        counts = _counts(_text(dataset))
        return _encode(counts), sum(counts.values())

    def fuel(self, dataset: bytes, params: dict[str, Any]) -> int:
        return len(_WORD.findall(_text(dataset)))

    def verify(self, dataset: bytes, result: bytes, params: dict[str, Any], fuel: int) -> Verdict:
        expected, expected_fuel = self.compute(dataset, params)
        if fuel != expected_fuel:
            return Verdict(False, f"fuel {fuel} reported, {expected_fuel} expected")
        if result != expected:
            return Verdict(False, "word counts differ from the dataset's")
        return Verdict(True)

    def split(self, dataset: bytes, parts: int, params: dict[str, Any]) -> list[bytes]:
        lines = _text(dataset).splitlines(keepends=True)
        if parts < 2 or len(lines) < 2:
            return []
        parts = min(parts, len(lines))
        size = -(-len(lines) // parts)
        return ["".join(lines[i : i + size]).encode() for i in range(0, len(lines), size)]

    def aggregate(self, results: list[bytes], params: dict[str, Any]) -> bytes:
        total: Counter[str] = Counter()
        for i, r in enumerate(results):
            try:
                counts = load_json(r, f"wordcount: SubJob result {i}", max_depth=2)["counts"]
                if not all(isinstance(v, int) for v in counts.values()):
                    raise TypeError("counts must be integers")
                total.update(counts)
            except (ProgramError, KeyError, TypeError, AttributeError) as e:
                raise ProgramError(f"wordcount: SubJob result {i} is malformed: {e}") from e
        return _encode(total)
