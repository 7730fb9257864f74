"""The daemon side of seed 004's key management: generate the key when L1 has none, reshare
it when the active set or its weights change, and fall back to a new key when resharing fails.

Only the coordinator acts: the lowest-address active signer that is live (answers
``/frost/status``; every daemon probes the members below it the same way, so a coordinator
that is down hands over to the next one at once); the others serve the rounds it drives over
``/frost``. Each action uses a fresh session named after the L1 block it started at. Members
that are down are left out of a round (they deal nothing, receive nothing, their identifiers
still count in the threshold) as long as those present hold the threshold of shares; when a
member that was left out answers again, its stale key set triggers a resharing to it.

- no ``groupKeyX`` on L1: DKG among the active set, approvals (>2/3 of the stake, ECDSA),
  ``installGroupKey``;
- the key's holders no longer match the active set (lock, exit, kick, slash), or a live
  member holds an older key set than the latest: resharing from the latest key set to the
  new allocation, quorum = old identifiers of live members holding the latest key set;
- ``max_reshare_failures`` ticks in a row where those hold fewer than the old threshold of
  shares (more than 1/3 of the weight silent): a new DKG among the live members, installed
  through the same ECDSA path (recovery; logged, counted in ``stats["recoveries"]`` and
  visible on L1 as a new ``GroupKeyInstalled``). Any other resharing failure (a member
  failing mid-round) is retried on the next tick.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from offchain.common.daemon import Daemon, LoopConfig
from offchain.staking.frost.coordinator import FrostCoordinator
from offchain.staking.frost.errors import FrostError
from offchain.staking.frost.weights import SHARES_PER_MEMBER, allocate

if TYPE_CHECKING:
    from offchain.chain.tx import TxSender
    from offchain.staking.contracts import StakingContracts
    from offchain.staking.frost.participant import FrostParticipant


@dataclass
class KeeperConfig:
    """Knobs of the key keeper.

    Attributes:
        peers: signer address -> daemon base URL (this daemon included).
        shares_per_member: identifiers per active member on average (``weights.allocate``).
        max_reshare_failures: failed resharings before a recovery DKG.
        takeover_s: how long every lower-address member must stay silent before this one
            coordinates in their place (members starting one after the other do not each
            run a DKG of their own).
        loop: polling knobs.
    """

    peers: dict[str, str] = field(default_factory=dict)
    shares_per_member: int = SHARES_PER_MEMBER
    max_reshare_failures: int = 2
    takeover_s: float = 3.0
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(poll_interval_ms=1000))


def _norm(alloc: dict[str, Any]) -> dict[str, list[int]]:
    return {a.lower(): list(v) for a, v in alloc.items()}


class KeyKeeper(Daemon):
    """Keeps the set's FROST key in line with L1 (see the module docstring)."""

    name = "frost-keeper"

    def __init__(
        self,
        participant: FrostParticipant,
        contracts: StakingContracts,
        sender: TxSender,
        config: KeeperConfig,
    ) -> None:
        super().__init__(config.loop)
        self.p = participant
        self.c = contracts
        self.sender = sender
        self.config = config
        self.reshare_failures = 0
        self.stats = {"dkgs": 0, "reshares": 0, "recoveries": 0, "failures": 0}
        self._lower_silent_since: float | None = None

    def tick(self) -> dict[str, Any]:
        signers, stakes = self.c.pool.functions.activeSet().call()
        if not signers:
            return {"action": "none", "reason": "no active sequencer"}
        alloc = allocate(
            {str(s): int(w) for s, w in zip(signers, stakes, strict=True)},
            self.config.shares_per_member,
        )
        ids = {a: list(v) for a, v in alloc.identifiers.items()}
        coordinator = self._coordinator(ids)
        if coordinator is None or coordinator.lower() != self.p.address.lower():
            return {"action": "none", "role": "member", "coordinator": coordinator}
        gx = int(self.c.sset.functions.groupKeyX().call())
        block = int(self.c.chain.w3.eth.block_number)
        coord = FrostCoordinator(dict(self.config.peers), timeout_s=30)
        if gx == 0:
            try:
                return self._new_key(coord, f"dkg-{block}", ids, alloc.threshold, "dkg")
            except FrostError as e:  # members still starting (too few present): next tick
                self.stats["failures"] += 1
                self.log.warning("frost_dkg_retry", reason=str(e))
                return {"action": "dkg_retry", "reason": str(e)}
        statuses = self._statuses()
        old = _latest_public(statuses, gx)
        if old is None:
            return self._failed(
                "no reachable member holds the current key", coord, ids, alloc.threshold, block
            )
        behind = sorted(a for a, st in statuses.items() if st.get("session") != old["session"])
        if (
            _norm(old["allocation"]) == _norm(ids)
            and int(old["threshold"]) == alloc.threshold
            and not [a for a in behind if a in {m.lower() for m in ids}]
        ):
            return {"action": "none", "role": "coordinator"}
        live = {a.lower() for a in ids}
        old_alloc = _norm(old["allocation"])
        # Old holders still active that answer and hold the latest key set: only they can deal.
        # Fewer than the old threshold of shares among them (more than 1/3 of the weight silent
        # or gone) is the case resharing cannot solve: counted towards a recovery DKG.
        reachable = {a for a in old_alloc if a in live and a in statuses and a not in behind}
        quorum = sorted(i for a, v in old_alloc.items() if a in reachable for i in v)
        if len(quorum) < int(old["threshold"]):
            why = f"{len(quorum)} reachable old shares, the old threshold is {old['threshold']}"
            return self._failed(why, coord, ids, alloc.threshold, block)
        quorum = quorum[: int(old["threshold"])]
        dealers = [a for a, v in old["allocation"].items() if set(v) & set(quorum)]
        session = f"reshare-{block}"
        try:
            res = coord.keygen(
                session, ids, alloc.threshold, reshare_from=old["session"], quorum=quorum,
                old={k: old[k] for k in ("group_key", "threshold", "publics", "allocation")},
                dealers=dealers, absent_ok=True,
            )  # fmt: skip
        except FrostError as e:  # e.g. a member failing mid-round: retried on the next tick
            self.stats["failures"] += 1
            self.log.warning("frost_reshare_retry", reason=str(e))
            return {"action": "reshare_retry", "reason": str(e)}
        self.reshare_failures = 0
        self.stats["reshares"] += 1
        self.log.info(
            "frost_reshared", session=session, members=len(ids), absent=res.get("absent", [])
        )
        return {"action": "reshare", "session": session, "absent": res.get("absent", [])}

    def _coordinator(self, ids: dict[str, list[int]]) -> str | None:
        """The lowest-address active member that is live: this node, or the first one below
        it (by address) that answers ``/frost/status``. A coordinator that is down hands key
        management to the next member once it has been silent for ``takeover_s`` (every
        member probes the same way); None while this node waits for that."""
        me = self.p.address.lower()
        ordered = sorted(ids, key=lambda a: int(a, 16))
        for a in ordered:
            if a.lower() == me:
                break
            if self._answers(a):
                self._lower_silent_since = None
                return a
        if ordered and ordered[0].lower() == me:
            return ordered[0]
        now = time.monotonic()
        if self._lower_silent_since is None:
            self._lower_silent_since = now
        if now - self._lower_silent_since < self.config.takeover_s:
            return None
        return next((a for a in ordered if a.lower() == me), None)

    def _statuses(self) -> dict[str, dict[str, Any]]:
        """``/frost/status`` of every peer that answers (lower-case address -> document)."""
        out: dict[str, dict[str, Any]] = {}
        for a, url in self.config.peers.items():
            try:
                st = requests.get(url.rstrip("/") + "/frost/status", timeout=10).json()
            except (requests.RequestException, ValueError):
                continue
            if isinstance(st, dict):
                out[a.lower()] = st
        return out

    def _answers(self, signer: str) -> bool:
        url = {a.lower(): u for a, u in self.config.peers.items()}.get(signer.lower())
        if url is None:
            return False
        try:
            return requests.get(url.rstrip("/") + "/frost/status", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def _failed(
        self, why: str, coord: FrostCoordinator, ids: dict[str, list[int]], t: int, block: int
    ) -> dict[str, Any]:
        self.reshare_failures += 1
        self.stats["failures"] += 1
        self.log.warning("frost_reshare_failed", reason=why, in_row=self.reshare_failures)
        if self.reshare_failures < self.config.max_reshare_failures:
            return {"action": "reshare_failed", "reason": why}
        self.log.warning("frost_recovery_dkg", reason=why)
        out = self._new_key(coord, f"recovery-{block}", ids, t, "recovery")
        self.reshare_failures = 0
        return out

    def _new_key(
        self, coord: FrostCoordinator, session: str, ids: dict[str, list[int]], t: int, kind: str
    ) -> dict[str, Any]:
        before = int(self.c.sset.functions.groupKeyX().call())
        res = coord.keygen(session, ids, t, absent_ok=True)
        x, y = int(res["group_x"], 16), int(res["group_y"], 16)
        if int(self.c.sset.functions.groupKeyX().call()) != before:
            # Another coordinator (one that came up meanwhile) installed a key first.
            return {"action": "none", "reason": "a key was installed meanwhile"}
        present = [a for a in ids if a not in res["absent"]]
        approvals = coord.approvals(session, x, present, self.p.key_digest(x))
        if not approvals:
            raise FrostError(f"no member approved key {hex(x)} of session {session}")
        self.sender.send(self.c.sset.functions.installGroupKey(x, y, approvals))
        self.stats["dkgs" if kind == "dkg" else "recoveries"] += 1
        self.log.info(
            "frost_key_installed", kind=kind, session=session, x=hex(x), absent=res["absent"]
        )
        return {"action": kind, "session": session, "x": hex(x)}

    def health(self) -> dict[str, Any]:
        return {**self.loop_state(), "stats": dict(self.stats)}


def _session_block(session: str) -> int:
    """The L1 block a keeper session was started at (``dkg-12`` -> 12; 0 if not a keeper's)."""
    tail = session.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _latest_public(statuses: dict[str, dict[str, Any]], gx: int) -> dict[str, Any] | None:
    """Public data (and session) of the latest key set of key ``gx`` a live member holds."""
    best: dict[str, Any] | None = None
    for st in statuses.values():
        pub = st.get("public")
        if not pub or int(element_x(pub["group_key"]), 16) != gx:
            continue
        if best is None or _session_block(str(st["session"])) > _session_block(best["session"]):
            best = {**pub, "session": str(st["session"])}
    return best


def element_x(compressed_hex: str) -> str:
    """x coordinate (0x-hex) of a compressed element."""
    return "0x" + compressed_hex.removeprefix("0x")[2:]
