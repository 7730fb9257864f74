"""What the SequencerSet contract needs from FROST: the even-y group key, the key-installation
digest the set signs with ECDSA, and the 96-byte signature form of ``FrostVerifier.sol``.

``SequencerSet`` stores only the key's x coordinate and requires an even y. A key generation
that ends with an odd-y key negates every share (``s_i -> n - s_i``): the shares then share
``-PK``, which has the same x and an even y (:func:`make_even`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from offchain.chain.accounts import dev_account
from offchain.common.hashing import keccak
from offchain.staking.frost.group import Element, N, random_scalar
from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen
from offchain.staking.frost.signing import Signature, aggregate, commit, sign, to_l1_signature
from offchain.staking.frost.weights import allocate
from offchain.staking.signatures import active_stakes, order_signatures, sign_digest, stake_quorum

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


def install_dealt_key(
    chain: Any, seqset: Any, keys: Mapping[Any, Any], stakes: Mapping[str, int]
) -> list[KeyShare]:
    """Give the set a FROST group key the way a devnet gets one, minus the HTTP rounds (tests,
    benchmarks, the L1-only demo scene): shares by stake (one per minimum lock, capped at 4), a
    dealt key (the DKG's output has the same form), installed by ``installGroupKey`` with the
    ECDSA approvals of the first signers (by address) holding more than 2/3 of the active
    stake (the one use of an ECDSA list), sent by dev account 0.

    Args:
        chain: the L1 connection.
        seqset: the SequencerSet contract.
        keys: signer address -> its account (every active sequencer).
        stakes: signer address -> active stake (wei).

    Returns:
        A threshold of shares (lowest identifiers), enough for :func:`l1_signature`.
    """
    alloc = allocate(dict(stakes))
    dealt, _ = trusted_dealer_keygen(random_scalar(), alloc.total, alloc.threshold)
    pk, secrets = make_even(dealt[0].group_public_key, {d.identifier: d.secret for d in dealt})
    x, y = pk.xy()
    version = int(seqset.functions.groupKeyVersion().call())
    kd = group_key_digest(chain.chain_id, seqset.address, version, x)
    by = {str(a): acct for a, acct in keys.items()}
    quorum = stake_quorum(active_stakes(seqset), sorted(by, key=lambda a: int(a, 16)))
    approvals = order_signatures({a: sign_digest(by[a], kd) for a in quorum})
    chain.sender(dev_account(0)).send(seqset.functions.installGroupKey(x, y, approvals))
    return [KeyShare(i, secrets[i], pk) for i in alloc.all_identifiers()[: alloc.threshold]]
