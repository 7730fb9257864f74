"""JSON encodings of FROST peer messages, their ECDSA authentication, and share encryption.

Elements and scalars travel as 0x-hex of their RFC 9591 encodings. A DKG / resharing round-one
package is signed (65-byte ECDSA, no prefix) by the dealer's sequencer key over
``keccak256(canonical JSON of the package without "signature")``, so the coordinator relaying it
cannot alter it, and carries the dealer's public key (checked against the signer address the
allocation names) for share encryption.

A secret share to identifier ``i`` is encrypted to its holder's public key: an ephemeral key
``e``, ``k = SHA-256(ECDH(e, holder) || session || dealer || i)``, ciphertext ``share XOR
SHA-256(k || "enc")`` and tag ``HMAC-SHA-256(SHA-256(k || "mac"), ciphertext)``
(``ephemeral(33) || ciphertext(32) || tag(32)``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from coincurve import PrivateKey, PublicKey

from offchain.common.hashing import keccak
from offchain.staking.frost.dkg import DealerRound1
from offchain.staking.frost.errors import FrostError
from offchain.staking.frost.group import (
    Element,
    deserialize_element,
    deserialize_scalar,
    serialize_element,
    serialize_scalar,
)
from offchain.staking.frost.signing import Commitment, Signature
from offchain.staking.signatures import recover_signer, sign_digest


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def unhex(value: object, what: str, length: int | None = None) -> bytes:
    """Bytes of a 0x-hex string.

    Raises:
        FrostError: not hex, or not ``length`` bytes.
    """
    if not isinstance(value, str):
        raise FrostError(f"{what} must be a 0x-hex string")
    try:
        data = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise FrostError(f"{what} is not hex") from None
    if length is not None and len(data) != length:
        raise FrostError(f"{what} must be {length} bytes, got {len(data)}")
    return data


def element_hex(e: Element) -> str:
    return hx(serialize_element(e))


def element_of(value: object, what: str) -> Element:
    return deserialize_element(unhex(value, what, 33))


def scalar_hex(k: int) -> str:
    return hx(serialize_scalar(k))


def scalar_of(value: object, what: str) -> int:
    return deserialize_scalar(unhex(value, what, 32))


def commitment_json(c: Commitment) -> dict[str, Any]:
    return {
        "identifier": c.identifier,
        "hiding": element_hex(c.hiding),
        "binding": element_hex(c.binding),
    }


def commitment_of(doc: object) -> Commitment:
    """Raises: FrostError on a malformed commitment."""
    if not isinstance(doc, dict) or not isinstance(doc.get("identifier"), int):
        raise FrostError("a commitment is {identifier, hiding, binding}")
    return Commitment(
        doc["identifier"],
        element_of(doc.get("hiding"), "hiding"),
        element_of(doc.get("binding"), "binding"),
    )


def _canonical(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def signed_package(
    session: str, dealer: int, r1: DealerRound1, key: bytes, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A round-one package signed by the dealer's sequencer key (32-byte private key)."""
    doc: dict[str, Any] = {
        "session": session,
        "dealer": dealer,
        "commitment": [element_hex(c) for c in r1.commitment],
        "pok": hx(r1.pok.encode()) if r1.pok is not None else None,
        "public_key": hx(PrivateKey(key).public_key.format(compressed=True)),
        **(extra or {}),
    }
    doc["signature"] = hx(sign_digest(key, keccak(_canonical(doc))))
    return doc


def package_of(doc: object, session: str, signer: str) -> tuple[DealerRound1, bytes]:
    """Check a signed package from ``signer`` for ``session``; returns it and the dealer's
    public key.

    Raises:
        FrostError: malformed, wrong session, or not signed by ``signer``.
    """
    if not isinstance(doc, dict):
        raise FrostError("a package is a JSON object")
    if doc.get("session") != session:
        raise FrostError(f"package for session {doc.get('session')!r}, expected {session!r}")
    dealer = doc.get("dealer")
    comm = doc.get("commitment")
    if not isinstance(dealer, int) or not isinstance(comm, list) or not comm:
        raise FrostError("a package has an integer dealer and a non-empty commitment")
    sig = unhex(doc.get("signature"), "signature", 65)
    try:
        who = recover_signer(keccak(_canonical(doc)), sig)
    except Exception as e:  # noqa: BLE001 - StakingError or coincurve
        raise FrostError(f"bad package signature: {e}") from e
    if who.lower() != signer.lower():
        raise FrostError(f"package of dealer {dealer} signed by {who}, expected {signer}")
    pub = unhex(doc.get("public_key"), "public_key", 33)
    if keccak(PublicKey(pub).format(compressed=False)[1:])[-20:].hex() != signer.lower()[2:]:
        raise FrostError(f"public key of dealer {dealer} is not {signer}'s")
    pok = doc.get("pok")
    return (
        DealerRound1(
            dealer,
            tuple(element_of(c, "commitment") for c in comm),
            Signature.decode(unhex(pok, "pok", 65)) if pok is not None else None,
        ),
        pub,
    )


def _keys(shared: bytes, session: str, dealer: int, identifier: int) -> tuple[bytes, bytes]:
    k = hashlib.sha256(
        shared + session.encode() + dealer.to_bytes(8, "big") + identifier.to_bytes(8, "big")
    ).digest()
    return hashlib.sha256(k + b"enc").digest(), hashlib.sha256(k + b"mac").digest()


def encrypt_share(share: int, recipient: bytes, session: str, dealer: int, identifier: int) -> str:
    """Encrypt ``share`` to the holder's compressed public key ``recipient``."""
    eph = PrivateKey(secrets.token_bytes(32))
    shared = eph.ecdh(recipient)
    enc, mac = _keys(shared, session, dealer, identifier)
    ct = bytes(a ^ b for a, b in zip(serialize_scalar(share), enc, strict=True))
    tag = hmac.new(mac, ct, hashlib.sha256).digest()
    return hx(eph.public_key.format(compressed=True) + ct + tag)


def decrypt_share(blob: object, key: bytes, session: str, dealer: int, identifier: int) -> int:
    """Inverse of :func:`encrypt_share` with the holder's private key.

    Raises:
        FrostError: malformed or the tag does not match (tampered / not for this holder).
    """
    data = unhex(blob, "encrypted share", 97)
    try:
        shared = PrivateKey(key).ecdh(data[:33])
    except ValueError as e:
        raise FrostError(f"bad ephemeral key: {e}") from e
    enc, mac = _keys(shared, session, dealer, identifier)
    if not hmac.compare_digest(hmac.new(mac, data[33:65], hashlib.sha256).digest(), data[65:]):
        raise FrostError(f"encrypted share from dealer {dealer} for {identifier} fails its tag")
    return deserialize_scalar(bytes(a ^ b for a, b in zip(data[33:65], enc, strict=True)))
