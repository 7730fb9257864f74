"""Pedersen DKG with proofs of knowledge, and resharing that keeps the group key.

Dealers are sequencers; recipients are share identifiers (a sequencer holds as many
identifiers as its stake weight gives it, see :mod:`weights`). Every message is a plain
dataclass the peer protocol serializes; the checks here are what a recipient runs on it.

DKG (Komlo-Goldberg / RFC 9591's companion in the Zcash Foundation's implementation):

1. Each dealer ``d`` draws ``f_d`` of degree ``t - 1``, broadcasts its Feldman commitment
   ``C_d = [a_{d,k} G]`` and a Schnorr proof of knowledge of ``a_{d,0}``:
   ``R = k G``, ``mu = k + a_{d,0} c`` with
   ``c = HDKG(SerializeScalar(d) || SerializeElement(C_{d,0}) || SerializeElement(R))``.
2. It sends ``f_d(i)`` to the holder of each identifier ``i``.
3. A holder checks every proof and every share against its dealer's commitment; a failure is
   a complaint naming the dealer (:class:`~offchain.staking.frost.errors.InvalidShare`).
4. ``s_i = sum_d f_d(i)``; group key ``PK = sum_d C_{d,0}``; anyone derives every verifying
   share ``PK_i = sum_d C_d(i)``.

Resharing from a signing quorum ``Q`` of old identifiers to a new identifier set with a new
threshold: each old holder ``i in Q`` deals ``g_i`` with constant term ``lambda_i^Q s_i``; its
commitment's constant term must equal ``lambda_i^Q PK_i`` (public), so no dealer can move the
secret; new shares ``s'_j = sum_i g_i(j)`` interpolate to the same secret, so ``PK`` is
unchanged and the old shares (a different polynomial) no longer combine with the new ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from offchain.staking.frost.errors import FrostError, InvalidShare
from offchain.staking.frost.group import (
    Element,
    N,
    base_mul,
    random_scalar,
    serialize_element,
    serialize_scalar,
)
from offchain.staking.frost.hashing import hdkg
from offchain.staking.frost.keygen import (
    eval_poly,
    lagrange_coefficient,
    random_polynomial,
    vss_commit,
    vss_evaluate,
)
from offchain.staking.frost.signing import Signature


def _pok_challenge(dealer: int, c0: Element, R: Element) -> int:
    return hdkg(serialize_scalar(dealer) + serialize_element(c0) + serialize_element(R))


def proof_of_knowledge(dealer: int, secret: int, commitment: Sequence[Element]) -> Signature:
    """Schnorr proof that ``dealer`` knows the discrete log of ``commitment[0]``."""
    k = random_scalar()
    R = base_mul(k)
    c = _pok_challenge(dealer, commitment[0], R)
    return Signature(R, (k + secret * c) % N)


def verify_proof_of_knowledge(dealer: int, commitment: Sequence[Element], pok: Signature) -> None:
    """``R == mu G - c C_0``.

    Raises:
        InvalidShare: the proof does not verify (``culprit`` is ``dealer``).
    """
    if not commitment or commitment[0].is_identity:
        raise InvalidShare(dealer, "commitment (empty or identity constant term)")
    c = _pok_challenge(dealer, commitment[0], pok.R)
    if base_mul(pok.z) - commitment[0] * c != pok.R:
        raise InvalidShare(dealer, "proof of knowledge")


def share_for(coefficients: Sequence[int], identifier: int) -> int:
    """``f(identifier)``."""
    if identifier % N == 0:
        raise FrostError("identifier 0 would reveal the secret")
    return eval_poly(coefficients, identifier)


@dataclass(frozen=True)
class DealerRound1:
    """A dealer's broadcast: commitment and (for a DKG) proof of knowledge."""

    dealer: int
    commitment: tuple[Element, ...]
    pok: Signature | None


@dataclass
class Dealing:
    """A dealer's secret state: its polynomial, broadcast and the shares to send."""

    coefficients: list[int]
    round1: DealerRound1

    def share_for(self, identifier: int) -> int:
        return share_for(self.coefficients, identifier)


def deal(dealer: int, threshold: int, secret: int | None = None) -> Dealing:
    """Round one of a DKG (``secret`` None: a random one) or of a resharing (the weighted share)."""
    coeffs = random_polynomial(random_scalar() if secret is None else secret, threshold)
    commitment = tuple(vss_commit(coeffs))
    pok = proof_of_knowledge(dealer, coeffs[0], commitment) if secret is None else None
    return Dealing(coeffs, DealerRound1(dealer, commitment, pok))


def check_round1(packages: Mapping[int, DealerRound1], threshold: int) -> None:
    """Every DKG dealer's commitment has ``threshold`` terms and a valid proof of knowledge.

    Raises:
        InvalidShare: names the first dealer whose package is wrong.
    """
    for d in sorted(packages):
        p = packages[d]
        if p.dealer != d or len(p.commitment) != threshold:
            raise InvalidShare(d, f"commitment ({len(p.commitment)} terms, need {threshold})")
        if p.pok is None:
            raise InvalidShare(d, "package without proof of knowledge")
        verify_proof_of_knowledge(d, p.commitment, p.pok)


def combine_received(
    identifier: int,
    own: int | None,
    received: Mapping[int, int],
    commitments: Mapping[int, Sequence[Element]],
) -> int:
    """Check each dealer's share for ``identifier`` and sum them into the new secret share.

    Args:
        identifier: the recipient identifier.
        own: this recipient's share of its own dealing (its dealer id must not be in
            ``received``), or None if it dealt nothing.
        received: dealer -> ``f_d(identifier)``.
        commitments: dealer -> commitment (every dealer, including this one).

    Raises:
        InvalidShare: a share does not match its dealer's commitment (the complaint).
        FrostError: a dealer's share is missing.
    """
    total = 0
    shares = dict(received)
    if own is not None:
        mine = [d for d in commitments if d not in received]
        if len(mine) != 1:
            raise FrostError(f"cannot tell which dealer is this participant: {mine}")
        shares[mine[0]] = own
    missing = sorted(set(commitments) - set(shares))
    if missing:
        raise FrostError(f"no share for identifier {identifier} from dealers {missing}")
    # One check of the sum against the summed commitment; per dealer only if it fails.
    summed = _sum_commitments(commitments)
    total = sum(shares.values()) % N
    if base_mul(total) != vss_evaluate(summed, identifier):
        for d in sorted(shares):
            if base_mul(shares[d]) != vss_evaluate(commitments[d], identifier):
                raise InvalidShare(d, f"share for identifier {identifier}")
        raise FrostError("shares do not match the commitments")  # unreachable
    return total


def _sum_commitments(commitments: Mapping[int, Sequence[Element]]) -> list[Element]:
    width = max(len(c) for c in commitments.values())
    out = [Element.identity()] * width
    for c in commitments.values():
        for k, e in enumerate(c):
            out[k] = out[k] + e
    return out


def group_key(commitments: Mapping[int, Sequence[Element]]) -> Element:
    """``sum_d C_{d,0}``."""
    acc = Element.identity()
    for c in commitments.values():
        acc = acc + c[0]
    return acc


def verifying_shares(
    commitments: Mapping[int, Sequence[Element]], identifiers: Sequence[int]
) -> dict[int, Element]:
    """Every identifier's public share ``sum_d C_d(i)`` (from the public commitments alone)."""
    summed = _sum_commitments(commitments)
    return {i: vss_evaluate(summed, i) for i in identifiers}


def reshare_deal(
    identifier: int, secret: int, quorum: Sequence[int], new_threshold: int
) -> Dealing:
    """An old holder's resharing dealing: constant term ``lambda_identifier^quorum * secret``."""
    lam = lagrange_coefficient(list(quorum), identifier)
    return deal(identifier, new_threshold, lam * secret % N)


def check_reshare_round1(
    packages: Mapping[int, DealerRound1],
    old_public: Mapping[int, Element],
    old_threshold: int,
    new_threshold: int,
) -> None:
    """The dealers form an old quorum and each dealt exactly its weighted old share.

    Args:
        packages: old identifier -> its resharing commitment.
        old_public: old identifier -> old verifying share ``PK_i``.
        old_threshold: the old threshold (the quorum needs at least this many).
        new_threshold: terms each commitment must have.

    Raises:
        FrostError: fewer than ``old_threshold`` dealers.
        InvalidShare: a dealer's constant term is not ``lambda_i PK_i`` (it tried to move
            the secret) or its commitment has the wrong size.
    """
    quorum = sorted(packages)
    if len(quorum) < old_threshold:
        raise FrostError(f"resharing needs {old_threshold} old shares, got {len(quorum)}")
    for i in quorum:
        p = packages[i]
        if len(p.commitment) != new_threshold:
            raise InvalidShare(i, f"commitment ({len(p.commitment)} terms, need {new_threshold})")
        if i not in old_public:
            raise InvalidShare(i, "resharing dealing from an identifier outside the old set")
        if p.commitment[0] != old_public[i] * lagrange_coefficient(quorum, i):
            raise InvalidShare(i, "resharing commitment (constant term is not lambda_i PK_i)")
