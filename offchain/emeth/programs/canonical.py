"""Bounded, canonical JSON for program datasets and results (docs/spec.md "Programs").

A program never hands attacker-controlled bytes straight to :func:`json.loads`: a document
nested 100,000 deep raises ``RecursionError`` (not a ``ValueError``) and a huge one exhausts
memory. :func:`load_json` checks the size and the nesting depth first (strings skipped, so a
``[`` inside a string does not count) and turns every decoding failure into a
:class:`~offchain.emeth.errors.ProgramError`. :func:`canonical_json` is the one encoding a
program writes; a result is accepted only if it is byte-for-byte that encoding of its value.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from offchain.emeth.errors import ProgramError

MAX_JSON_BYTES = 16 * 2**20
"""Largest JSON document a program parses (16 MiB)."""
MAX_JSON_DEPTH = 16
"""Deepest nesting of arrays and objects a program parses."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


def json_depth(data: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in ``data``, outside strings (0 for a scalar)."""
    bare = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    if bare.size == 0:
        return 0
    step = np.isin(bare, _OPEN).astype(np.int64) - np.isin(bare, _CLOSE).astype(np.int64)
    return int(max(0, np.cumsum(step).max()))


def load_json(
    data: bytes, what: str, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """Parse ``data`` as JSON within ``max_bytes`` and ``max_depth``.

    Args:
        data: the document.
        what: its name in error messages (e.g. ``"matmul: result"``).

    Raises:
        ProgramError: too large, too deep, or not JSON.
    """
    if len(data) > max_bytes:
        raise ProgramError(f"{what} is {len(data)} bytes, over the limit of {max_bytes}")
    depth = json_depth(data)
    if depth > max_depth:
        raise ProgramError(f"{what} is nested {depth} deep, over the limit of {max_depth}")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise ProgramError(f"{what} is not JSON: {e}") from e


def canonical_json(value: Any) -> bytes:
    """The canonical encoding: no whitespace, keys sorted, UTF-8 (not ``\\u`` escapes)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
