"""The secp256k1 group as RFC 9591 section 6.5 uses it.

Scalars are ints mod :data:`N`, encoded as 32 bytes big-endian (``SerializeScalar``).
Elements are :class:`Element` values: the identity, or a point encoded SEC1-compressed in 33
bytes (``SerializeElement``; the identity has no encoding and is refused on input).
Point arithmetic uses libsecp256k1 through coincurve.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from coincurve import PublicKey

from offchain.staking.frost.errors import FrostError

#: Group order of secp256k1.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Field prime of secp256k1.
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
#: Bytes of an encoded scalar / element.
SCALAR_LEN = 32
ELEMENT_LEN = 33


@dataclass(frozen=True)
class Element:
    """A point of secp256k1, or the identity (``key is None``)."""

    key: PublicKey | None

    @classmethod
    def identity(cls) -> Element:
        return cls(None)

    @property
    def is_identity(self) -> bool:
        return self.key is None

    def __add__(self, other: Element) -> Element:
        if self.key is None:
            return other
        if other.key is None:
            return self
        try:
            return Element(PublicKey.combine_keys([self.key, other.key]))
        except ValueError:  # P + (-P)
            return Element(None)

    def __mul__(self, k: int) -> Element:
        k %= N
        if k == 0 or self.key is None:
            return Element(None)
        return Element(self.key.multiply(k.to_bytes(32, "big")))

    __rmul__ = __mul__

    def __neg__(self) -> Element:
        return self * (N - 1)

    def __sub__(self, other: Element) -> Element:
        return self + (-other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Element):
            return NotImplemented
        if self.key is None or other.key is None:
            return self.key is None and other.key is None
        return self.key.format() == other.key.format()

    def __hash__(self) -> int:
        return hash(b"" if self.key is None else self.key.format())

    def xy(self) -> tuple[int, int]:
        """Affine coordinates.

        Raises:
            FrostError: the identity has none.
        """
        if self.key is None:
            raise FrostError("the identity element has no coordinates")
        return self.key.point()

    def __repr__(self) -> str:
        return "Element(identity)" if self.key is None else f"Element({self.key.format().hex()})"


def base_mul(k: int) -> Element:
    """``k * G``."""
    k %= N
    if k == 0:
        return Element(None)
    return Element(PublicKey.from_secret(k.to_bytes(32, "big")))


def serialize_element(e: Element) -> bytes:
    """SEC1 compressed encoding (33 bytes).

    Raises:
        FrostError: ``e`` is the identity.
    """
    if e.key is None:
        raise FrostError("the identity element cannot be serialized")
    return e.key.format(compressed=True)


def deserialize_element(data: bytes) -> Element:
    """Inverse of :func:`serialize_element`; refuses anything that is not a valid point.

    Raises:
        FrostError: wrong length, not on the curve, or the identity.
    """
    if len(data) != ELEMENT_LEN or data[0] not in (2, 3):
        raise FrostError(f"an element is 33 bytes starting 02 or 03, got {len(data)} bytes")
    try:
        return Element(PublicKey(data))
    except ValueError as e:
        raise FrostError(f"not a point of secp256k1: {data.hex()}") from e


def element_from_xy(x: int, y: int) -> Element:
    """The point with affine coordinates (x, y).

    Raises:
        FrostError: not on the curve.
    """
    if not (0 <= x < P and 0 <= y < P) or (y * y - x * x * x - 7) % P != 0:
        raise FrostError("point is not on secp256k1")
    return Element(PublicKey.from_point(x, y))


def serialize_scalar(k: int) -> bytes:
    """32 bytes big-endian."""
    return (k % N).to_bytes(SCALAR_LEN, "big")


def deserialize_scalar(data: bytes) -> int:
    """Inverse of :func:`serialize_scalar`; refuses values >= N.

    Raises:
        FrostError: wrong length or out of range.
    """
    if len(data) != SCALAR_LEN:
        raise FrostError(f"a scalar is 32 bytes, got {len(data)}")
    k = int.from_bytes(data, "big")
    if k >= N:
        raise FrostError("scalar is not reduced mod the group order")
    return k


def random_scalar() -> int:
    """A uniformly random non-zero scalar."""
    return secrets.randbelow(N - 1) + 1


def inverse(k: int) -> int:
    """``k^-1 mod N``.

    Raises:
        FrostError: ``k`` is zero mod N.
    """
    if k % N == 0:
        raise FrostError("zero has no inverse")
    return pow(k, -1, N)
