"""DKG, resharing and stake weighting, run in-process between honest and cheating dealers.

The same functions run inside the sequencer daemons; these tests attack the checks directly:
a dealer sending a wrong share or a bad proof is named, a resharing dealer that tries to move
the secret is named, and after resharing a kicked sequencer's old share no longer combines.
"""

from __future__ import annotations

import pytest

from offchain.staking.frost import dkg
from offchain.staking.frost.errors import FrostError, InvalidShare
from offchain.staking.frost.group import Element, N, base_mul
from offchain.staking.frost.keygen import KeyShare, interpolate
from offchain.staking.frost.signing import aggregate, commit, sign, verify
from offchain.staking.frost.weights import allocate, threshold


def _run_dkg(dealers: list[int], identifiers: list[int], t: int) -> tuple[dict[int, int], Element]:
    dealings = {d: dkg.deal(d, t) for d in dealers}
    packages = {d: x.round1 for d, x in dealings.items()}
    dkg.check_round1(packages, t)
    commitments = {d: p.commitment for d, p in packages.items()}
    shares = {
        i: dkg.combine_received(
            i, None, {d: x.share_for(i) for d, x in dealings.items()}, commitments
        )
        for i in identifiers
    }
    return shares, dkg.group_key(commitments)


def _sign(shares: dict[int, int], pk: Element, msg: bytes) -> bool:
    ks = [KeyShare(i, s, pk) for i, s in shares.items()]
    rounds = [commit(k) for k in ks]
    comms = [c for _, c in rounds]
    z = {k.identifier: sign(k, n, msg, comms) for k, (n, _) in zip(ks, rounds, strict=True)}
    return verify(aggregate(comms, msg, pk, z), pk, msg)


def test_dkg_threshold_signs_and_fewer_cannot() -> None:
    shares, pk = _run_dkg([1, 2, 3, 4], [1, 2, 3, 4, 5, 6], 5)
    assert base_mul(interpolate(list(shares.items())[:5])) == pk
    assert _sign(dict(list(shares.items())[1:6]), pk, b"batch")
    # Four shares of a degree-4 polynomial interpolate to something else.
    assert base_mul(interpolate(list(shares.items())[:4])) != pk


def test_dkg_bad_share_names_dealer() -> None:
    dealings = {d: dkg.deal(d, 2) for d in (1, 2, 3)}
    commitments = {d: x.round1.commitment for d, x in dealings.items()}
    received = {d: x.share_for(1) for d, x in dealings.items()}
    received[3] = (received[3] + 1) % N  # dealer 3 cheats on identifier 1
    with pytest.raises(InvalidShare) as e:
        dkg.combine_received(1, None, received, commitments)
    assert e.value.culprit == 3


def test_dkg_bad_proof_of_knowledge_names_dealer() -> None:
    packages = {d: dkg.deal(d, 2).round1 for d in (1, 2, 3)}
    forged = dkg.DealerRound1(2, packages[2].commitment, packages[1].pok)  # replayed proof
    packages[2] = forged
    with pytest.raises(InvalidShare) as e:
        dkg.check_round1(packages, 2)
    assert e.value.culprit == 2


def test_reshare_keeps_key_and_kicked_share_is_useless() -> None:
    old_ids = [1, 2, 3, 4]
    shares, pk = _run_dkg([1, 2, 3, 4], old_ids, 3)
    old_public = {i: base_mul(s) for i, s in shares.items()}
    # Identifier 4 is kicked; 1..3 reshare to five new identifiers with threshold 4.
    quorum = [1, 2, 3]
    dealings = {i: dkg.reshare_deal(i, shares[i], quorum, 4) for i in quorum}
    packages = {i: x.round1 for i, x in dealings.items()}
    dkg.check_reshare_round1(packages, old_public, 3, 4)
    commitments = {i: p.commitment for i, p in packages.items()}
    assert dkg.group_key(commitments) == pk
    new = {
        j: dkg.combine_received(
            j, None, {i: x.share_for(j) for i, x in dealings.items()}, commitments
        )
        for j in range(1, 6)
    }
    assert _sign({j: new[j] for j in (2, 3, 4, 5)}, pk, b"after reshare")
    # The kicked holder's old share plus three new shares: not the key.
    mixed = [(4, shares[4]), (1, new[1]), (2, new[2]), (3, new[3])]
    assert base_mul(interpolate(mixed)) != pk
    assert not _sign({4: shares[4], 1: new[1], 2: new[2], 3: new[3]}, pk, b"kicked")


def test_reshare_dealer_cannot_move_secret() -> None:
    shares, _ = _run_dkg([1, 2, 3], [1, 2, 3], 2)
    old_public = {i: base_mul(s) for i, s in shares.items()}
    quorum = [1, 2]
    packages = {i: dkg.reshare_deal(i, shares[i], quorum, 2).round1 for i in quorum}
    packages[2] = dkg.deal(2, 2, 12345).round1  # deals a secret of its choosing
    with pytest.raises(InvalidShare) as e:
        dkg.check_reshare_round1(packages, old_public, 2, 2)
    assert e.value.culprit == 2
    with pytest.raises(FrostError):
        dkg.check_reshare_round1({1: packages[1]}, old_public, 2, 2)


def test_weights_follow_stake_and_threshold_is_two_thirds() -> None:
    # The devnet's four stakes: 12 shares by largest remainder (1.71/2.57/3.43/4.29).
    dev = {"0x01": 20_000, "0x02": 30_000, "0x03": 40_000, "0x04": 50_000}
    alloc = allocate(dev)
    assert alloc.identifiers == {
        "0x01": (1, 2),
        "0x02": (3, 4, 5),
        "0x03": (6, 7, 8),
        "0x04": (9, 10, 11, 12),
    }
    assert alloc.threshold == threshold(12) == 9
    assert alloc.owner(12) == "0x04"
    assert 3 * alloc.threshold > 2 * alloc.total >= 3 * (alloc.threshold - 1)
    # Liveness as the seed states it: any member with less than 1/3 of the stake may be down
    # (the 40k one is 28.6 %), the 50k one (35.7 %) may not.
    for down, live in (("0x01", True), ("0x02", True), ("0x03", True), ("0x04", False)):
        rest = alloc.total - len(alloc.identifiers[down])
        assert (rest >= alloc.threshold) is live, down
    # Two minimum-stake sybils that never sign do not halt the four honest members.
    sybils = allocate({**dev, "0x05": 20_000, "0x06": 20_000})
    honest = sum(len(sybils.identifiers[a]) for a in dev)
    assert honest >= sybils.threshold and sybils.total == 18
    # Every member holds at least one share; ties go to the lower address.
    tiny = allocate({"0x01": 1, "0x02": 10**9}, per_member=1)
    assert tiny.identifiers == {"0x01": (1,), "0x02": (2,)}
    assert allocate({"0x02": 5, "0x01": 5, "0x03": 5}, per_member=1).total == 3
    with pytest.raises(FrostError):
        allocate({})
    with pytest.raises(FrostError):
        allocate({"0x01": 0})
