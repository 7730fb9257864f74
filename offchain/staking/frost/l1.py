"""What the SequencerSet contract needs from FROST: the even-y group key, the key-installation
digest the set signs with ECDSA, and the 96-byte signature form of ``FrostVerifier.sol``.

``SequencerSet`` stores only the key's x coordinate and requires an even y. A key generation
that ends with an odd-y key negates every share (``s_i -> n - s_i``): the shares then share
``-PK``, which has the same x and an even y (:func:`make_even`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from offchain.common.hashing import keccak
from offchain.staking.frost.group import Element, N
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.signing import Signature, aggregate, commit, sign, to_l1_signature

GROUP_KEY_TAG = keccak(b"l2kit.SequencerSet.groupKey")


def is_even(pk: Element) -> bool:
    """True if the key's y coordinate is even (the form SequencerSet accepts)."""
    return pk.xy()[1] % 2 == 0


def make_even(pk: Element, secrets: Mapping[int, int]) -> tuple[Element, dict[int, int]]:
    """The even-y form of a key and its shares (negated together when y is odd)."""
    if is_even(pk):
        return pk, dict(secrets)
    return -pk, {i: (N - s) % N for i, s in secrets.items()}


def group_key_digest(chain_id: int, sequencer_set: str, version: int, x: int) -> bytes:
    """``SequencerSet.groupKeyDigest(x)`` at ``groupKeyVersion == version``:
    ``keccak256(abi.encode(GROUP_KEY_TAG, chainid, sequencerSet, version, x))``."""
    return keccak(
        abi_encode(
            ["bytes32", "uint256", "address", "uint256", "uint256"],
            [GROUP_KEY_TAG, chain_id, to_checksum_address(sequencer_set), version, x],
        )
    )


def sign_locally(shares: Sequence[KeyShare], msg: bytes) -> Signature:
    """Both FROST rounds among ``shares`` held in this process (tests, benchmarks, demo)."""
    rounds = [commit(ks) for ks in shares]
    commitments = [c for _, c in rounds]
    z = {
        ks.identifier: sign(ks, n, msg, commitments)
        for ks, (n, _) in zip(shares, rounds, strict=True)
    }
    publics = {ks.identifier: ks.public for ks in shares}
    return aggregate(commitments, msg, shares[0].group_public_key, z, publics)


def l1_signature(shares: Sequence[KeyShare], digest: bytes) -> bytes:
    """One 96-byte FROST signature of ``digest`` for ``verifyBatchSignatures``."""
    return to_l1_signature(sign_locally(shares, digest))
