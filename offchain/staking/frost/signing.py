"""FROST signing (RFC 9591 sections 4 and 5): round one commitments, binding factors, round
two signature shares, share verification, aggregation and signature verification.

A signature is ``(R, z)``; its RFC encoding is ``SerializeElement(R) || SerializeScalar(z)``
(65 bytes). The L1 verifier takes ``R`` uncompressed instead: see :func:`to_l1_signature`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from offchain.staking.frost.errors import FrostError, InvalidShare
from offchain.staking.frost.group import (
    Element,
    N,
    base_mul,
    deserialize_element,
    deserialize_scalar,
    serialize_element,
    serialize_scalar,
)
from offchain.staking.frost.hashing import h1, h2, h3, h4, h5
from offchain.staking.frost.keygen import KeyShare, lagrange_coefficient


@dataclass(frozen=True)
class Nonces:
    """A participant's secret nonce pair for one signing round (use once)."""

    hiding: int
    binding: int


@dataclass(frozen=True)
class Commitment:
    """A participant's public nonce commitments for one signing round."""

    identifier: int
    hiding: Element
    binding: Element

    def encode(self) -> bytes:
        return (
            serialize_scalar(self.identifier)
            + serialize_element(self.hiding)
            + serialize_element(self.binding)
        )


@dataclass(frozen=True)
class Signature:
    """A Schnorr signature ``(R, z)`` under the group key."""

    R: Element
    z: int

    def encode(self) -> bytes:
        """RFC encoding, 65 bytes."""
        return serialize_element(self.R) + serialize_scalar(self.z)

    @classmethod
    def decode(cls, data: bytes) -> Signature:
        """Inverse of :meth:`encode`.

        Raises:
            FrostError: wrong length or invalid element / scalar.
        """
        if len(data) != 65:
            raise FrostError(f"a signature is 65 bytes, got {len(data)}")
        return cls(deserialize_element(data[:33]), deserialize_scalar(data[33:]))


def nonce_generate(secret: int, random_bytes: bytes | None = None) -> int:
    """``H3(random_bytes || SerializeScalar(secret))`` (32 fresh random bytes by default)."""
    rb = secrets.token_bytes(32) if random_bytes is None else random_bytes
    return h3(rb + serialize_scalar(secret))


def commit(
    share: KeyShare, hiding_randomness: bytes | None = None, binding_randomness: bytes | None = None
) -> tuple[Nonces, Commitment]:
    """Round one: fresh nonces and their commitments."""
    n = Nonces(
        nonce_generate(share.secret, hiding_randomness),
        nonce_generate(share.secret, binding_randomness),
    )
    return n, Commitment(share.identifier, base_mul(n.hiding), base_mul(n.binding))


def _sorted_list(commitments: Sequence[Commitment]) -> list[Commitment]:
    ids = [c.identifier for c in commitments]
    if len(set(ids)) != len(ids):
        raise FrostError(f"duplicate identifiers in the commitment list: {sorted(ids)}")
    if any(i <= 0 or i >= N for i in ids):
        raise FrostError("identifiers must be in 1..N-1")
    return sorted(commitments, key=lambda c: c.identifier)


def encode_group_commitment_list(commitments: Sequence[Commitment]) -> bytes:
    """Concatenated encodings, sorted by identifier."""
    return b"".join(c.encode() for c in _sorted_list(commitments))


def binding_factor_input(
    group_public_key: Element, commitments: Sequence[Commitment], msg: bytes, identifier: int
) -> bytes:
    """``SerializeElement(PK) || H4(msg) || H5(commitment list) || SerializeScalar(id)``."""
    prefix = (
        serialize_element(group_public_key)
        + h4(msg)
        + h5(encode_group_commitment_list(commitments))
    )
    return prefix + serialize_scalar(identifier)


def compute_binding_factors(
    group_public_key: Element, commitments: Sequence[Commitment], msg: bytes
) -> dict[int, int]:
    """Identifier -> binding factor ``rho_i``."""
    prefix = (
        serialize_element(group_public_key)
        + h4(msg)
        + h5(encode_group_commitment_list(commitments))
    )
    return {c.identifier: h1(prefix + serialize_scalar(c.identifier)) for c in commitments}


def compute_group_commitment(
    commitments: Sequence[Commitment], binding_factors: Mapping[int, int]
) -> Element:
    """``R = sum(D_i + rho_i E_i)``."""
    acc = Element.identity()
    for c in _sorted_list(commitments):
        acc = acc + c.hiding + c.binding * binding_factors[c.identifier]
    return acc


def compute_challenge(R: Element, group_public_key: Element, msg: bytes) -> int:
    """``H2(SerializeElement(R) || SerializeElement(PK) || msg)``."""
    return h2(serialize_element(R) + serialize_element(group_public_key) + msg)


def sign(share: KeyShare, nonces: Nonces, msg: bytes, commitments: Sequence[Commitment]) -> int:
    """Round two: this participant's signature share ``z_i``.

    Raises:
        FrostError: this participant is not in ``commitments``.
    """
    ids = [c.identifier for c in _sorted_list(commitments)]
    if share.identifier not in ids:
        raise FrostError(f"participant {share.identifier} is not in the signing package")
    rho = compute_binding_factors(share.group_public_key, commitments, msg)
    R = compute_group_commitment(commitments, rho)
    lam = lagrange_coefficient(ids, share.identifier)
    c = compute_challenge(R, share.group_public_key, msg)
    return (nonces.hiding + nonces.binding * rho[share.identifier] + lam * share.secret * c) % N


def verify_signature_share(
    identifier: int,
    public_share: Element,
    sig_share: int,
    commitments: Sequence[Commitment],
    group_public_key: Element,
    msg: bytes,
) -> bool:
    """``z_i G == D_i + rho_i E_i + (c lambda_i) PK_i``."""
    ids = [c.identifier for c in _sorted_list(commitments)]
    mine = next((c for c in commitments if c.identifier == identifier), None)
    if mine is None or not 0 <= sig_share < N:
        return False
    rho = compute_binding_factors(group_public_key, commitments, msg)
    R = compute_group_commitment(commitments, rho)
    c = compute_challenge(R, group_public_key, msg)
    lam = lagrange_coefficient(ids, identifier)
    expected = mine.hiding + mine.binding * rho[identifier] + public_share * (c * lam % N)
    return base_mul(sig_share) == expected


def aggregate(
    commitments: Sequence[Commitment],
    msg: bytes,
    group_public_key: Element,
    sig_shares: Mapping[int, int],
    public_shares: Mapping[int, Element] | None = None,
) -> Signature:
    """Sum the shares into ``(R, z)``; with ``public_shares`` every share is checked first.

    Raises:
        InvalidShare: a share failed verification (``culprit`` names its sender).
        FrostError: shares and commitments do not match.
    """
    ids = sorted(c.identifier for c in commitments)
    if sorted(sig_shares) != ids:
        raise FrostError(f"shares from {sorted(sig_shares)} but commitments from {ids}")
    if public_shares is not None:
        for i in ids:
            if i not in public_shares or not verify_signature_share(
                i, public_shares[i], sig_shares[i], commitments, group_public_key, msg
            ):
                raise InvalidShare(i, "signature share")
    rho = compute_binding_factors(group_public_key, commitments, msg)
    R = compute_group_commitment(commitments, rho)
    return Signature(R, sum(sig_shares.values()) % N)


@dataclass(frozen=True)
class SigningContext:
    """What every share of one signing package shares: binding factors, R, the challenge and
    the participant list (computed once instead of once per share)."""

    commitments: tuple[Commitment, ...]
    group_public_key: Element
    ids: tuple[int, ...]
    rho: dict[int, int]
    R: Element
    challenge: int

    @classmethod
    def of(
        cls, commitments: Sequence[Commitment], group_public_key: Element, msg: bytes
    ) -> SigningContext:
        ordered = _sorted_list(commitments)
        rho = compute_binding_factors(group_public_key, ordered, msg)
        R = compute_group_commitment(ordered, rho)
        return cls(
            tuple(ordered),
            group_public_key,
            tuple(c.identifier for c in ordered),
            rho,
            R,
            compute_challenge(R, group_public_key, msg),
        )

    def share(self, share: KeyShare, nonces: Nonces) -> int:
        """``sign`` for one participant of this package."""
        if share.identifier not in self.ids:
            raise FrostError(f"participant {share.identifier} is not in the signing package")
        lam = lagrange_coefficient(list(self.ids), share.identifier)
        i = share.identifier
        return (
            nonces.hiding + nonces.binding * self.rho[i] + lam * share.secret * self.challenge
        ) % N

    def verify_share(self, identifier: int, public_share: Element, sig_share: int) -> bool:
        """``verify_signature_share`` against this package."""
        mine = next((c for c in self.commitments if c.identifier == identifier), None)
        if mine is None or not 0 <= sig_share < N:
            return False
        lam = lagrange_coefficient(list(self.ids), identifier)
        expected = (
            mine.hiding
            + mine.binding * self.rho[identifier]
            + public_share * (self.challenge * lam % N)
        )
        return base_mul(sig_share) == expected

    def aggregate(self, sig_shares: Mapping[int, int]) -> Signature:
        """``(R, sum z_i)``.

        Raises:
            FrostError: the shares are not exactly this package's participants.
        """
        if sorted(sig_shares) != list(self.ids):
            raise FrostError(
                f"shares from {sorted(sig_shares)} but commitments from {list(self.ids)}"
            )
        return Signature(self.R, sum(sig_shares.values()) % N)


def verify(sig: Signature, group_public_key: Element, msg: bytes) -> bool:
    """RFC 9591 section 6: ``z G == R + c PK`` (secp256k1 has cofactor 1)."""
    if sig.R.is_identity or not 0 <= sig.z < N:
        return False
    c = compute_challenge(sig.R, group_public_key, msg)
    return base_mul(sig.z) == sig.R + group_public_key * c


def to_l1_signature(sig: Signature) -> bytes:
    """The 96-byte form ``FrostVerifier.sol`` takes: ``R.x || R.y || z`` (32 bytes each)."""
    x, y = sig.R.xy()
    return x.to_bytes(32, "big") + y.to_bytes(32, "big") + serialize_scalar(sig.z)
