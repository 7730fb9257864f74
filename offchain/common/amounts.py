"""Exact token amounts for the command line: decimal text <-> integer base units.

No float is ever involved: ``"25000"`` tokens is exactly ``25000 * 10**18`` wei, and
``"0.000000000000000001"`` is 1 wei. A value with more decimals than the token has, a
negative value, or anything that is not a plain decimal number is refused.
"""

from __future__ import annotations

import re

from offchain.errors import ConfigError

DECIMALS = 18
_AMOUNT = re.compile(r"^(\d+)(?:\.(\d*))?$|^\.(\d+)$")


def parse_amount(text: str, decimals: int = DECIMALS, *, allow_zero: bool = False) -> int:
    """``text`` (a decimal number of tokens, ``_`` and ``,`` allowed as separators) in base units.

    Raises:
        ConfigError: not a non-negative decimal, zero (unless ``allow_zero``), or more
            fractional digits than ``decimals``.
    """
    clean = text.strip().replace("_", "").replace(",", "")
    m = _AMOUNT.match(clean)
    if m is None:
        raise ConfigError(f"not an amount: {text!r}", "give a decimal number, e.g. 25000 or 12.5")
    whole = m.group(1) or "0"
    frac = (m.group(2) if m.group(1) is not None else m.group(3)) or ""
    if len(frac.rstrip("0")) > decimals:
        raise ConfigError(
            f"{text!r} has more than {decimals} decimals", "the smallest unit is 10^-18 token"
        )
    frac = frac.rstrip("0")
    units = int(whole) * 10**decimals + (int(frac) * 10 ** (decimals - len(frac)) if frac else 0)
    if units == 0 and not allow_zero:
        raise ConfigError("the amount must be positive")
    return units


def format_amount(units: int, decimals: int = DECIMALS, *, group: bool = True) -> str:
    """Base units as an exact decimal string (``25,000`` / ``0.5``; no rounding)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    w = f"{whole:,}" if group else str(whole)
    f = f"{frac:0{decimals}d}".rstrip("0")
    return f"{sign}{w}.{f}" if f else f"{sign}{w}"
