"""Errors of the FROST implementation."""

from __future__ import annotations

from offchain.staking.errors import StakingError


class FrostError(StakingError, ValueError):
    """Malformed FROST input (bad encoding, wrong identifier, failed check)."""


class InvalidShare(FrostError):
    """A signature (or DKG) share failed verification; ``culprit`` names its sender."""

    def __init__(self, culprit: int, what: str) -> None:
        super().__init__(f"participant {culprit} sent an invalid {what}")
        self.culprit = culprit


class FrostRefused(FrostError):
    """A well-formed request this node will not serve: unknown session, a used or foreign
    nonce, a key it holds no share of."""
