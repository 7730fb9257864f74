"""Shamir sharing with Feldman commitments, Lagrange coefficients, trusted-dealer keygen
(RFC 9591 appendix C), used by tests and by the DKG / resharing in :mod:`dkg`.

A share is ``(identifier, f(identifier))`` for a polynomial ``f`` of degree ``t - 1`` whose
constant term is the secret; its VSS commitment is ``[a_0 G, a_1 G, ..., a_{t-1} G]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offchain.staking.frost.errors import FrostError
from offchain.staking.frost.group import Element, N, base_mul, inverse, random_scalar


@dataclass(frozen=True)
class KeyShare:
    """What one participant holds after keygen: its identifier, secret share and the group key.

    Attributes:
        identifier: non-zero scalar naming the participant (1, 2, ...).
        secret: ``f(identifier)``.
        group_public_key: ``f(0) * G``.
    """

    identifier: int
    secret: int
    group_public_key: Element

    @property
    def public(self) -> Element:
        """This participant's verifying share ``secret * G``."""
        return base_mul(self.secret)


def eval_poly(coefficients: Sequence[int], x: int) -> int:
    """``coefficients[0] + coefficients[1] x + ...`` mod N (Horner)."""
    acc = 0
    for a in reversed(coefficients):
        acc = (acc * x + a) % N
    return acc


def random_polynomial(secret: int, threshold: int) -> list[int]:
    """``[secret, a_1, ..., a_{threshold-1}]`` with random coefficients."""
    if threshold < 1:
        raise FrostError(f"threshold must be at least 1, got {threshold}")
    return [secret % N] + [random_scalar() for _ in range(threshold - 1)]


def vss_commit(coefficients: Sequence[int]) -> list[Element]:
    """Feldman commitment ``[a_j * G]``."""
    return [base_mul(a) for a in coefficients]


def vss_evaluate(commitment: Sequence[Element], x: int) -> Element:
    """``sum_j commitment[j] * x^j``: the public image of ``f(x)``."""
    acc = Element.identity()
    power = 1
    for c in commitment:
        acc = acc + c * power
        power = power * x % N
    return acc


def vss_verify(share: tuple[int, int], commitment: Sequence[Element]) -> bool:
    """``f(i) * G == sum_j C_j i^j`` for ``share = (i, f(i))``."""
    i, s = share
    return base_mul(s) == vss_evaluate(commitment, i)


def lagrange_coefficient(identifiers: Sequence[int], i: int, x: int = 0) -> int:
    """``derive_interpolating_value``: Lagrange coefficient of ``i`` over ``identifiers`` at ``x``.

    Raises:
        FrostError: ``i`` is not in ``identifiers``, or identifiers repeat / are zero.
    """
    if i not in identifiers:
        raise FrostError(f"identifier {i} is not in the participant list")
    if len(set(identifiers)) != len(identifiers) or any(j % N == 0 for j in identifiers):
        raise FrostError("identifiers must be distinct and non-zero")
    num, den = 1, 1
    for j in identifiers:
        if j == i:
            continue
        num = num * (x - j) % N
        den = den * (i - j) % N
    return num * inverse(den) % N


def interpolate(shares: Sequence[tuple[int, int]]) -> int:
    """``f(0)`` from ``len(shares) >= threshold`` points."""
    ids = [i for i, _ in shares]
    return sum(s * lagrange_coefficient(ids, i) for i, s in shares) % N


def trusted_dealer_keygen(
    secret: int, max_participants: int, min_participants: int, coefficients: Sequence[int] = ()
) -> tuple[list[KeyShare], list[Element]]:
    """RFC 9591 appendix C: shares of ``secret`` for identifiers 1..max_participants.

    Args:
        secret: the group signing key.
        max_participants: number of shares.
        min_participants: threshold.
        coefficients: ``a_1..a_{t-1}`` (random if empty; the test vectors fix them).

    Returns:
        The shares and the VSS commitment.
    """
    if not 1 <= min_participants <= max_participants:
        raise FrostError(f"need 1 <= threshold {min_participants} <= {max_participants}")
    coeffs = (
        [secret % N, *coefficients] if coefficients else random_polynomial(secret, min_participants)
    )
    if len(coeffs) != min_participants:
        raise FrostError(f"need {min_participants - 1} coefficients, got {len(coeffs) - 1}")
    pk = base_mul(coeffs[0])
    shares = [KeyShare(i, eval_poly(coeffs, i), pk) for i in range(1, max_participants + 1)]
    return shares, vss_commit(coeffs)
