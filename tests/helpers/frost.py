"""Test helpers for the FROST daemons: allocation from L1, a coordinator over a cluster."""

from __future__ import annotations

from typing import Any

from offchain.staking.cluster import SequencerCluster
from offchain.staking.config import TOKEN
from offchain.staking.frost.coordinator import FrostCoordinator
from offchain.staking.frost.weights import Allocation, allocate

SHARE_CAP = 4


def allocation_from_l1(pool: Any, min_lock_tokens: int) -> Allocation:
    """Shares of the active set as every daemon derives them (``LockingPool.activeSet()``)."""
    signers, stakes = pool.functions.activeSet().call()
    return allocate(
        {str(a): int(s) for a, s in zip(signers, stakes, strict=True)},
        min_lock_tokens * TOKEN,
        SHARE_CAP,
    )


def coordinator(cluster: SequencerCluster) -> FrostCoordinator:
    return FrostCoordinator({a: m.url for a, m in cluster.members.items()}, timeout_s=30)
