"""Errors of the staking domain (sequencer set, co-signing, rotation)."""

from __future__ import annotations

from offchain.errors import L2KitError


class StakingError(L2KitError, RuntimeError):
    """A staking / sequencer-set operation failed."""


class NotEnoughSignatures(StakingError):
    """Fewer than more-than-2/3 of the active set co-signed a digest.

    Attributes:
        got: signatures collected.
        needed: signatures required.
        failures: peer URL -> reason it did not sign.
    """

    def __init__(self, got: int, needed: int, failures: dict[str, str]) -> None:
        detail = "; ".join(f"{u}: {r}" for u, r in failures.items()) or "no peer errors"
        super().__init__(
            f"collected {got} of {needed} required signatures ({detail})",
            "check that more than 2/3 of the active sequencers run a co-signer",
        )
        self.got = got
        self.needed = needed
        self.failures = failures


class CosignRefused(StakingError, ValueError):
    """A co-signer refused to sign a request (wrong chain, contract, index or digest)."""
