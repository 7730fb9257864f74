"""Seed 001 §11.6.1: a sequencer spammed with data requests proposes to ban the verifier and
compensate itself.

Spam is ``spam_requests`` requests (``DataRequested``) from one verifier on batches of this
sequencer, requested within the last ``spam_window_s`` of L1 time, each answered with matching
data (the request's status is ``Answered``: L1 recomputed the roots, or the committed blobs were
posted). Such requests cost the verifier its bond (credited to the sequencer) and the sequencer
its answer's gas. The batcher then files one proposal with two actions (docs/spec.md, "Treasury
and compensation"): ``DataAvailabilityChallenge.banVerifier(verifier)`` and
``L2KitToken.transfer(sequencer, spam_compensation_tokens)``, through
:class:`~offchain.governance.auto.AutoProposer` (once per verifier; needs voting power). A
banned verifier is not proposed again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from offchain.governance.auto import AutoProposer, ban_proposal
from offchain.rollup.l1.bindings import RequestStatus
from offchain.staking.config import TOKEN

if TYPE_CHECKING:
    from offchain.rollup.l1.bindings import RollupL1
    from offchain.rollup.node.config import BatcherConfig

log = structlog.get_logger("rollup.spam")


@dataclass
class _Request:
    index: int
    verifier: str
    at: int  # L1 timestamp of the request's block


@dataclass
class SpamWatch:
    """Watches the data requests on one sequencer's batches (see the module docstring).

    Args:
        l1: the rollup's L1 bindings.
        proposer: files the proposal with the sequencer's account.
        sequencer: the sequencer's signer address (requests name it; compensation goes to it).
        token: the L2KitToken (the treasury's token).
        config: ``spam_requests``, ``spam_window_s``, ``spam_compensation_tokens``,
            ``spam_check_interval_s``.
    """

    l1: RollupL1
    proposer: AutoProposer
    sequencer: str
    token: str
    config: BatcherConfig
    requests: list[_Request] = field(default_factory=list)
    proposed: dict[str, int] = field(default_factory=dict)  # verifier -> proposal id
    _cursor: int = -1
    _next_check: float = 0.0

    def _scan(self) -> None:
        """New ``DataRequested`` events naming this sequencer (from the last block scanned)."""
        da = self.l1.da
        assert da is not None
        w3 = self.l1.sc.w3
        latest = int(w3.eth.block_number)
        start = max(self._cursor + 1, self.l1.from_block)
        if latest < start:
            return
        # DataAvailabilityChallenge.sol: event DataRequested(uint256 indexed index,
        # address indexed verifier, address indexed sequencer, uint256 deadline, uint256 bond)
        logs = da.events.DataRequested.get_logs(
            from_block=start, to_block=latest, argument_filters={"sequencer": self.sequencer}
        )
        for lg in logs:
            at = int(w3.eth.get_block(lg["blockNumber"])["timestamp"])
            a = lg["args"]
            self.requests.append(_Request(int(a["index"]), str(a["verifier"]), at))
        self._cursor = latest

    def spammers(self, now: int) -> dict[str, list[int]]:
        """Verifier -> the batches of its matching-answered requests inside the window, for
        every verifier with at least ``spam_requests`` of them."""
        da = self.l1.da
        assert da is not None
        window = self.config.spam_window_s
        self.requests = [r for r in self.requests if r.at >= now - window]
        by: dict[str, set[int]] = {}
        for r in self.requests:
            req = self.l1.data_request(r.index)
            if req.status == RequestStatus.ANSWERED and req.verifier.lower() == r.verifier.lower():
                by.setdefault(r.verifier, set()).add(r.index)
        return {
            v: sorted(ix)
            for v, ix in by.items()
            if len(ix) >= self.config.spam_requests and not da.functions.banned(v).call()
        }

    def tick(self) -> dict[str, Any]:
        """At most every ``spam_check_interval_s``: scan, and propose for each new spammer.

        Returns:
            ``{"proposed": {verifier: proposal id}}`` of this tick.
        """
        if self.l1.da is None or time.monotonic() < self._next_check:
            return {}
        self._next_check = time.monotonic() + self.config.spam_check_interval_s
        self._scan()
        now = int(self.l1.sc.w3.eth.get_block("latest")["timestamp"])
        out: dict[str, int] = {}
        for verifier, indexes in self.spammers(now).items():
            if verifier in self.proposed:
                continue
            p = ban_proposal(
                self.l1.da.address,
                self.token,
                verifier,
                self.sequencer,
                self.config.spam_compensation_tokens * TOKEN,
                indexes[: self.config.spam_requests],
            )
            pid = self.proposer.file(f"ban:{verifier}", p)
            if pid is not None:
                self.proposed[verifier] = out[verifier] = pid
                log.warning("spam_ban_proposed", verifier=verifier, batches=indexes)
        return {"proposed": out} if out else {}

    def status(self) -> dict[str, Any]:
        return {
            "tracked_requests": len(self.requests),
            "proposed": {v: hex(p) for v, p in self.proposed.items()},
            **self.proposer.status(),
        }
