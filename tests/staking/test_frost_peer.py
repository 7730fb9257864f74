"""Attacks on the FROST peer protocol, against sequencer daemons serving real HTTP on Anvil.

Moves: malformed / forged round-one packages, a dealer sending a bad encrypted share,
replayed commitments, commitments the node never issued, a signing request for a batch the
peer cannot rebuild, a peer returning a bad signature share, a restart replaying nonces, more
than 1/3 of the weight silent during resharing (recovery: a new DKG, key set by governance).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from offchain.chain.accounts import dev_account
from offchain.staking.contracts import StakingContracts
from offchain.staking.daemon import DaemonConfig, SequencerDaemon
from offchain.staking.errors import CosignRefused
from offchain.staking.frost.coordinator import FrostCoordinator, PeerError, publics_of
from offchain.staking.frost.errors import FrostError
from offchain.staking.frost.group import N
from offchain.staking.frost.l1 import group_key_digest
from offchain.staking.frost.signing import to_l1_signature
from offchain.staking.frost.wire import element_of
from offchain.staking.rotation import RotationConfig
from offchain.staking.signatures import CosignRequest, sign_digest
from tests.helpers.frost import allocation_from_l1, frost_sign

from .conftest import Staking

SC = dev_account(30).address  # the StateCommitment the daemons co-sign for (any address)
QUIET = RotationConfig(send_heartbeats=False, trigger_reselect=False, advance_epochs=False)


def _daemon(st: Staking, i: int, tmp_path: Path) -> SequencerDaemon:
    sc = StakingContracts(st.chain, st.token, st.pool, st.sset)
    cfg = DaemonConfig(data_dir=tmp_path / f"seq{i}", cosign_contracts={SC}, rotation=QUIET)
    return SequencerDaemon(st.chain, sc, dev_account(i), cfg)


@pytest.fixture
def daemons(st: Staking, tmp_path: Path) -> Iterator[dict[str, SequencerDaemon]]:
    ds = {dev_account(i).address: _daemon(st, i, tmp_path) for i in (1, 2, 3, 4)}
    try:
        for d in ds.values():
            d.start()
        yield ds
    finally:
        for d in ds.values():
            d.stop()


def _coord(ds: dict[str, SequencerDaemon]) -> FrostCoordinator:
    return FrostCoordinator({a: d.url for a, d in ds.items()}, timeout_s=30)


def _keygen(st: Staking, ds: dict[str, SequencerDaemon], session: str = "dkg-1") -> dict[str, Any]:
    alloc = allocation_from_l1(st.pool)
    res = _coord(ds).keygen(session, alloc.identifiers, alloc.threshold)
    return {"alloc": alloc, **res}


def _public(d: SequencerDaemon) -> dict[str, Any]:
    return dict(requests.get(d.url + "/frost/status", timeout=10).json()["public"])


def _sign(
    st: Staking, coord: FrostCoordinator, session: str, req: CosignRequest, pub: dict[str, Any]
) -> bytes:
    return frost_sign(coord, session, req, pub, st.sset)


def _post(d: SequencerDaemon, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(d.url + path, json=body, timeout=30)


def _install(st: Staking, res: dict[str, Any], ds: dict[str, SequencerDaemon], session: str) -> int:
    x = int(res["group_x"], 16)
    digest = group_key_digest(st.chain.chain_id, st.sset.address, 0, x)
    sigs = _coord(ds).approvals(session, x, list(ds), digest)
    st.gov.send(st.sset.functions.installGroupKey(x, int(res["group_y"], 16), sigs))
    return x


def test_forgedOrMalformedPackagesRefused(st: Staking, daemons) -> None:
    alloc = allocation_from_l1(st.pool)
    ids = {a: list(v) for a, v in alloc.identifiers.items()}
    body = {"session": "s", "allocation": ids, "threshold": alloc.threshold}
    r1 = {a: _post(d, "/frost/round1", body).json() for a, d in daemons.items()}
    victim, *_ = daemons.values()
    # Out-of-range threshold, non-JSON body types: 400 with a message.
    r = _post(victim, "/frost/round1", {**body, "session": "t", "threshold": 99})
    assert r.status_code == 400 and "threshold" in r.json()["error"]["message"]
    r = _post(victim, "/frost/round2", {"session": "s", "round1": "nope"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    # A relayed package altered by the coordinator: its dealer's signature no longer matches.
    other = list(r1)[1]
    forged = {**r1, other: {**r1[other], "packages": [dict(r1[other]["packages"][0])]}}
    forged[other]["packages"][0]["commitment"] = list(
        reversed(forged[other]["packages"][0]["commitment"])
    )
    r = _post(victim, "/frost/round2", {"session": "s", "round1": forged})
    assert r.status_code == 400 and "signed by" in r.json()["error"]["message"]
    # A package replayed from another session.
    r = _post(victim, "/frost/round2", {"session": "other", "round1": r1})
    assert r.status_code == 409 and r.json()["error"]["code"] == "refused"
    # Retrying round 1 returns the same dealing, never a second polynomial.
    again = _post(victim, "/frost/round1", body).json()
    assert again == r1[list(daemons)[0]]


def test_badEncryptedShareNamesDealer(st: Staking, daemons) -> None:
    alloc = allocation_from_l1(st.pool)
    ids = {a: list(v) for a, v in alloc.identifiers.items()}
    body = {"session": "s", "allocation": ids, "threshold": alloc.threshold}
    r1 = {a: _post(d, "/frost/round1", body).json() for a, d in daemons.items()}
    r2 = {
        a: _post(d, "/frost/round2", {"session": "s", "round1": r1}).json()["shares"]
        for a, d in daemons.items()
    }
    holder = list(daemons)[0]
    cheater = list(daemons)[2]
    cheater_dealer = r1[cheater]["packages"][0]["dealer"]
    shares = {str(i): {d: ct for a in r2 for d, ct in r2[a][str(i)].items()} for i in ids[holder]}
    # The cheater's ciphertext for the holder is flipped: the tag fails, the complaint names it.
    i0 = str(ids[holder][0])
    ct = shares[i0][str(cheater_dealer)]
    shares[i0][str(cheater_dealer)] = ct[:-2] + ("00" if ct[-2:] != "00" else "01")
    r = _post(daemons[holder], "/frost/finish", {"session": "s", "round1": r1, "shares": shares})
    err = r.json()["error"]
    assert (
        r.status_code == 409 and err["code"] == "invalid_share" and err["culprit"] == cheater_dealer
    )
    assert requests.get(daemons[holder].url + "/frost/status", timeout=5).json()["session"] is None


def test_replayedOrForeignCommitmentsSignNothing(st: Staking, daemons) -> None:
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    d = list(daemons.values())[0]
    pub = _public(d)
    commits = {
        a: _post(x, "/frost/commit", {"session": "dkg-1"}).json() for a, x in daemons.items()
    }
    package = [c for a in commits for c in commits[a]["commitments"]]
    req = CosignRequest(st.chain.chain_id, SC, 1, b"\x01" * 32)
    body = {"session": "dkg-1", "commitments": package, "cosign": req.to_json()}
    first = _post(d, "/frost/sign", body)
    assert first.status_code == 200 and first.json()["shares"]
    # The same commitments again (a coordinator replaying the round): refused, no share.
    again = _post(d, "/frost/sign", body)
    assert again.status_code == 409 and "already used" in again.json()["error"]["message"]
    assert "shares" not in again.json()
    # Commitments this node never issued for its identifiers.
    other = list(daemons.values())[1]
    foreign = [dict(c) for c in commits[list(daemons)[1]]["commitments"]]
    mine_ids = pub["allocation"][d.signer.address]
    fake = [{**foreign[0], "identifier": mine_ids[0]}] + [
        c for c in package if c["identifier"] != mine_ids[0]
    ]
    r = _post(d, "/frost/sign", {**body, "commitments": fake})
    assert r.status_code == 409 and r.json()["error"]["code"] == "refused"
    assert other.frost.store.nonce_counts()["used"] == 0


def test_unrebuildableBatchIsNotSigned(st: Staking, daemons) -> None:
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    d = list(daemons.values())[0]

    def cannot_rebuild(contract: str, index: int, header_hash: bytes, header: dict) -> None:
        raise CosignRefused(f"batch {index}: no local blocks match header 0x{header_hash.hex()}")

    d.cosigner.validator = cannot_rebuild
    commits = {
        a: _post(x, "/frost/commit", {"session": "dkg-1"}).json() for a, x in daemons.items()
    }
    package = [c for a in commits for c in commits[a]["commitments"]]
    req = CosignRequest(st.chain.chain_id, SC, 5, b"\x05" * 32)
    r = _post(
        d, "/frost/sign", {"session": "dkg-1", "commitments": package, "cosign": req.to_json()}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "header_rejected"
    bad_digest = {**req.to_json(), "digest": "0x" + "11" * 32}
    r = _post(d, "/frost/sign", {"session": "dkg-1", "commitments": package, "cosign": bad_digest})
    assert r.status_code == 403 and r.json()["error"]["code"] == "digest_mismatch"
    assert d.frost.store.nonce_counts() == {"unused": len(pub_ids(d)), "used": 0}


def pub_ids(d: SequencerDaemon) -> list[int]:
    return list(_public(d)["allocation"][d.signer.address])


def test_badSignatureShareDropsItsSender(st: Staking, daemons) -> None:
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    alloc = res["alloc"]
    # The smallest-weight signer cheats: dropping it still leaves the threshold.
    cheater = min(alloc.identifiers, key=lambda a: len(alloc.identifiers[a]))
    real = daemons[cheater].frost.sign

    def lying(session: str, commitments: list, message: bytes) -> dict[str, str]:
        out = real(session, commitments, message)
        return {i: "0x" + ((int(z, 16) + 1) % N).to_bytes(32, "big").hex() for i, z in out.items()}

    daemons[cheater].frost.sign = lying  # type: ignore[method-assign]
    coord = _coord(daemons)
    req = CosignRequest(st.chain.chain_id, SC, 2, b"\x02" * 32)
    pub = _public(list(daemons.values())[0])
    # Put the cheater first so it is chosen in the first round.
    pub["allocation"] = {cheater: pub["allocation"][cheater], **pub["allocation"]}
    sig = _sign(st, coord, "dkg-1", req, pub)
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
    assert coord.metrics["invalid_shares"] == 1 and coord.metrics["dropped_signers"] == 1


def test_restartNeverReusesNonces(st: Staking, daemons, tmp_path: Path) -> None:
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    addr, d = next(iter(daemons.items()))
    commits = {
        a: _post(x, "/frost/commit", {"session": "dkg-1"}).json() for a, x in daemons.items()
    }
    package = [c for a in commits for c in commits[a]["commitments"]]
    req = CosignRequest(st.chain.chain_id, SC, 3, b"\x03" * 32)
    body = {"session": "dkg-1", "commitments": package, "cosign": req.to_json()}
    assert _post(d, "/frost/sign", body).status_code == 200
    d.stop()
    fresh = _daemon(st, 1, tmp_path).start()  # same data dir, new process state
    try:
        r = _post(fresh, "/frost/sign", body)
        assert r.status_code == 409 and "already used" in r.json()["error"]["message"]
    finally:
        fresh.stop()


def test_silentThirdMeansNewKeyByRecovery(st: Staking, daemons) -> None:
    res = _keygen(st, daemons)
    x1 = _install(st, res, daemons, "dkg-1")
    alloc = res["alloc"]
    # The two heaviest sequencers (7 of 12 shares: 50k and one of 30k/40k) go silent.
    heavy = sorted(alloc.identifiers, key=lambda a: len(alloc.identifiers[a]))[-2:]
    for a in heavy:
        daemons[a].stop()
    live = {a: d for a, d in daemons.items() if a not in heavy}
    pub = _public(next(iter(live.values())))
    ids = sorted(i for a in live for i in alloc.identifiers[a])
    with pytest.raises(PeerError):  # resharing needs old-threshold shares: 5 of 9
        _coord(daemons).keygen(
            "reshare-1", {a: list(alloc.identifiers[a]) for a in live}, 2,
            reshare_from="dkg-1", quorum=ids, old=pub, dealers=list(live),
        )  # fmt: skip
    with pytest.raises(PeerError):
        _coord(live).keygen(
            "reshare-1b", {a: list(alloc.identifiers[a]) for a in live}, 2,
            reshare_from="dkg-1", quorum=ids, old=pub, dealers=list(live),
        )  # fmt: skip
    # Recovery: a new DKG among the live ones, installed by governance (no >2/3 ECDSA left).
    live_alloc = {a: list(alloc.identifiers[a]) for a in live}
    res2 = _coord(live).keygen("dkg-2", live_alloc, 2)
    x2 = int(res2["group_x"], 16)
    assert x2 != x1
    st.gov.send(st.sset.functions.setGroupKey(x2, int(res2["group_y"], 16)))
    req = CosignRequest(st.chain.chain_id, SC, 9, b"\x09" * 32)
    sig = _sign(st, _coord(live), "dkg-2", req, _public(next(iter(live.values()))))
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()


class _Crash(FrostCoordinator):
    """A coordinator during which one member crashes right before round ``before``."""

    def __init__(self, peers: dict[str, str], victim: SequencerDaemon, before: str) -> None:
        super().__init__(peers, timeout_s=30)
        self.victim, self.before, self.crashed = victim, before, False

    def _all(self, who, path, body):  # type: ignore[no-untyped-def]
        if path == self.before and not self.crashed:
            self.victim.stop()
            self.crashed = True
        return super()._all(who, path, body)


def test_killedMidDkgResumesSameDealing(st: Staking, daemons, tmp_path: Path) -> None:
    alloc = allocation_from_l1(st.pool)
    victim_addr = list(daemons)[1]
    coord = _Crash({a: d.url for a, d in daemons.items()}, daemons[victim_addr], "/frost/round2")
    with pytest.raises(PeerError) as e:
        coord.keygen("dkg-k", alloc.identifiers, alloc.threshold)
    assert e.value.peer == victim_addr and e.value.code == "unreachable"
    # Restarted from its data dir, it replays the dealing it had published: the DKG completes.
    dev = next(i for i in (1, 2, 3, 4) if dev_account(i).address == victim_addr)
    daemons[victim_addr] = _daemon(st, dev, tmp_path).start()
    res = _coord(daemons).keygen("dkg-k", alloc.identifiers, alloc.threshold)
    _install(st, res, daemons, "dkg-k")


def test_killedMidSigningIsDropped(st: Staking, daemons) -> None:
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    alloc = res["alloc"]
    light = min(alloc.identifiers, key=lambda a: len(alloc.identifiers[a]))
    pub = _public(daemons[light])
    pub["allocation"] = {light: pub["allocation"][light], **pub["allocation"]}
    coord = _Crash({a: d.url for a, d in daemons.items()}, daemons[light], "/frost/sign")
    req = CosignRequest(st.chain.chain_id, SC, 4, b"\x04" * 32)
    sig = _sign(
        st, coord, "dkg-1", req, pub
    )  # round 1 loses it after its commitment; round 2 signs
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
    assert coord.metrics["rounds"] == 2 and coord.metrics["dropped_signers"] == 1


def test_malformedBodiesGetAClearErrorAndSignNothing(st: Staking, daemons) -> None:
    """Every /frost POST route with garbage: a 4xx with ``{"error": {code, message}}`` (never a
    500 or a traceback), and no nonce of the node is used."""
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    d = list(daemons.values())[0]
    good = _post(d, "/frost/commit", {"session": "dkg-1"}).json()["commitments"]
    req = CosignRequest(st.chain.chain_id, SC, 7, b"\x07" * 32).to_json()
    bad_point = [{**good[0], "hiding": "0x02" + "00" * 32}]
    bad_hex = [{**good[0], "binding": "0xzz"}]
    not_int = [{**good[0], "identifier": "one"}]
    bodies: dict[str, list[Any]] = {
        "/frost/round1": [
            [],
            {},
            {"session": 1},
            {"session": "s", "allocation": [], "threshold": 1},
        ],
        "/frost/round2": [[], {"session": "dkg-1"}, {"session": "dkg-1", "round1": {"x": 1}}],
        "/frost/finish": [{"session": "dkg-1", "round1": {}, "shares": "x"}],
        "/frost/approve": [{"session": "dkg-1"}, {"session": "dkg-1", "x": "0xnothex"}],
        "/frost/commit": [{}, {"session": ["dkg-1"]}],
        "/frost/sign": [
            {"session": "dkg-1", "commitments": "x", "cosign": req},
            {"session": "dkg-1", "commitments": bad_point, "cosign": req},
            {"session": "dkg-1", "commitments": bad_hex, "cosign": req},
            {"session": "dkg-1", "commitments": not_int, "cosign": req},
            {"session": "dkg-1", "commitments": good, "cosign": {**req, "chain_id": "x"}},
        ],
    }
    for path, cases in bodies.items():
        raw = requests.post(d.url + path, data=b"\xff{not json", timeout=30)
        assert raw.status_code == 400 and raw.json()["error"]["code"] == "bad_request", path
        for body in cases:
            r = _post(d, path, body)
            err = r.json().get("error", {})
            assert r.status_code in (400, 403, 409), (path, body, r.status_code, r.text)
            assert err.get("code") and err.get("message"), (path, body, r.text)
    assert d.frost.store.nonce_counts()["used"] == 0


def test_frostReselectionOnlyForASilentSequencer(st: Staking, seqs, daemons, expect_revert) -> None:
    """Reselection by signatures with a group key: the members sign ``reselectDigest()`` over
    ``/frost/sign`` only when each sees the current sequencer silent on L1; the ECDSA list is
    refused; one FROST signature replaces the sequencer (reason SetVote)."""
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    # A fresh heartbeat and a timeout long enough that "not silent" holds on a loaded machine.
    epoch_len = int(st.sset.functions.timing().call()[0])
    st.gov.send(st.sset.functions.setTiming(epoch_len, 600))
    cur = st.current()
    st.as_(next(dev_account(i) for i in (1, 2, 3, 4) if dev_account(i).address == cur)).send(
        st.sset.functions.heartbeat()
    )
    epoch, rnd = st.sset.functions.epochInfo().call()[:2]
    digest = bytes(st.sset.functions.reselectDigest().call())
    pub = _public(list(daemons.values())[0])
    ask = {"epoch": epoch, "round": rnd, "current": cur}

    def frost_sign() -> bytes:
        sig = _coord(daemons).sign(
            "dkg-1", ask, digest, pub["allocation"], pub["threshold"],
            element_of(pub["group_key"], "key"), publics_of(pub["publics"]), kind="reselect",
        )  # fmt: skip
        return to_l1_signature(sig)

    # Not silent yet: every member refuses before touching a nonce.
    d = list(daemons.values())[0]
    commits = {
        a: _post(x, "/frost/commit", {"session": "dkg-1"}).json() for a, x in daemons.items()
    }
    package = [c for a in commits for c in commits[a]["commitments"]]
    r = _post(d, "/frost/sign", {"session": "dkg-1", "commitments": package, "reselect": ask})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_silent"
    with pytest.raises(FrostError):
        frost_sign()
    assert all(x.frost.store.nonce_counts()["used"] == 0 for x in daemons.values())
    # Both kinds of request at once, or neither: 400.
    r = _post(d, "/frost/sign", {"session": "dkg-1", "commitments": package})
    assert r.status_code == 400 and "exactly one" in r.json()["error"]["message"]
    st.warp(601)
    # The ECDSA list of the whole set never reselects (it only installs / recovers a key).
    ecdsa = [sign_digest(a, digest) for a in sorted(seqs, key=lambda a: int(a.address, 16))]
    expect_revert(
        "SequencerSetBadFrostSignature",
        st.gov.send,
        st.sset.functions.reselectWithSignatures(ecdsa),
    )
    rcpt = st.gov.send(st.sset.functions.reselectWithSignatures([frost_sign()]))
    (ev,) = st.sset.events.SequencerRotated().process_receipt(rcpt)
    assert ev["args"]["previous"] == cur and ev["args"]["reason"] == 2  # SetVote
    # The request is stale now (the round moved on): refused.
    r = _post(d, "/frost/sign", {"session": "dkg-1", "commitments": package, "reselect": ask})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_request"


def test_keeperCoordinatorIsTheLowestLiveMemberAndAbsentOnesCatchUp(
    st: Staking, daemons, tmp_path: Path
) -> None:
    """Key keepers (ticked by hand): only the lowest-address live member acts; with it down the
    next one takes over, but a DKG whose present members hold fewer than the threshold of
    shares is refused; a light member down at the DKG is left out, then reshared in."""
    from offchain.staking.frost.keeper import KeeperConfig, KeyKeeper

    sc = StakingContracts(st.chain, st.token, st.pool, st.sset)
    peers = {a: d.url for a, d in daemons.items()}

    def keeper(a: str) -> KeyKeeper:
        d = daemons[a]
        return KeyKeeper(d.frost, sc, d.sender, KeeperConfig(peers=peers, takeover_s=0))

    alloc = allocation_from_l1(st.pool)
    order = sorted(daemons, key=lambda a: int(a, 16))
    heavy, light = order[0], min(alloc.identifiers, key=lambda a: len(alloc.identifiers[a]))
    assert len(alloc.identifiers[heavy]) == 4 and alloc.threshold == 9  # of 12 shares
    for a in order[1:]:
        assert keeper(a).tick() == {"action": "none", "role": "member", "coordinator": heavy}
    # The coordinator is down: the next member takes over, but 8 of 12 shares cannot make a key.
    daemons[heavy].stop()
    out = keeper(order[1]).tick()
    assert out["action"] == "dkg_retry" and "the threshold is 9" in out["reason"], out
    assert st.sset.functions.groupKeyX().call() == 0
    # Back up; a two-share member (20k) is down instead: the DKG leaves it out and installs the key.
    dev = {dev_account(i).address: i for i in (1, 2, 3, 4)}
    daemons[heavy] = _daemon(st, dev[heavy], tmp_path).start()
    peers[heavy] = daemons[heavy].url
    daemons[light].stop()
    out = keeper(heavy).tick()
    assert out["action"] == "dkg" and st.sset.functions.groupKeyX().call() == int(out["x"], 16)
    # It returns holding nothing: the coordinator reshares to it, the key stays.
    daemons[light] = _daemon(st, dev[light], tmp_path).start()
    peers[light] = daemons[light].url
    out = keeper(heavy).tick()
    assert out["action"] == "reshare" and not out["absent"], out
    pub = _public(daemons[light])
    assert keeper(heavy).tick() == {"action": "none", "role": "coordinator"}
    req = CosignRequest(st.chain.chain_id, SC, 11, b"\x0b" * 32)
    pub["allocation"] = {light: pub["allocation"][light], **pub["allocation"]}
    sig = _sign(st, _coord(daemons), _status_session(daemons[light]), req, pub)
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()


def _status_session(d: SequencerDaemon) -> str:
    return str(requests.get(d.url + "/frost/status", timeout=10).json()["session"])


def test_keeperRecoveryInstallsANewKeyThroughEcdsaWhenAThirdLeaves(st: Staking, daemons) -> None:
    """More than 1/3 of the key's weight leaves the set (the two heaviest are kicked): resharing
    is impossible; after ``max_reshare_failures`` ticks the keeper runs a new DKG among the
    active members and installs it through the >2/3 ECDSA path (not governance)."""
    from offchain.staking.frost.keeper import KeeperConfig, KeyKeeper

    sc = StakingContracts(st.chain, st.token, st.pool, st.sset)
    peers = {a: d.url for a, d in daemons.items()}

    def keeper(a: str) -> KeyKeeper:
        return KeyKeeper(
            daemons[a].frost, sc, daemons[a].sender, KeeperConfig(peers=peers, takeover_s=0)
        )

    alloc = allocation_from_l1(st.pool)
    first = min(daemons, key=lambda a: int(a, 16))
    x1 = int(keeper(first).tick()["x"], 16)
    heavy = sorted(alloc.identifiers, key=lambda a: len(alloc.identifiers[a]))[-2:]
    for a in heavy:  # 7 of the 12 shares leave with them
        st.gov.send(st.pool.functions.kick(a))
    rest = [a for a in daemons if a not in heavy]
    k = keeper(min(rest, key=lambda a: int(a, 16)))
    out = k.tick()
    assert out["action"] == "reshare_failed" and "old threshold is 9" in out["reason"], out
    out = k.tick()
    assert out["action"] == "recovery", out
    x2 = int(out["x"], 16)
    assert x2 != x1 and x2 == st.sset.functions.groupKeyX().call()
    ev = st.sset.events.GroupKeyInstalled().get_logs(from_block=0)[-1]["args"]
    assert ev["x"] == x2 and ev["previousX"] == x1 and not ev["byGovernance"]
    assert k.stats["recoveries"] == 1
    pub = _public(daemons[rest[0]])
    assert set(pub["allocation"]) == set(rest)
    req = CosignRequest(st.chain.chain_id, SC, 12, b"\x0c" * 32)
    sig = _sign(
        st, _coord({a: daemons[a] for a in rest}), _status_session(daemons[rest[0]]), req, pub
    )
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()


def test_statusReportsTheKeyOnL1NotANewerUninstalledOne(st: Staking, daemons) -> None:
    """Two coordinators racing at start may both finish a DKG; only one key gets installed.
    Every node then reports (and signs with) the key set of the key on L1."""
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    _keygen(st, daemons, "dkg-2")  # finished by everyone, never installed
    for d in daemons.values():
        assert _status_session(d) == "dkg-1"
        assert d.frost.store.keyset() is not None and d.frost.store.keyset().session == "dkg-2"  # type: ignore[union-attr]
    req = CosignRequest(st.chain.chain_id, SC, 13, b"\x0d" * 32)
    sig = _sign(st, _coord(daemons), "dkg-1", req, _public(list(daemons.values())[0]))
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()


def _restart(st: Staking, ds: dict[str, SequencerDaemon], addr: str, tmp_path: Path) -> None:
    """Stop ``addr``'s daemon and start a new process state on its data dir and port."""
    old = ds[addr]
    old.stop()
    dev = next(i for i in (1, 2, 3, 4) if dev_account(i).address == addr)
    sc = StakingContracts(st.chain, st.token, st.pool, st.sset)
    cfg = DaemonConfig(data_dir=tmp_path / f"seq{dev}", cosign_contracts={SC}, rotation=QUIET,
                       port=old.port)  # fmt: skip
    ds[addr] = SequencerDaemon(st.chain, sc, dev_account(dev), cfg).start()


def test_peerRestartedBetweenRoundsKeepsSigning(st: Staking, daemons, tmp_path: Path) -> None:
    """The batcher's coordinator lives on; a co-signing peer restarts between two batches,
    once on its data (its preprocessed commitments are still its own) and once without its
    unused nonces (lost with the process, e.g. a restore from a backup): the next signature
    still comes in one call, and nobody is dropped or counted as a bad signer."""
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    coord = _coord(daemons)
    pub = _public(next(iter(daemons.values())))
    req = CosignRequest(st.chain.chain_id, SC, 5, b"\x05" * 32)
    sig = _sign(st, coord, "dkg-1", req, pub)
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
    cached = [a for s, a in coord.ready if s == "dkg-1"]  # preprocessed for the next round
    assert cached
    peer = cached[-1]
    _restart(st, daemons, peer, tmp_path)
    req = CosignRequest(st.chain.chain_id, SC, 6, b"\x06" * 32)
    sig = _sign(st, coord, "dkg-1", req, pub)
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
    assert (peer, "dkg-1") in {(a, s) for s, a in coord.ready}  # chosen again, answered
    daemons[peer].stop()
    path = tmp_path / f"seq{next(i for i in (1, 2, 3, 4) if dev_account(i).address == peer)}"
    db = sqlite3.connect(path / f"frost-{peer.lower()}.sqlite")
    with db:
        db.execute("DELETE FROM nonces WHERE used=0")
    db.close()
    _restart(st, daemons, peer, tmp_path)
    before = dict(coord.metrics)
    req = CosignRequest(st.chain.chain_id, SC, 7, b"\x07" * 32)
    sig = _sign(st, coord, "dkg-1", req, pub)
    st.sset.functions.verifyBatchSignatures(req.digest, [sig]).call()
    assert coord.metrics["dropped_signers"] == before["dropped_signers"]
    assert coord.metrics["invalid_shares"] == before["invalid_shares"]


def test_ownL1FailureIsAClearUnavailableNotABadAnswer(st: Staking, daemons) -> None:
    """A node whose own check cannot reach L1 (a web3 call failing mid-check) answers
    /frost/sign 503 ``unavailable`` in the error shape, not a bare 500 the coordinator
    reads as a bad answer; the round after it signs."""
    res = _keygen(st, daemons)
    _install(st, res, daemons, "dkg-1")
    d = next(iter(daemons.values()))
    calls = {"n": 0}

    def flaky(*_a: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise requests.ConnectionError("('Connection aborted.', RemoteDisconnected())")

    d.cosigner.validator = flaky
    commits = {
        a: _post(x, "/frost/commit", {"session": "dkg-1"}).json() for a, x in daemons.items()
    }
    package = [c for a in commits for c in commits[a]["commitments"]]
    req = CosignRequest(st.chain.chain_id, SC, 8, b"\x08" * 32)
    body = {"session": "dkg-1", "commitments": package, "cosign": req.to_json()}
    r = _post(d, "/frost/sign", body)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
    assert d.frost.store.nonce_counts().get("used", 0) == 0  # checks run before any nonce
    assert _post(d, "/frost/sign", body).status_code == 200
