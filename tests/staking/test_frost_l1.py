"""The sequencer set's FROST group key on L1 (real SequencerSet on Anvil).

Attacker moves: install a key with too few set signatures, replay the installation, install
an odd or off-curve key, submit the ECDSA list for a batch (before or after a key), forge or
re-target a FROST signature, sign with fewer shares than the threshold.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from offchain.staking.config import TOKEN
from offchain.staking.frost.group import N, random_scalar
from offchain.staking.frost.keygen import KeyShare, trusted_dealer_keygen
from offchain.staking.frost.l1 import group_key_digest, is_even, l1_signature, make_even
from offchain.staking.signatures import batch_digest, reselect_digest, sign_digest

from .conftest import Staking


def _ecdsa(accounts, digest: bytes) -> list[bytes]:
    return [sign_digest(a, digest) for a in sorted(accounts, key=lambda a: int(a.address, 16))]


def _dealt(n: int, t: int) -> list[KeyShare]:
    shares, _ = trusted_dealer_keygen(random_scalar(), n, t)
    pk, secrets = make_even(shares[0].group_public_key, {s.identifier: s.secret for s in shares})
    return [KeyShare(i, s, pk) for i, s in secrets.items()]


def _install(st: Staking, seqs, shares: list[KeyShare]) -> dict:
    x, y = shares[0].group_public_key.xy()
    version = st.sset.functions.groupKeyVersion().call()
    digest = group_key_digest(st.chain.chain_id, st.sset.address, version, x)
    # 30k + 40k + 50k of 140k: more than 2/3 of the stake.
    rcpt = st.gov.send(st.sset.functions.installGroupKey(x, y, _ecdsa(seqs[1:], digest)))
    return dict(st.sset.events.GroupKeyInstalled().process_receipt(rcpt)[0]["args"])


def test_groupKeyNeedsTwoThirdsOfTheSet(st: Staking, seqs, expect_revert: Callable) -> None:
    shares = _dealt(4, 3)
    x, y = shares[0].group_public_key.xy()
    digest = group_key_digest(st.chain.chain_id, st.sset.address, 0, x)
    args = expect_revert(
        "SequencerSetNotEnoughSignatures",
        st.gov.send,
        st.sset.functions.installGroupKey(x, y, _ecdsa(seqs[:2], digest)),
    )
    assert list(args) == [50_000 * TOKEN, 140_000 * TOKEN]  # signed stake, active stake
    assert st.sset.functions.groupKeyX().call() == 0
    ev = _install(st, seqs, shares)
    assert ev["version"] == 1 and ev["x"] == x and ev["previousX"] == 0 and not ev["byGovernance"]
    assert st.sset.functions.groupKeyX().call() == x


def test_installSignaturesCannotBeReplayed(st: Staking, seqs, expect_revert) -> None:
    a, b = _dealt(4, 3), _dealt(4, 3)
    _install(st, seqs, a)
    _install(st, seqs, b)  # recovery: a new key, version 2
    xa, ya = a[0].group_public_key.xy()
    old = _ecdsa(seqs[1:], group_key_digest(st.chain.chain_id, st.sset.address, 0, xa))
    with pytest.raises(Exception):  # noqa: B017 - recovers to other addresses: not active / order
        st.gov.send(st.sset.functions.installGroupKey(xa, ya, old))
    assert st.sset.functions.groupKeyX().call() == b[0].group_public_key.xy()[0]


def test_oddOrOffCurveKeyRefused(st: Staking, seqs, expect_revert) -> None:
    shares = _dealt(4, 3)
    x, y = shares[0].group_public_key.xy()
    assert is_even(shares[0].group_public_key)
    for bad in ((x, (2**256 - 2**32 - 977) - y), (x, y + 2), (0, 0)):
        digest = group_key_digest(st.chain.chain_id, st.sset.address, 0, bad[0])
        got = expect_revert(
            "SequencerSetInvalidGroupKey",
            st.gov.send,
            st.sset.functions.installGroupKey(bad[0], bad[1], _ecdsa(seqs, digest)),
        )
        assert list(got) == list(bad)


def test_governanceRecoveryOnlyByOwner(st: Staking, seqs, expect_revert) -> None:
    shares = _dealt(4, 3)
    x, y = shares[0].group_public_key.xy()
    expect_revert(
        "OwnableUnauthorizedAccount", st.as_(seqs[0]).send, st.sset.functions.setGroupKey(x, y)
    )
    rcpt = st.gov.send(st.sset.functions.setGroupKey(x, y))
    ev = st.sset.events.GroupKeyInstalled().process_receipt(rcpt)[0]["args"]
    assert ev["byGovernance"] and st.sset.functions.groupKeyX().call() == x


def test_batchNeedsOneFrostSignatureOnceKeyExists(st: Staking, seqs, expect_revert) -> None:
    shares = _dealt(6, 5)
    digest = batch_digest(st.chain.chain_id, seqs[0].address, 7, b"\x42" * 32)
    # Before a key: nothing signs a batch, not even the whole set's ECDSA list.
    got = expect_revert(
        "SequencerSetNoGroupKey",
        st.sset.functions.verifyBatchSignatures(digest, _ecdsa(seqs, digest)).call,
    )
    assert list(got) == []
    _install(st, seqs, shares)
    # After: the full ECDSA list of the whole set is refused.
    got = expect_revert(
        "SequencerSetBadFrostSignature",
        st.sset.functions.verifyBatchSignatures(digest, _ecdsa(seqs, digest)).call,
    )
    assert list(got) == [4, 65]
    sig = l1_signature(shares[1:6], digest)
    st.sset.functions.verifyBatchSignatures(digest, [sig]).call()
    # The same signature for another batch, a tampered z, and two copies are refused.
    other = batch_digest(st.chain.chain_id, seqs[0].address, 8, b"\x42" * 32)
    x = shares[0].group_public_key.xy()[0]
    got = expect_revert(
        "SequencerSetInvalidFrostSignature",
        st.sset.functions.verifyBatchSignatures(other, [sig]).call,
    )
    assert list(got) == [other, x]
    z = (int.from_bytes(sig[64:], "big") + 1) % N
    expect_revert(
        "SequencerSetInvalidFrostSignature",
        st.sset.functions.verifyBatchSignatures(digest, [sig[:64] + z.to_bytes(32, "big")]).call,
    )
    expect_revert(
        "SequencerSetBadFrostSignature",
        st.sset.functions.verifyBatchSignatures(digest, [sig, sig]).call,
    )


def test_belowThresholdSharesCannotSign(st: Staking, seqs, expect_revert) -> None:
    shares = _dealt(6, 5)
    _install(st, seqs, shares)
    digest = batch_digest(st.chain.chain_id, seqs[0].address, 1, b"\x01" * 32)
    # Four of the six shares (threshold five) run the protocol as if they were a quorum.
    sig = l1_signature(shares[:4], digest)
    expect_revert(
        "SequencerSetInvalidFrostSignature",
        st.sset.functions.verifyBatchSignatures(digest, [sig]).call,
    )
    # A key the set never installed cannot sign either.
    sig = l1_signature(_dealt(6, 5)[:5], digest)
    expect_revert(
        "SequencerSetInvalidFrostSignature",
        st.sset.functions.verifyBatchSignatures(digest, [sig]).call,
    )


def test_reselectWithOneFrostSignature(st: Staking, seqs) -> None:
    shares = _dealt(4, 3)
    _install(st, seqs, shares)
    info = st.sset.functions.epochInfo().call()
    cur = info[2]
    digest = reselect_digest(st.chain.chain_id, st.sset.address, info[0], info[1], cur)
    assert digest == st.sset.functions.reselectDigest().call()
    st.gov.send(st.sset.functions.reselectWithSignatures([l1_signature(shares[:3], digest)]))
    assert st.current() != cur
