"""Load compiled contract artifacts and decode custom errors from any of them."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from offchain.errors import ArtifactError
from offchain.paths import build_dir

# Error(string) and Panic(uint256), the two built-in revert payloads.
_ERROR_STRING = bytes.fromhex("08c379a0")
_PANIC = bytes.fromhex("4e487b71")


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str

    @classmethod
    def from_file(cls, path: Path) -> Artifact:
        try:
            data = json.loads(path.read_text())
            return cls(
                data["contractName"], data["abi"], data["bytecode"], data["deployedBytecode"]
            )
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise ArtifactError(
                f"malformed artifact {path}: {e}", "delete build/ and run `l2kit compile`"
            ) from e


def _abi_type(inp: dict[str, Any]) -> str:
    t: str = inp["type"]
    if t.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in inp["components"])
        return f"({inner}){t[5:]}"
    return t


@dataclass
class Artifacts:
    """The artifacts directory (``build/artifacts`` by default)."""

    directory: Path = field(default_factory=lambda: build_dir() / "artifacts")
    _cache: dict[str, Artifact] = field(default_factory=dict)

    def names(self) -> list[str]:
        if not self.directory.exists():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json"))

    def get(self, name: str) -> Artifact:
        """The artifact of contract ``name``.

        Raises:
            ArtifactError: if it does not exist (with close matches suggested).
        """
        if name in self._cache:
            return self._cache[name]
        path = self.directory / f"{name}.json"
        if not path.exists():
            close = difflib.get_close_matches(name, self.names(), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "run `l2kit compile` first"
            raise ArtifactError(f"no artifact for contract {name!r} in {self.directory}", hint)
        art = Artifact.from_file(path)
        self._cache[name] = art
        return art

    @cached_property
    def error_abis(self) -> dict[bytes, tuple[str, list[str], list[str]]]:
        """selector -> (error name, arg types, arg names), over every artifact."""
        table: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for n in self.names():
            for item in self.get(n).abi:
                if item.get("type") != "error":
                    continue
                types = [_abi_type(i) for i in item.get("inputs", [])]
                sig = f"{item['name']}({','.join(types)})"
                names = [i.get("name", "") for i in item.get("inputs", [])]
                table[function_signature_to_4byte_selector(sig)] = (item["name"], types, names)
        return table

    def decode_error(self, data: bytes | str | None) -> tuple[str | None, tuple[Any, ...], str]:
        """Decode revert data into (error name, args, human-readable one-liner)."""
        if data is None:
            return None, (), "reverted without data"
        if isinstance(data, str):
            hexstr = data[2:] if data.startswith("0x") else data
            try:
                data = bytes.fromhex(hexstr)
            except ValueError:
                return None, (), f"reverted: {hexstr}"
        if len(data) < 4:
            return None, (), "reverted without a reason"
        sel, body = data[:4], data[4:]
        try:
            if sel == _ERROR_STRING:
                (msg,) = abi_decode(["string"], body)
                return "Error", (msg,), f"reverted: {msg}"
            if sel == _PANIC:
                (code,) = abi_decode(["uint256"], body)
                return "Panic", (code,), f"panicked with code {hex(code)}"
            if sel in self.error_abis:
                name, types, names = self.error_abis[sel]
                args = tuple(
                    to_checksum_address(v) if t == "address" else v
                    for t, v in zip(types, abi_decode(types, body), strict=True)
                )
                shown = ", ".join(
                    f"{n}={_fmt(v)}" if n else _fmt(v) for n, v in zip(names, args, strict=False)
                )
                return name, args, f"{name}({shown})"
        except Exception:  # noqa: BLE001 - undecodable data falls through to the raw form
            pass
        return None, (), f"reverted with unknown error 0x{data.hex()}"


def _fmt(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)
