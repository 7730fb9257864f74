"""RFC 9591 (appendix E.5) and Zcash Foundation vectors for FROST(secp256k1, SHA-256).

Every intermediate value of each vector is recomputed from its inputs: the shares from the
polynomial, nonces from the randomness, commitments, binding factor inputs and factors,
signature shares, the aggregate signature, and the DKG's proofs of knowledge and shares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offchain.staking.frost import dkg
from offchain.staking.frost.group import (
    base_mul,
    deserialize_element,
    serialize_element,
    serialize_scalar,
)
from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen, vss_commit
from offchain.staking.frost.signing import (
    Commitment,
    Nonces,
    Signature,
    aggregate,
    binding_factor_input,
    compute_binding_factors,
    nonce_generate,
    sign,
    verify,
    verify_signature_share,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "vectors" / "frost_secp256k1.json").read_text()
)
SIGNING = sorted(VECTORS["signing"])


def _i(h: str) -> int:
    return int(h, 16)


@pytest.mark.parametrize("name", SIGNING)
def test_vector_keygen_shares(name: str) -> None:
    v = VECTORS["signing"][name]["inputs"]
    secret = _i(v["group_secret_key"])
    coeffs = [_i(c) for c in v["share_polynomial_coefficients"]]
    max_id = max(s["identifier"] for s in v["participant_shares"])
    shares, commitment = trusted_dealer_keygen(secret, max_id, len(coeffs) + 1, coeffs)
    assert serialize_element(base_mul(secret)).hex() == v["group_public_key"]
    assert serialize_element(commitment[0]).hex() == v["group_public_key"]
    by_id = {s.identifier: s.secret for s in shares}
    for s in v["participant_shares"]:
        assert serialize_scalar(by_id[s["identifier"]]).hex() == s["participant_share"]


def _signing_state(
    name: str,
) -> tuple[dict[str, Any], list[KeyShare], list[Commitment], dict[int, Nonces]]:
    vec = VECTORS["signing"][name]
    inp = vec["inputs"]
    pk = deserialize_element(bytes.fromhex(inp["group_public_key"]))
    shares = {s["identifier"]: _i(s["participant_share"]) for s in inp["participant_shares"]}
    signers = [KeyShare(i, shares[i], pk) for i in inp["participant_list"]]
    commitments: list[Commitment] = []
    nonces: dict[int, Nonces] = {}
    for out, ks in zip(vec["round_one_outputs"], signers, strict=True):
        assert out["identifier"] == ks.identifier
        hn = nonce_generate(ks.secret, bytes.fromhex(out["hiding_nonce_randomness"]))
        bn = nonce_generate(ks.secret, bytes.fromhex(out["binding_nonce_randomness"]))
        assert serialize_scalar(hn).hex() == out["hiding_nonce"]
        assert serialize_scalar(bn).hex() == out["binding_nonce"]
        c = Commitment(ks.identifier, base_mul(hn), base_mul(bn))
        assert serialize_element(c.hiding).hex() == out["hiding_nonce_commitment"]
        assert serialize_element(c.binding).hex() == out["binding_nonce_commitment"]
        commitments.append(c)
        nonces[ks.identifier] = Nonces(hn, bn)
    return vec, signers, commitments, nonces


@pytest.mark.parametrize("name", SIGNING)
def test_vector_round_one_binding_factors(name: str) -> None:
    vec, signers, commitments, _ = _signing_state(name)
    msg = bytes.fromhex(vec["inputs"]["message"])
    pk = signers[0].group_public_key
    rho = compute_binding_factors(pk, commitments, msg)
    for out in vec["round_one_outputs"]:
        i = out["identifier"]
        assert binding_factor_input(pk, commitments, msg, i).hex() == out["binding_factor_input"]
        assert serialize_scalar(rho[i]).hex() == out["binding_factor"]


@pytest.mark.parametrize("name", SIGNING)
def test_vector_round_two_and_aggregate(name: str) -> None:
    vec, signers, commitments, nonces = _signing_state(name)
    msg = bytes.fromhex(vec["inputs"]["message"])
    pk = signers[0].group_public_key
    z = {ks.identifier: sign(ks, nonces[ks.identifier], msg, commitments) for ks in signers}
    for out in vec["round_two_outputs"]:
        assert serialize_scalar(z[out["identifier"]]).hex() == out["sig_share"]
    for ks in signers:
        assert verify_signature_share(
            ks.identifier, ks.public, z[ks.identifier], commitments, pk, msg
        )
    publics = {ks.identifier: ks.public for ks in signers}
    sig = aggregate(commitments, msg, pk, z, publics)
    assert sig.encode().hex() == vec["sig"]
    assert verify(Signature.decode(bytes.fromhex(vec["sig"])), pk, msg)
    assert not verify(sig, pk, msg + b"\x00")


def test_vector_dkg_proofs_and_shares() -> None:
    """The ZF DKG vector: our PoK check accepts theirs, shares and keys match."""
    v = VECTORS["dkg"]["inputs"]
    ids = [k for k in v if k != "verifying_key"]
    parts = {int(k): v[k] for k in ids}
    commitments: dict[int, list[Any]] = {}
    for i, p in parts.items():
        coeffs = [_i(p["signing_key"]), _i(p["coefficient"])]
        commitment = vss_commit(coeffs)
        assert [serialize_element(c).hex() for c in commitment] == p["vss_commitments"]
        pok = Signature.decode(bytes.fromhex(p["proof_of_knowledge"]))
        dkg.verify_proof_of_knowledge(i, commitment, pok)  # raises on failure
        # Our own proof for the same coefficients verifies too.
        dkg.verify_proof_of_knowledge(
            i, commitment, dkg.proof_of_knowledge(i, coeffs[0], commitment)
        )
        commitments[i] = commitment
    coeffs_of = {i: [_i(p["signing_key"]), _i(p["coefficient"])] for i, p in parts.items()}
    for i, p in parts.items():
        # signing_shares[j] is what participant i received from dealer j: f_j(i).
        for j, share in p["signing_shares"].items():
            assert serialize_scalar(dkg.share_for(coeffs_of[int(j)], i)).hex() == share
        received = {int(j): _i(s) for j, s in p["signing_shares"].items()}
        own = dkg.share_for([_i(p["signing_key"]), _i(p["coefficient"])], i)
        secret = dkg.combine_received(i, own, received, commitments)
        assert serialize_scalar(secret).hex() == p["signing_share"]
        assert serialize_element(base_mul(secret)).hex() == p["verifying_share"]
    assert serialize_element(dkg.group_key(commitments)).hex() == v["verifying_key"]
