"""Liveness by progress for forced inclusion: report a sequencer that leaves a forced tx behind.

Each tick reads ``StateCommitment.progress()`` (the queue position the chain consumed) and
``L1Bridge.firstForcedFrom(consumed)``; once that forced item's deadline has passed and the
current sequencer is someone else, it calls ``StateCommitment.reportCensorship()``: the first
call records a strike, a call one ``forceInclusionWindow`` later rotates the censor out
(``CensorshipReported`` in StateCommitment.sol; docs/spec.md "Forced inclusion"). The call is
simulated first, so a report that is not due yet costs nothing.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from web3.logs import DISCARD

from offchain.common.daemon import Daemon, LoopConfig
from offchain.errors import TxReverted

log = structlog.get_logger("rollup.censorship")

#: Fixed gas of reportCensorship (a rotation included): the estimate would run against the
#: latest block's timestamp, which on a chain that mines on demand may be older than the deadline.
REPORT_GAS = 400_000


class CensorshipWatch(Daemon):
    """Reports the current sequencer while a forced tx waits past its deadline.

    Args:
        state_commitment: the StateCommitment web3 contract.
        bridge: the L1Bridge web3 contract.
        sequencer_set: the sequencer set web3 contract.
        sender: this node's L1 sender (one nonce owner for every L1 write).
        me: this node's signer address (never reports itself).
        poll_interval_ms: time between checks.
    """

    name = "censorship-watch"

    def __init__(
        self,
        state_commitment: Any,
        bridge: Any,
        sequencer_set: Any,
        sender: Any,
        me: str,
        poll_interval_ms: int = 1000,
    ) -> None:
        super().__init__(LoopConfig(poll_interval_ms, jitter_pct=10, max_failures=3), log=log)
        self.sc = state_commitment
        self.bridge = bridge
        self.sset = sequencer_set
        self.sender = sender
        self.me = me.lower()
        self.stats = {"reports": 0, "rotations": 0}

    def tick(self) -> dict[str, Any]:
        _, consumed = self.sc.functions.progress().call()
        queue_id, deadline = self.bridge.functions.firstForcedFrom(consumed).call()
        if deadline == 0:
            return {}
        l1_now = max(int(self.sc.w3.eth.get_block("latest")["timestamp"]), int(time.time()))
        current = str(self.sset.functions.currentSequencer().call()).lower()
        if l1_now < deadline or current == self.me or int(current, 16) == 0:
            return {"waiting": queue_id, "deadline": deadline}
        call = self.sc.functions.reportCensorship()
        try:
            call.call()
        except Exception:  # not due yet (StateCommitmentNoCensorship) or just consumed
            return {"waiting": queue_id, "deadline": deadline, "report": "not due"}
        try:
            rcpt = self.sender.send(call, gas=REPORT_GAS)
        except TxReverted as e:  # another node was first, or the item was just consumed
            return {"waiting": queue_id, "lost": e.error_name}
        self.stats["reports"] += 1
        # StateCommitment.CensorshipReported; the set's SequencerRotated is in the same receipt.
        (ev,) = self.sc.events.CensorshipReported().process_receipt(rcpt, errors=DISCARD)
        rotated = bool(ev["args"]["rotated"])
        if rotated:
            self.stats["rotations"] += 1
        log.warning("censorship_reported", sequencer=current, queue_id=queue_id, rotated=rotated)
        return {"reported": current, "queue_id": queue_id, "rotated": rotated}

    def health(self) -> dict[str, Any]:
        return {
            "health": self.part_health().to_json(),
            "stats": dict(self.stats),
            "errors": self.failures_in_row,
        }
