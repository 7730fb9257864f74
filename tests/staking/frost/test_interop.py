"""Interoperability with the Zcash Foundation's FROST (PyPI ``frost-rs`` binds frost-secp256k1).

Keys come from frost-rs's own DKG; signatures made by one implementation verify under the
other, and our aggregator accepts (and checks) frost-rs signature shares.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from offchain.staking.frost.group import N, deserialize_element, deserialize_scalar
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.signing import (
    Commitment,
    Signature,
    aggregate,
    commit,
    sign,
    verify,
    verify_signature_share,
)

frost_rs: Any = pytest.importorskip("frost_rs")
zf: Any = frost_rs.utility_secp256k1


def _b(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _zf_dkg(t: int, n: int) -> tuple[list[str], dict[str, str], str]:
    ids = [zf.get_id() for _ in range(n)]
    r1s, r1p, r2s, r2p = {}, {}, {}, {}
    for i in ids:
        r1s[i], r1p[i] = zf.round1(i, t, n)
    for i in ids:
        r2s[i], r2p[i] = zf.round2(r1s[i], {k: v for k, v in r1p.items() if k != i})
    kp: dict[str, str] = {}
    pp = ""
    for i in ids:
        others = {k: v for k, v in r1p.items() if k != i}
        kp[i], pp = zf.round3(r2s[i], others, {k: v[i] for k, v in r2p.items() if i in v})
    return ids, kp, pp


def _key_share(key_package: str) -> KeyShare:
    # postcard KeyPackage: header(5) identifier(32) signing_share(32) verifying_share(33)
    # verifying_key(33) min_signers
    raw = _b(key_package)
    return KeyShare(
        int.from_bytes(raw[5:37], "big"),
        deserialize_scalar(raw[37:69]),
        deserialize_element(raw[102:135]),
    )


def test_zf_signature_verifies_under_ours() -> None:
    ids, kp, pp = _zf_dkg(3, 5)
    signers = ids[:3]
    nonces, comms = {}, {}
    for i in signers:
        nonces[i], comms[i] = zf.preprocess(kp[i])
    msg = b"l2kit interop: zf -> ours"
    shares = {i: zf.sign(msg, comms, nonces[i], kp[i]) for i in signers}
    sig = _b(zf.aggregate(msg, comms, shares, pp))
    pk = _key_share(kp[ids[0]]).group_public_key
    assert verify(Signature.decode(sig), pk, msg)
    assert not verify(Signature.decode(sig), pk, msg + b"!")

    # Their commitments and shares pass our share checks and our aggregation.
    ours = {}
    for i in signers:
        raw = _b(comms[i])  # header(5) hiding(33) binding(33)
        ks = _key_share(kp[i])
        ours[i] = (
            ks,
            Commitment(
                ks.identifier, deserialize_element(raw[5:38]), deserialize_element(raw[38:71])
            ),
        )
    commitments = [c for _, c in ours.values()]
    z = {ours[i][0].identifier: deserialize_scalar(_b(shares[i])) for i in signers}
    for ks, _ in ours.values():
        assert verify_signature_share(
            ks.identifier, ks.public, z[ks.identifier], commitments, pk, msg
        )
    publics = {ks.identifier: ks.public for ks, _ in ours.values()}
    assert aggregate(commitments, msg, pk, z, publics).encode() == sig


def test_our_signature_verifies_under_zf() -> None:
    ids, kp, pp = _zf_dkg(3, 5)
    signers = [_key_share(kp[i]) for i in ids[1:4]]
    msg = b"l2kit interop: ours -> zf"
    rounds = [commit(ks) for ks in signers]
    commitments = [c for _, c in rounds]
    z = {
        ks.identifier: sign(ks, n, msg, commitments)
        for ks, (n, _) in zip(signers, rounds, strict=True)
    }
    sig = aggregate(
        commitments,
        msg,
        signers[0].group_public_key,
        z,
        {ks.identifier: ks.public for ks in signers},
    )
    assert zf.verify(msg, pp, _e(sig.encode())) is True
    tampered = Signature(sig.R, (sig.z + 1) % N)
    assert zf.verify(msg, pp, _e(tampered.encode())) is False
