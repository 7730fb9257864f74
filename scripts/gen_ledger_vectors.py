"""Write tests/vectors/ledger.json (the L2 ledger's shared Python/Solidity test vectors).

Usage: ``.venv/bin/python scripts/gen_ledger_vectors.py [--check]``; ``--check`` exits 1 if
the committed file differs from what the code generates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from offchain.rollup.ledger.vectors import build_vectors

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "ledger.json"


def render() -> str:
    """The vector file's exact text."""
    return json.dumps(build_vectors(), indent=1) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run scripts/gen_ledger_vectors.py", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
