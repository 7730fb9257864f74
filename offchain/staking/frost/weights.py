"""Stake-weighted share allocation for the sequencer set's threshold key.

Each active sequencer holds ``min(cap, max(1, stake // min_lock))`` shares: one per minimum
lock, capped so no single sequencer holds a blocking share count by weight alone. The signing
threshold is more than 2/3 of all shares, ``t = floor(2 S / 3) + 1``. Identifiers are assigned
consecutively from 1 in ascending signer-address order, so every daemon derives the same
assignment from the same L1 view (``LockingPool.activeSet()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from offchain.staking.frost.errors import FrostError


def share_count(stake: int, min_lock: int, cap: int) -> int:
    """Shares of one sequencer with ``stake`` (at least one while it is active)."""
    if min_lock <= 0 or cap <= 0:
        raise FrostError(f"min_lock and cap must be positive, got {min_lock}, {cap}")
    return max(1, min(cap, stake // min_lock))


def threshold(total_shares: int) -> int:
    """Smallest ``t`` with ``3 t > 2 total_shares``."""
    return total_shares * 2 // 3 + 1


@dataclass(frozen=True)
class Allocation:
    """Which identifiers each sequencer holds, and the signing threshold.

    Attributes:
        identifiers: signer address -> its identifiers (ascending).
        threshold: shares needed to sign.
    """

    identifiers: dict[str, tuple[int, ...]]
    threshold: int

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.identifiers.values())

    def owner(self, identifier: int) -> str:
        """The signer holding ``identifier``.

        Raises:
            FrostError: no one holds it.
        """
        for addr, ids in self.identifiers.items():
            if identifier in ids:
                return addr
        raise FrostError(f"identifier {identifier} is not allocated")

    def all_identifiers(self) -> list[int]:
        return sorted(i for ids in self.identifiers.values() for i in ids)


def allocate(stakes: Mapping[str, int], min_lock: int, cap: int) -> Allocation:
    """Shares for the active set ``stakes`` (signer address -> stake).

    Raises:
        FrostError: empty set or bad parameters.
    """
    if not stakes:
        raise FrostError("no active sequencer to allocate shares to")
    out: dict[str, tuple[int, ...]] = {}
    next_id = 1
    for addr in sorted(stakes, key=lambda a: int(a, 16)):
        k = share_count(stakes[addr], min_lock, cap)
        out[addr] = tuple(range(next_id, next_id + k))
        next_id += k
    return Allocation(out, threshold(next_id - 1))
