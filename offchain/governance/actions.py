"""Encode proposal actions from human input: ``TARGET SIGNATURE ARG...``.

``TARGET`` is a deployment key (``locking_pool``) or an address; ``SIGNATURE`` a Solidity
function signature (``kick(address)``); arguments are parsed by their ABI type (addresses,
integers in decimal or 0x-hex, ``true``/``false``, hex bytes, strings). Token amounts may be
written with a ``tokens`` suffix (``1000tokens`` = 1000 * 10**18).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, is_address, to_checksum_address

from offchain.errors import ConfigError

_SIG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$")


@dataclass(frozen=True)
class Action:
    """One call the Timelock makes when a proposal executes."""

    target: str
    value: int
    calldata: bytes
    label: str


def split_types(params: str) -> list[str]:
    """Top-level comma split of a parameter list (keeps tuples together)."""
    out: list[str] = []
    depth, cur = 0, ""
    for ch in params:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_arg(typ: str, raw: str) -> object:
    """Convert the string ``raw`` to a Python value of ABI type ``typ``.

    Raises:
        ConfigError: the value does not fit the type.
    """
    try:
        if typ == "address":
            if not is_address(raw):
                raise ValueError(f"{raw!r} is not an address")
            return to_checksum_address(raw)
        if typ.startswith(("uint", "int")):
            if raw.endswith("tokens"):
                return int(raw[: -len("tokens")]) * 10**18
            return int(raw, 0)
        if typ == "bool":
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"{raw!r} is not true/false")
            return raw.lower() in ("true", "1")
        if typ.startswith("bytes"):
            return bytes.fromhex(raw.removeprefix("0x"))
        if typ == "string":
            return raw
    except ValueError as e:
        raise ConfigError(f"bad {typ} argument: {e}") from e
    raise ConfigError(f"argument type {typ} is not supported on the command line")


def encode_call(signature: str, args: list[str]) -> bytes:
    """Calldata for ``signature`` with string ``args``.

    Raises:
        ConfigError: malformed signature or arguments.
    """
    m = _SIG.match(signature.replace(" ", ""))
    if not m:
        raise ConfigError(f"bad function signature {signature!r}", "write it like kick(address)")
    types = split_types(m.group(2))
    if len(types) != len(args):
        raise ConfigError(f"{signature} takes {len(types)} argument(s), got {len(args)}")
    values = [parse_arg(t, a) for t, a in zip(types, args, strict=True)]
    canonical = f"{m.group(1)}({','.join(types)})"
    return function_signature_to_4byte_selector(canonical) + abi_encode(types, values)


def resolve_target(target: str, addresses: dict[str, str]) -> str:
    """A deployment key or an address -> checksummed address.

    Raises:
        ConfigError: unknown key.
    """
    if is_address(target):
        return to_checksum_address(target)
    if target in addresses:
        return to_checksum_address(addresses[target])
    raise ConfigError(
        f"unknown target {target!r}", f"use an address or one of: {', '.join(addresses)}"
    )


def parse_action(spec: str, addresses: dict[str, str]) -> Action:
    """``"TARGET SIGNATURE ARG..."`` -> :class:`Action`."""
    parts = spec.split()
    if len(parts) < 2:
        raise ConfigError(f"bad action {spec!r}", "write it as: TARGET SIGNATURE [ARG ...]")
    target = resolve_target(parts[0], addresses)
    return Action(target, 0, encode_call(parts[1], parts[2:]), spec)
