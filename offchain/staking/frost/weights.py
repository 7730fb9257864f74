"""Stake-weighted share allocation for the sequencer set's threshold key.

The active set of ``n`` sequencers shares ``N = per_member * n`` identifiers (3 per member by
default), apportioned to stake by largest remainder (Hamilton's method): member ``i`` with
stake ``S_i`` of ``T`` gets ``floor(N S_i / T)`` shares, at least one, and the shares left go
one each to the largest remainders ``N S_i mod T`` (ties: ascending signer address). The
signing threshold is more than 2/3 of all shares, ``t = floor(2 N / 3) + 1``, so shares follow
stake to within one share per member (e.g. stakes 20k/30k/40k/50k get 2/3/3/4 shares of 12,
threshold 9: any one of the three smaller members may be down, the 50k one (35.7 %) may not;
``floor(S / minLock)`` shares with a cap gave 1/1/2/2 of 6, threshold 5, and the 40k member
alone, 28.6 % of the stake, halted signing). Identifiers are assigned consecutively from 1 in
ascending signer-address order, so every daemon derives the same assignment from the same L1
view (``LockingPool.activeSet()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from offchain.staking.frost.errors import FrostError

SHARES_PER_MEMBER = 3


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


def allocate(stakes: Mapping[str, int], per_member: int = SHARES_PER_MEMBER) -> Allocation:
    """Shares for the active set ``stakes`` (signer address -> stake), largest remainder over
    ``per_member * len(stakes)`` shares (module docstring).

    Raises:
        FrostError: empty set, a stake that is not positive, or ``per_member`` below 1.
    """
    if not stakes:
        raise FrostError("no active sequencer to allocate shares to")
    if per_member < 1:
        raise FrostError(f"per_member must be at least 1, got {per_member}")
    if any(w <= 0 for w in stakes.values()):
        raise FrostError(f"every active stake must be positive, got {dict(stakes)}")
    order = sorted(stakes, key=lambda a: int(a, 16))
    total, n_shares = sum(stakes.values()), per_member * len(stakes)
    counts = {a: max(1, stakes[a] * n_shares // total) for a in order}
    left = n_shares - sum(counts.values())
    by_remainder = sorted(order, key=lambda a: -(stakes[a] * n_shares % total))  # stable: address
    for a in by_remainder[: max(0, left)]:
        counts[a] += 1
    out: dict[str, tuple[int, ...]] = {}
    next_id = 1
    for a in order:
        out[a] = tuple(range(next_id, next_id + counts[a]))
        next_id += counts[a]
    return Allocation(out, threshold(next_id - 1))
