"""Errors of the staking domain (sequencer set, co-signing, rotation)."""

from __future__ import annotations

from offchain.errors import L2KitError


class StakingError(L2KitError, RuntimeError):
    """A staking / sequencer-set operation failed."""


class NotEnoughSignatures(StakingError):
    """The co-signers of a digest hold no more than 2/3 of the active stake.

    Attributes:
        got: stake that signed (signatures, when the set counts one per signer).
        needed: stake required (more than 2/3 of the active stake).
        failures: peer URL -> reason it did not sign.
    """

    def __init__(self, got: int, needed: int, failures: dict[str, str]) -> None:
        detail = "; ".join(f"{u}: {r}" for u, r in failures.items()) or "no peer errors"
        super().__init__(
            f"co-signers hold {got} of the {needed} stake required ({detail})",
            "check that sequencers holding more than 2/3 of the active stake run a co-signer",
        )
        self.got = got
        self.needed = needed
        self.failures = failures


class CosignRefused(StakingError, ValueError):
    """A co-signer refused to sign a request (wrong chain, contract, index or digest)."""
