"""``matmul/v1``: integer matrix product C = A·B, verified with Freivalds' algorithm.

Dataset: JSON ``{"a": [[...], ...], "b": [[...], ...]}`` of integers with
``|x| < 2**20`` and inner dimension ≤ 4096 (so int64 never overflows).
Result: JSON ``{"c": [[...], ...]}``. Fuel: multiply-adds, ``n·m·p``.

Verification (Freivalds): draw a random 0/1 vector r and check ``A·(B·r) == C·r``; a wrong C
passes one round with probability ≤ 1/2, so ``rounds`` rounds miss it with probability
≤ 2**-rounds, in O(rounds·n²) instead of the O(n³) product. The default is
:data:`FREIVALDS_ROUNDS` = 40 for the stated bound: a node gets one attempt per job (the
execution layer refuses a retake after a failed attempt), so a wrong result is accepted with
probability ≤ N·2**-40 over N eligible nodes. The result must be the canonical encoding
(``{"c":[[..]]}``, no whitespace), parsed with size and depth limits.
Splitting: row blocks of A (each SubJob gets its rows of A and all of B); aggregation
stacks the blocks in order.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import numpy as np

from offchain.emeth.errors import ProgramError
from offchain.emeth.programs.base import Program, Verdict
from offchain.emeth.programs.canonical import load_json

MAX_ABS = 2**20
MAX_INNER = 4096
FREIVALDS_ROUNDS = 40
"""Freivalds rounds per verification: a wrong result passes one with probability ≤ 2**-40."""


def _matrix(value: Any, name: str) -> np.ndarray:
    try:
        m = np.array(value, dtype=object)
    except (ValueError, TypeError) as e:
        raise ProgramError(f"matmul: {name} is not a matrix: {e}") from e
    if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] == 0:
        raise ProgramError(f"matmul: {name} must be a non-empty 2-D list of integers")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in m.flat):
        raise ProgramError(f"matmul: {name} must hold integers only")
    if any(abs(x) >= MAX_ABS for x in m.flat):
        raise ProgramError(f"matmul: {name} has an entry with |x| >= 2**20")
    return m.astype(np.int64)


def _load(dataset: bytes) -> tuple[np.ndarray, np.ndarray]:
    doc = load_json(dataset, "matmul: dataset", max_depth=3)
    try:
        a, b = _matrix(doc["a"], "a"), _matrix(doc["b"], "b")
    except (ValueError, KeyError, TypeError) as e:
        if isinstance(e, ProgramError):
            raise
        raise ProgramError(f'matmul: dataset must be JSON {{"a": [[..]], "b": [[..]]}}: {e}') from e
    if a.shape[1] != b.shape[0]:
        raise ProgramError(f"matmul: shapes {a.shape} and {b.shape} do not chain")
    if a.shape[1] > MAX_INNER:
        raise ProgramError(f"matmul: inner dimension {a.shape[1]} > {MAX_INNER}")
    return a, b


def _encode_c(c: np.ndarray) -> bytes:
    return json.dumps({"c": c.tolist()}, separators=(",", ":")).encode()


def _decode_c(result: bytes, shape: tuple[int, int]) -> np.ndarray | None:
    """The ``shape`` integer matrix ``result`` encodes canonically (``_encode_c``), or None."""
    try:
        c = np.array(load_json(result, "matmul: result", max_depth=3)["c"], dtype=object)
        if c.shape != shape or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in c.flat
        ):
            return None
        c64 = c.astype(np.int64)
    except (ProgramError, KeyError, TypeError, IndexError, OverflowError, ValueError):
        return None
    return c64 if _encode_c(c64) == result else None


class MatMul(Program):
    """Integer matrix multiplication with a Freivalds verifier."""

    program_id = "matmul/v1"
    description = "integer matrix product A·B (verified with Freivalds' algorithm)"

    def __init__(self, rounds: int = FREIVALDS_ROUNDS) -> None:
        if rounds < 1:
            raise ValueError("matmul: at least one Freivalds round")
        self.rounds = rounds

    def compute(self, dataset: bytes, params: dict[str, Any]) -> tuple[bytes, int]:
        a, b = _load(dataset)
        return _encode_c(a @ b), a.shape[0] * a.shape[1] * b.shape[1]

    def fuel(self, dataset: bytes, params: dict[str, Any]) -> int:
        a, b = _load(dataset)
        return int(a.shape[0] * a.shape[1] * b.shape[1])

    def verify(self, dataset: bytes, result: bytes, params: dict[str, Any], fuel: int) -> Verdict:
        a, b = _load(dataset)
        expected_fuel = a.shape[0] * a.shape[1] * b.shape[1]
        if fuel != expected_fuel:
            return Verdict(False, f"fuel {fuel} reported, {expected_fuel} expected")
        c = _decode_c(result, (a.shape[0], b.shape[1]))
        if c is None:
            return Verdict(False, f"result is not a {a.shape[0]}x{b.shape[1]} integer matrix")
        rng = np.random.default_rng(secrets.randbits(64))
        for i in range(self.rounds):
            r = rng.integers(0, 2, size=(b.shape[1], 1), dtype=np.int64)
            if not np.array_equal(a @ (b @ r), c @ r):
                return Verdict(False, f"Freivalds check failed in round {i + 1}")
        return Verdict(True)

    def split(self, dataset: bytes, parts: int, params: dict[str, Any]) -> list[bytes]:
        a, b = _load(dataset)
        if parts < 2 or a.shape[0] < 2:
            return []
        parts = min(parts, a.shape[0])
        size = -(-a.shape[0] // parts)
        bl = b.tolist()
        return [
            json.dumps({"a": a[i : i + size].tolist(), "b": bl}, separators=(",", ":")).encode()
            for i in range(0, a.shape[0], size)
        ]

    def aggregate(self, results: list[bytes], params: dict[str, Any]) -> bytes:
        rows: list[list[int]] = []
        for i, r in enumerate(results):
            try:
                rows.extend(load_json(r, f"matmul: SubJob result {i}", max_depth=3)["c"])
            except (ProgramError, KeyError, TypeError) as e:
                raise ProgramError(f"matmul: SubJob result {i} is malformed: {e}") from e
        return json.dumps({"c": rows}, separators=(",", ":")).encode()
