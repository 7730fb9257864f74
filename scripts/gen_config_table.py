"""Rewrite README's table of every setting and its default from ``L2KitConfig``.

    python scripts/gen_config_table.py      # after adding or changing a setting

``tests/common/test_config.py::test_readmeListsEverySettingWithItsDefault`` fails until the
README lists every setting of ``offchain/config.py`` with its current default.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from offchain.cli import _flat
from offchain.config import L2KitConfig

README = Path(__file__).resolve().parent.parent / "README.md"


def table() -> str:
    rows = []
    for section, values in L2KitConfig().to_dict().items():
        if isinstance(values, dict) and section != "extra":
            for key, default in _flat(values):
                env = f"L2KIT_{section.upper()}__{key.upper().replace('.', '__')}"
                rows.append(f"| `{section}.{key}` | `{env}` | `{json.dumps(default)}` |")
    rows.append("| `extra` | `L2KIT_EXTRA` (JSON object) | `{}` |")
    return "\n".join(["| setting | environment variable | default |", "|---|---|---|", *rows])


def main() -> None:
    text = README.read_text()
    pattern = r"\| setting \| environment variable \| default \|\n(\|.*\n)+"
    README.write_text(re.sub(pattern, lambda _: table() + "\n", text))


if __name__ == "__main__":
    main()
