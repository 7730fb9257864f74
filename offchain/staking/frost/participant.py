"""One sequencer's side of the FROST peer protocol: DKG, resharing and signing rounds.

The coordinator (the current sequencer, or whoever runs the DKG) relays messages; every
check that protects the key happens here: packages must be signed by the dealer the
allocation names, proofs of knowledge and shares must match the commitments (a failure
names the dealer), a resharing dealing must carry exactly the dealer's weighted old share,
nonces are durable and single-use.

Sessions: a DKG or resharing is named by a ``session`` string chosen by the coordinator; a
node deals at most once per session (its dealing is persisted and replayed on a retry), and
its new shares are stored under the session id (:class:`~offchain.staking.frost.store.KeySet`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey

from offchain.common.hashing import keccak
from offchain.staking.frost import dkg
from offchain.staking.frost.errors import FrostError, FrostRefused, InvalidShare
from offchain.staking.frost.group import Element, N, base_mul, serialize_element
from offchain.staking.frost.keygen import KeyShare
from offchain.staking.frost.l1 import is_even
from offchain.staking.frost.signing import SigningContext, commit
from offchain.staking.frost.store import FrostStore, KeySet
from offchain.staking.frost.wire import (
    commitment_json,
    commitment_of,
    decrypt_share,
    element_hex,
    element_of,
    encrypt_share,
    hx,
    package_of,
    scalar_hex,
    signed_package,
)
from offchain.staking.signatures import sign_digest

Allocation = dict[str, list[int]]  # signer address -> identifiers


def commit_id(hiding: Element, binding: Element) -> str:
    """Name of a commitment pair (its nonces' key in the store)."""
    return hx(keccak(serialize_element(hiding) + serialize_element(binding)))


def dealer_ids(allocation: Mapping[str, list[int]]) -> dict[str, int]:
    """DKG dealer numbers: 1, 2, ... in ascending signer-address order."""
    return {a: i + 1 for i, a in enumerate(sorted(allocation, key=lambda x: int(x, 16)))}


@dataclass
class FrostParticipant:
    """The FROST state machine of one signer.

    Args:
        address: this node's signer address.
        key: its 32-byte private key (signs packages, decrypts shares, approves keys).
        store: durable state.
        key_digest: ``x -> SequencerSet.groupKeyDigest(x)`` at the current version.
        l1_group_x: reads ``SequencerSet.groupKeyX()`` (a new member checks the key it is
            resharing into against L1, not against what the coordinator says).
    """

    address: str
    key: bytes
    store: FrostStore
    key_digest: Callable[[int], bytes]
    l1_group_x: Callable[[], int]

    @property
    def public_key(self) -> str:
        return hx(PrivateKey(self.key).public_key.format(compressed=True))

    def _owner(self, allocation: Mapping[str, list[int]], who: str) -> str:
        for a in allocation:
            if a.lower() == who.lower():
                return a
        raise FrostError(f"{who} is not in the allocation")

    # ================================================================ round 1
    def round1(
        self,
        session: str,
        allocation: Allocation,
        threshold: int,
        reshare_from: str | None = None,
        quorum: list[int] | None = None,
        old: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Deal (once per session): a DKG polynomial, or one resharing polynomial per old
        identifier of this node in ``quorum``. Returns the signed packages and this node's
        signed membership (its public key, for share encryption). A new member (no shares of
        ``reshare_from``) takes ``old`` = ``{group_key, threshold, publics, allocation}`` from
        the coordinator and checks its key against L1.

        Raises:
            FrostError: bad parameters, or a resharing from a key set this node does not hold.
        """
        if not 1 <= threshold <= sum(len(v) for v in allocation.values()):
            raise FrostError(f"threshold {threshold} out of range for the allocation")
        saved = self.store.dealing(session)
        if saved is not None:  # a retry: the same dealing, never a second one
            return dict(saved["public"])
        packages: list[dict[str, Any]] = []
        coefficients: dict[str, list[str]] = {}
        if reshare_from is None:
            me = self._owner(allocation, self.address)
            d = dealer_ids(allocation)[me]
            dealing = dkg.deal(d, threshold)
            packages.append(signed_package(session, d, dealing.round1, self.key))
            coefficients[str(d)] = [hex(a) for a in dealing.coefficients]
        old_info: dict[str, Any] | None = None
        if reshare_from is not None:
            held = self.store.keyset(reshare_from)
            if held is not None:
                old_info = {
                    "group_key": held.group_key,
                    "threshold": held.threshold,
                    "publics": {str(i): v for i, v in held.publics.items()},
                    "allocation": held.allocation,
                }
            else:
                if not isinstance(old, dict) or not {
                    "group_key",
                    "threshold",
                    "publics",
                    "allocation",
                } <= set(old):
                    raise FrostError("a new member needs the old key's public data to reshare into")
                old_info = old
            x = element_of(old_info["group_key"], "old group key").xy()[0]
            if x != self.l1_group_x():
                raise FrostRefused(f"resharing key {hex(x)} is not the group key on L1")
            q = sorted(quorum or [])
            for i in sorted(held.secrets if held is not None else {}):
                if i not in q:
                    continue
                dealing = dkg.reshare_deal(i, held.secrets[i], q, threshold)  # type: ignore[union-attr]
                packages.append(signed_package(session, i, dealing.round1, self.key))
                coefficients[str(i)] = [hex(a) for a in dealing.coefficients]
        member = signed_package(
            session,
            0,
            dkg.DealerRound1(0, (base_mul(1),), None),
            self.key,
            {"member": self.address},
        )
        public = {"address": self.address, "packages": packages, "member": member}
        self.store.save_dealing(
            session,
            {
                "public": public,
                "coefficients": coefficients,
                "allocation": allocation,
                "threshold": threshold,
                "reshare_from": reshare_from,
                "quorum": quorum,
                "old": old_info,
            },
        )
        return public

    def _session(self, session: str) -> dict[str, Any]:
        saved = self.store.dealing(session)
        if saved is None:
            raise FrostRefused(f"unknown session {session!r}: round 1 first")
        return saved

    def _check_packages(
        self, saved: dict[str, Any], session: str, round1: Mapping[str, Any]
    ) -> tuple[dict[int, dkg.DealerRound1], dict[str, bytes]]:
        """Verify every relayed round-one answer: signatures, dealers, proofs / old shares.

        Returns:
            dealer id -> package, and address -> public key of every member.
        """
        allocation: Allocation = saved["allocation"]
        threshold = int(saved["threshold"])
        owners = {a.lower(): a for a in allocation}
        packages: dict[int, dkg.DealerRound1] = {}
        pubkeys: dict[str, bytes] = {}
        old = saved.get("old")
        dealers = dealer_ids(allocation)
        for who, answer in round1.items():
            if not isinstance(answer, dict):
                raise FrostError(f"round-1 answer of {who} is not an object")
            if old is None and who.lower() not in owners:
                raise FrostError(f"{who} is not in the allocation")
            _, pub = package_of(answer.get("member"), session, who)
            pubkeys[who.lower()] = pub
            for doc in answer.get("packages") or []:
                p, _ = package_of(doc, session, who)
                if p.dealer in packages:
                    raise InvalidShare(p.dealer, "package (dealer sent twice)")
                if old is None and dealers.get(owners[who.lower()]) != p.dealer:
                    raise InvalidShare(p.dealer, f"package (signed by {who}, not its dealer)")
                if old is not None and p.dealer not in next(
                    (v for a, v in old["allocation"].items() if a.lower() == who.lower()), []
                ):
                    raise InvalidShare(p.dealer, f"resharing package (identifier not {who}'s)")
                packages[p.dealer] = p
        # Members that did not answer round 1 (down) deal nothing and get no shares now; their
        # identifiers still count in the threshold. The ones that answered must hold at least
        # the threshold of shares: then whoever deals knows nothing a signing quorum does not.
        present = [a for a in allocation if a.lower() in pubkeys]
        held = sum(len(allocation[a]) for a in present)
        if held < threshold:
            missing = [a for a in allocation if a.lower() not in pubkeys]
            raise FrostError(
                f"no membership from {missing}: the members that answered hold {held} shares,"
                f" the threshold is {threshold}"
            )
        if old is None:
            expected = sorted(dealers[a] for a in present)
            if sorted(packages) != expected:
                raise FrostError(f"dealers {sorted(packages)}, but the members present: {expected}")
            dkg.check_round1(packages, threshold)
        else:
            old_public = {
                int(i): element_of(v, "verifying share") for i, v in old["publics"].items()
            }
            dkg.check_reshare_round1(packages, old_public, int(old["threshold"]), threshold)
        return packages, pubkeys

    # ================================================================ round 2
    def round2(self, session: str, round1: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        """Check everyone's round-one answer, then encrypt this node's shares for every new
        identifier to its holder. Returns ``identifier -> dealer -> ciphertext``.

        Raises:
            InvalidShare: a dealer's package is wrong (``culprit``: the dealer id).
            FrostError: malformed input.
        """
        saved = self._session(session)
        _, pubkeys = self._check_packages(saved, session, round1)
        allocation: Allocation = saved["allocation"]
        out: dict[str, dict[str, str]] = {}
        for d, coeffs in saved["coefficients"].items():
            poly = [int(c, 16) for c in coeffs]
            for holder, ids in allocation.items():
                if holder.lower() not in pubkeys:
                    continue  # absent from round 1: gets its shares at the next resharing
                for i in ids:
                    out.setdefault(str(i), {})[d] = encrypt_share(
                        dkg.share_for(poly, i), pubkeys[holder.lower()], session, int(d), i
                    )
        return out

    # ================================================================ finish
    def finish(
        self, session: str, round1: Mapping[str, Any], shares: Mapping[str, Mapping[str, str]]
    ) -> dict[str, Any]:
        """Decrypt and check the shares for this node's identifiers, store the new key set.

        Args:
            session: the session.
            round1: every round-one answer (as in :meth:`round2`).
            shares: ``identifier -> dealer -> ciphertext`` for this node's identifiers.

        Returns:
            ``{group_key, group_x, group_y, threshold, identifiers}``.

        Raises:
            InvalidShare: a dealer's share fails (complaint; ``culprit`` is the dealer id).
        """
        saved = self._session(session)
        packages, _ = self._check_packages(saved, session, round1)
        allocation: Allocation = saved["allocation"]
        threshold = int(saved["threshold"])
        mine = allocation[self._owner(allocation, self.address)]
        commitments = {d: p.commitment for d, p in packages.items()}
        secrets: dict[int, int] = {}
        for i in mine:
            got = shares.get(str(i))
            if not isinstance(got, Mapping):
                raise FrostError(f"no shares for identifier {i}")
            received: dict[int, int] = {}
            for d in commitments:
                blob = got.get(str(d))
                if blob is None:
                    raise InvalidShare(d, f"share for identifier {i} (missing)")
                try:
                    received[d] = decrypt_share(blob, self.key, session, d, i)
                except FrostError as e:
                    raise InvalidShare(d, f"share for identifier {i} ({e})") from e
            secrets[i] = dkg.combine_received(i, None, received, commitments)
        pk = dkg.group_key(commitments)
        all_ids = sorted(i for ids in allocation.values() for i in ids)
        publics = dkg.verifying_shares(commitments, all_ids)
        old = saved.get("old")
        if old is not None:
            if element_hex(pk) != old["group_key"]:
                raise FrostError("resharing would change the group key")
        elif not is_even(pk):  # SequencerSet takes even-y keys: negate shares and key together
            pk = -pk
            secrets = {i: (N - s) % N for i, s in secrets.items()}
            publics = {i: -e for i, e in publics.items()}
        x, y = pk.xy()
        ks = KeySet(
            session,
            hex(x),
            element_hex(pk),
            threshold,
            {a: list(v) for a, v in allocation.items()},
            {i: element_hex(e) for i, e in publics.items()},
            secrets,
        )
        self.store.save_keyset(ks)
        return {
            "group_key": ks.group_key,
            "group_x": hex(x),
            "group_y": hex(y),
            "threshold": threshold,
            "identifiers": mine,
        }

    def approve(self, session: str, x: int) -> dict[str, str]:
        """ECDSA over ``groupKeyDigest(x)`` if this node's key set of ``session`` has key x.

        Raises:
            FrostError: no such key set or another key.
        """
        ks = self.store.keyset(session)
        if ks is None or int(ks.group_x, 16) != x:
            raise FrostRefused(f"this node holds no share of key {hex(x)} from session {session!r}")
        sig = sign_digest(self.key, self.key_digest(x))
        return {"signer": self.address, "signature": hx(sig)}

    def current_keyset(self) -> KeySet | None:
        """The latest key set of the group key on L1 if this node holds one, else its latest
        key set (what ``/frost/status`` reports and the batcher signs with)."""
        try:
            x = self.l1_group_x()
        except Exception:  # noqa: BLE001 - L1 unreachable: report what is on disk
            x = 0
        return (self.store.keyset_of_key(x) if x else None) or self.store.keyset()

    # =============================================================== signing
    def key_shares(self, session: str | None = None) -> tuple[KeySet, list[KeyShare]]:
        ks = self.store.keyset(session)
        if ks is None:
            raise FrostRefused(f"this node holds no key shares of session {session!r}")
        pk = element_of(ks.group_key, "group key")
        return ks, [KeyShare(i, s, pk) for i, s in sorted(ks.secrets.items())]

    def commit(self, session: str) -> dict[str, Any]:
        """Fresh nonces for each of this node's identifiers, persisted before the commitments
        are returned."""
        ks, shares = self.key_shares(session)
        out = []
        rows = []
        for share in shares:
            nonces, c = commit(share)
            cid = commit_id(c.hiding, c.binding)
            rows.append((cid, ks.session, share.identifier, nonces))
            out.append({**commitment_json(c), "commit_id": cid})
        self.store.add_nonces(rows)
        return {"session": ks.session, "signer": self.address, "commitments": out}

    def present_members(self, session: str, commitments: list[Any]) -> list[str]:
        """The members (the key set's allocation) with a commitment in the signing package
        ``commitments``: who takes part in the round, what its absence bitmap is checked
        against.

        Raises:
            FrostRefused: no key set of ``session``.
            FrostError: a malformed package.
        """
        ks = self.store.keyset(session)
        if ks is None:
            raise FrostRefused(f"this node holds no key shares of session {session!r}")
        ids = {commitment_of(c).identifier for c in commitments}
        return [a for a, held in ks.allocation.items() if ids & set(held)]

    def sign(self, session: str, commitments: list[Any], message: bytes) -> dict[str, str]:
        """Signature shares of ``message`` for this node's identifiers in ``commitments``.

        Each nonce pair is marked used on disk before the shares are computed and returned.

        Raises:
            FrostError: malformed package, a commitment this node did not issue (or issued to
                another identifier), or one already used.
        """
        ks, shares = self.key_shares(session)
        package = [commitment_of(c) for c in commitments]
        ids = [c.identifier for c in package]
        if len(set(ids)) != len(ids):
            raise FrostError("duplicate identifiers in the signing package")
        if len(package) < ks.threshold:
            raise FrostError(f"{len(package)} commitments, the threshold is {ks.threshold}")
        unknown = [i for i in ids if i not in ks.publics]
        if unknown:
            raise FrostError(f"identifiers {unknown} hold no share of this key")
        mine = {s.identifier: s for s in shares}
        out: dict[str, str] = {}
        to_sign = [c for c in package if c.identifier in mine]
        if not to_sign:
            raise FrostError("the signing package has none of this node's identifiers")
        # Mark every nonce used first: no share leaves before all are burnt on disk.
        taken = self.store.take_nonces(
            [(commit_id(c.hiding, c.binding), ks.session, c.identifier) for c in to_sign]
        )
        ctx = SigningContext.of(package, mine[to_sign[0].identifier].group_public_key, message)
        for c, nonces in zip(to_sign, taken, strict=True):
            out[str(c.identifier)] = scalar_hex(ctx.share(mine[c.identifier], nonces))
        return out
