"""Derive the ``l1`` section of tests/vectors/frost_secp256k1.json from its signing vectors.

The signing / DKG vectors are copied from RFC 9591 appendix E.5 and the Zcash Foundation's
frost-secp256k1 test vectors (see the file's ``description``); this script only re-encodes
each final signature for ``FrostVerifier.sol`` (R uncompressed, z; group key x and y parity)
and adds tampered copies the verifier must refuse. Run from the repository root:

    .venv/bin/python tests/vectors/gen_frost.py          # rewrite the l1 section
    .venv/bin/python tests/vectors/gen_frost.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offchain.staking.frost.group import N, deserialize_element  # noqa: E402

PATH = Path(__file__).resolve().parent / "frost_secp256k1.json"


def _h(v: int) -> str:
    return "0x" + v.to_bytes(32, "big").hex()


def l1_view(vector: dict[str, Any]) -> dict[str, Any]:
    """The vector's signature as FrostVerifier.sol takes it, and tampered copies."""
    pk = deserialize_element(bytes.fromhex(vector["inputs"]["group_public_key"]))
    sig = bytes.fromhex(vector["sig"])
    rx, ry = deserialize_element(sig[:33]).xy()
    z = int.from_bytes(sig[33:], "big")
    px, py = pk.xy()
    return {
        "pk_x": _h(px),
        "pk_y_parity": py & 1,
        "message": "0x" + vector["inputs"]["message"],
        "r_x": _h(rx),
        "r_y": _h(ry),
        "z": _h(z),
        "bad_z": _h((z + 1) % N),
        "bad_message": "0x" + vector["inputs"]["message"] + "00",
        "bad_r_y": _h((2**256 - 2**32 - 977) - ry),  # -R: same x, other y
    }


def build() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PATH.read_text())
    data["l1"] = {name: l1_view(v) for name, v in data["signing"].items()}
    return data


def main() -> int:
    data = build()
    text = json.dumps(data, indent=2) + "\n"
    if "--check" in sys.argv:
        if PATH.read_text() != text:
            print(f"{PATH} is stale: run tests/vectors/gen_frost.py", file=sys.stderr)
            return 1
        return 0
    PATH.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
