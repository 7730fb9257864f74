"""The coordinator's side of the FROST peer protocol: key generation, resharing, signing.

Whoever coordinates (the daemon that finds no key on L1, or the current sequencer for a batch)
only relays: it never sees a secret share (they are encrypted to their holders) and every
message it relays is checked by the participants (see :mod:`participant`).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from offchain.staking.frost.errors import FrostError
from offchain.staking.frost.group import Element
from offchain.staking.frost.signing import Signature, SigningContext
from offchain.staking.frost.wire import commitment_of, element_of, hx, scalar_of, unhex
from offchain.staking.signatures import (
    absence_bitmap,
    batch_digest,
    order_signatures,
    recover_signer,
)


class PeerError(FrostError):
    """A peer refused or did not answer.

    Attributes:
        peer: signer address of the peer.
        code: the peer's error code (``unreachable`` when it did not answer).
        culprit: the dealer id it named in a complaint, if any.
    """

    def __init__(self, peer: str, code: str, message: str, culprit: int | None = None) -> None:
        super().__init__(f"{peer}: {code}: {message}")
        self.peer = peer
        self.code = code
        self.culprit = culprit


@dataclass
class FrostCoordinator:
    """Drives rounds over ``peers`` (signer address -> daemon base URL).

    Args:
        peers: every participant this coordinator may ask (itself included, over HTTP).
        timeout_s: per-request timeout.
        metrics: counters (``invalid_shares``, ``dropped_signers``, ``rounds``).
    """

    peers: dict[str, str]
    timeout_s: float = 10.0
    #: (session, signer) -> commitments it published in its last answer and has not used.
    ready: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, int] = field(
        default_factory=lambda: {"invalid_shares": 0, "dropped_signers": 0, "rounds": 0}
    )

    def __post_init__(self) -> None:
        self.peers = {a.lower(): u for a, u in self.peers.items()}

    def _post(self, who: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.peers.get(who.lower())
        if url is None:
            raise PeerError(who, "unknown_peer", "no URL for this signer")
        try:
            r = requests.post(url.rstrip("/") + path, json=body, timeout=self.timeout_s)
        except requests.RequestException as e:
            raise PeerError(who, "unreachable", type(e).__name__) from e
        try:
            doc = r.json()
        except ValueError:
            raise PeerError(who, "bad_answer", f"HTTP {r.status_code}, not JSON") from None
        if r.status_code != 200:
            err = doc.get("error", {}) if isinstance(doc, dict) else {}
            raise PeerError(
                who,
                str(err.get("code", r.status_code)),
                str(err.get("message", "")),
                err.get("culprit"),
            )
        if not isinstance(doc, dict):
            raise PeerError(who, "bad_answer", "not a JSON object")
        return doc

    def _all(
        self, who: Iterable[str], path: str, body: Callable[[str], dict[str, Any]]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, PeerError]]:
        names = list(who)
        ok: dict[str, dict[str, Any]] = {}
        bad: dict[str, PeerError] = {}

        def one(w: str) -> tuple[str, dict[str, Any] | None, PeerError | None]:
            try:
                return w, self._post(w, path, body(w)), None
            except PeerError as e:
                return w, None, e

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(32, len(names)))) as ex:
            for w, doc, err in ex.map(one, names):
                if doc is not None:
                    ok[w] = doc
                elif err is not None:
                    bad[w] = err
        return ok, bad

    # ================================================================ keygen
    def keygen(
        self,
        session: str,
        allocation: Mapping[str, Sequence[int]],
        threshold: int,
        *,
        reshare_from: str | None = None,
        quorum: list[int] | None = None,
        old: dict[str, Any] | None = None,
        dealers: Iterable[str] = (),
        absent_ok: bool = False,
    ) -> dict[str, Any]:
        """A DKG (``reshare_from`` None) or a resharing among ``allocation``'s members, with
        ``dealers`` (old holders of the quorum identifiers) dealing for a resharing.

        With ``absent_ok``, members that do not answer round 1 (down) are left out: they deal
        nothing and receive no shares (their identifiers keep counting in the threshold; the
        participants refuse unless the members present hold at least the threshold). A dealer
        of a resharing, or a member failing a later round, still fails the whole run.

        Returns:
            The members' common ``finish`` answer (group key, threshold), plus ``absent``.

        Raises:
            PeerError: a member failed (``culprit`` set when it is a complaint).
            FrostError: members disagree on the key.
        """
        members = list(allocation)
        dealers = list(dealers)
        everyone = list(dict.fromkeys([*members, *dealers]))
        body1 = {
            "session": session,
            "allocation": {a: list(v) for a, v in allocation.items()},
            "threshold": threshold,
            "reshare_from": reshare_from,
            "quorum": quorum,
            "old": old,
        }
        r1, bad = self._all(everyone, "/frost/round1", lambda _w: body1)
        absent = [
            w for w, e in bad.items() if absent_ok and e.code == "unreachable" and w not in dealers
        ]
        if set(bad) - set(absent):
            raise next(e for w, e in bad.items() if w not in absent)
        members = [w for w in members if w not in absent]
        dealing = [w for w, a in r1.items() if a.get("packages")]
        r2, bad = self._all(dealing, "/frost/round2", lambda _w: {"session": session, "round1": r1})
        if bad:
            raise next(iter(bad.values()))
        fin, bad = self._all(
            members,
            "/frost/finish",
            lambda w: {
                "session": session,
                "round1": r1,
                "shares": {
                    str(i): {
                        d: ct
                        for ans in r2.values()
                        for d, ct in ans["shares"].get(str(i), {}).items()
                    }
                    for i in allocation[w]
                },
            },
        )
        if bad:
            raise next(iter(bad.values()))
        keys = {a["group_key"] for a in fin.values()}
        if len(keys) != 1:
            raise FrostError(f"members derived different keys: {sorted(keys)}")
        return {**next(iter(fin.values())), "absent": absent}

    def approvals(self, session: str, x: int, signers: Iterable[str], digest: bytes) -> list[bytes]:
        """ECDSA approvals of key ``x`` from ``signers``, checked and ordered for L1."""
        ok, _ = self._all(signers, "/frost/approve", lambda _w: {"session": session, "x": hex(x)})
        sigs: dict[str, bytes] = {}
        for w, a in ok.items():
            sig = unhex(a.get("signature"), "signature", 65)
            if recover_signer(digest, sig).lower() == w.lower():
                sigs[w] = sig
        return order_signatures(sigs)

    # =============================================================== signing
    def sign(
        self,
        session: str,
        cosign: dict[str, Any],
        message: bytes,
        allocation: Mapping[str, Sequence[int]],
        threshold: int,
        group_key: Element,
        publics: Mapping[int, Element],
        *,
        attempts: int = 3,
        kind: str = "cosign",
    ) -> Signature:
        """One FROST signature of the fixed ``message`` (the digest of ``cosign``).

        ``kind`` names the request in the ``/frost/sign`` body: ``reselect``
        (``{epoch, round, current}``: the replacement of a silent sequencer, message
        ``reselectDigest()``) or ``cosign`` (a ``POST /cosign`` body whose ``absent`` the
        caller fixed; the co-signers refuse it unless it is the package's: a batch is signed
        with :meth:`sign_batch`, which computes it). Rounds as :meth:`sign_batch`.

        Raises:
            FrostError: fewer than ``threshold`` shares available.
        """
        sig, _ = self._sign(
            session,
            lambda _present: ({kind: cosign}, message),
            allocation,
            threshold,
            group_key,
            publics,
            attempts,
        )
        return sig

    def sign_batch(
        self,
        session: str,
        cosign: dict[str, Any],
        allocation: Mapping[str, Sequence[int]],
        threshold: int,
        group_key: Element,
        publics: Mapping[int, Element],
        active: Callable[[], Sequence[str]],
        *,
        attempts: int = 3,
    ) -> tuple[Signature, int]:
        """One FROST signature of a batch (``cosign``: the ``POST /cosign`` body) with its
        absence bitmap.

        Every member that answers ``/frost/commit`` (or whose preprocessed commitments are
        cached) is in the signing package, not only the first threshold of shares: the
        bitmap ``absent`` marks exactly the members of ``active()`` (``activeSigners()`` on
        L1, re-read every round) with no commitment in the package, and the message is
        ``batch_digest(..., absent)``. Each co-signer recomputes the bitmap from the package
        and refuses another (``bad_absence``); such a refusal (the active set moved between
        two reads) reruns the round with the set read again, nobody dropped.

        Returns:
            The signature and the bitmap it was made with.

        Raises:
            FrostError: fewer than ``threshold`` shares available.
        """

        def bind(present: Sequence[str]) -> tuple[dict[str, Any], bytes]:
            absent = absence_bitmap(active(), present)
            digest = batch_digest(
                int(cosign["chain_id"]),
                str(cosign["contract"]),
                int(cosign["batch_index"]),
                unhex(cosign["header_hash"], "header_hash", 32),
                absent,
            )
            body = {**cosign, "absent": absent, "digest": hx(digest)}
            return {"cosign": body}, digest

        sig, request = self._sign(
            session, bind, allocation, threshold, group_key, publics, attempts
        )
        return sig, int(request["cosign"]["absent"])

    def _sign(
        self,
        session: str,
        bind: Callable[[Sequence[str]], tuple[dict[str, Any], bytes]],
        allocation: Mapping[str, Sequence[int]],
        threshold: int,
        group_key: Element,
        publics: Mapping[int, Element],
        attempts: int,
    ) -> tuple[Signature, dict[str, Any]]:
        """The signing rounds: ``bind(members in the package)`` gives the request's
        ``cosign`` / ``reselect`` part and the message.

        Commitments are asked from every member; all that have them are in the package (a
        signature takes any set of at least ``threshold`` shares). A share that fails
        verification names its sender, who is dropped (``metrics``) and the round is run again
        with fresh nonces. A signer that refuses the commitments it published in an earlier
        call (``refused``: it restarted without them) is asked for fresh ones once and not
        dropped; one that refuses the absence bitmap (``bad_absence``) is not dropped either:
        the round runs again with a new ``bind``.

        Returns:
            The signature and the request part it signed.
        """
        dropped: set[str] = set()
        last: dict[str, str] = {}
        refreshed: set[str] = set()  # refused their preprocessed commitments: asked afresh
        for _ in range(attempts):
            self.metrics["rounds"] += 1
            live = [a for a in allocation if a not in dropped]
            # Commitments prepared in the previous round (FROST preprocessing), else a round.
            commits = {a: self.ready.pop((session, a)) for a in live if (session, a) in self.ready}
            cached = set(commits)
            missing = [a for a in live if a not in commits]
            fresh, bad = self._all(missing, "/frost/commit", lambda _w: {"session": session})
            commits.update(fresh)
            last.update({w: e.code for w, e in bad.items()})
            # Everyone with commitments signs: the package names who took part.
            chosen = [a for a in live if a in commits]
            count = sum(len(commits[a]["commitments"]) for a in chosen)
            if count < threshold:
                for a in chosen:  # unused: keep them for the next call
                    self.ready[(session, a)] = commits[a]
                raise FrostError(f"{count} of {threshold} shares available ({last or 'no errors'})")
            package = [c for a in chosen for c in commits[a]["commitments"]]
            part, message = bind(chosen)
            body: dict[str, Any] = {"session": session, "commitments": package, **part}

            def sign_body(_w: str, b: dict[str, Any] = body) -> dict[str, Any]:
                return b

            answers, bad = self._all(chosen, "/frost/sign", sign_body)
            last.update({w: e.code for w, e in bad.items()})
            # A signer refusing commitments it published before this call (it restarted and
            # lost its unused nonces, or burnt them in a round whose answer never came back)
            # is asked for fresh ones once instead of being dropped: the refusal names only
            # the coordinator's cache, not the signer's share.
            stale = {w for w, e in bad.items() if e.code == "refused" and w in cached}
            stale -= refreshed
            refreshed |= stale
            # A bitmap refused (the active set changed between two reads): rebind, drop no one.
            rebind = {w for w, e in bad.items() if e.code == "bad_absence"}
            for w in rebind:
                self.ready[(session, w)] = commits[w]  # nothing was used
            dropped.update(set(bad) - stale - rebind)
            ctx = SigningContext.of([commitment_of(c) for c in package], group_key, message)
            z: dict[int, int] = {}
            for w, ans in answers.items():
                if isinstance(ans.get("next"), dict):
                    self.ready[(session, w)] = ans["next"]
                for c in commits[w]["commitments"]:
                    i = c["identifier"]
                    share = ans.get("shares", {}).get(str(i))
                    try:
                        zi = scalar_of(share, "share")
                    except FrostError:
                        zi = -1
                    if zi < 0 or not ctx.verify_share(i, publics[i], zi):
                        self.metrics["invalid_shares"] += 1
                        dropped.add(w)
                        last[w] = "invalid_share"
                        break
                    z[i] = zi
            if dropped & set(chosen):
                self.metrics["dropped_signers"] += len(dropped & set(chosen))
                continue
            if stale or rebind:
                continue  # the same signers again, on fresh commitments / a new bitmap
            return ctx.aggregate(z), part
        raise FrostError(f"no valid signature after {attempts} rounds ({last})")


def publics_of(doc: Mapping[str, str]) -> dict[int, Element]:
    """``identifier -> verifying share`` from a key set's JSON."""
    return {int(i): element_of(v, "verifying share") for i, v in doc.items()}
