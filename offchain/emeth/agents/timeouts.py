"""Timeout watcher: times out jobs past their processing deadline (or expiry).

The processing node gets a penalty recorded (burned from its collateral by its next Ticket);
a timed-out SubJob is re-registered so its parent can still complete. A split job whose
deadline passed with SubJobs unfinished is expired (``Timeout`` on the parent): its
unfinished SubJobs are closed and its verified SubJobs are billed on their own.
"""

from __future__ import annotations

import time
from typing import Any

from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.base import ActingAgent
from offchain.emeth.execution.client import ExecutionClient


class TimeoutWatcher(ActingAgent):
    """Sends ``Timeout`` (and ``Reregister`` for SubJobs) as an authorised verifier.

    Args:
        client: execution layer client.
        account: an authorised verifier key.
        grace_s: wait this long past a deadline before acting (clock skew).
    """

    name = "timeouts"

    def __init__(
        self,
        client: ExecutionClient,
        account: Any,
        grace_s: float = 0.2,
        loop: LoopConfig | None = None,
    ) -> None:
        super().__init__(client, account, loop)
        self.grace_s = grace_s

    def _act(self, action: str, job: dict[str, Any]) -> bool:
        msg = {"jobId": job["jobId"], "verifier": self.account.address, "attempt": job["attempt"]}
        if not self.try_act(action, msg):
            return False
        self.log.info(action.lower(), job=job["jobId"], attempt=job["attempt"], node=job["node"])
        return True

    def tick(self) -> dict[str, int]:
        now = time.time()
        out = {"timed_out": 0, "reregistered": 0, "expired": 0}
        for j in self.client.jobs(state="processing", limit=1000):
            deadline = j["processingDeadline"]
            if deadline is not None and now > deadline + self.grace_s and self._act("Timeout", j):
                out["timed_out"] += 1
        for j in self.client.jobs(state="registered", limit=1000):
            if (
                not j["children"]
                and now > j["expiresAt"] + self.grace_s
                and self._act("Timeout", j)
            ):
                out["timed_out"] += 1
        # Re-offer timed-out SubJobs (including ones left over from a restart).
        for j in self.client.jobs(state="timed_out", limit=1000):
            if j["parentId"] is not None and now < j["expiresAt"] and self._act("Reregister", j):
                out["reregistered"] += 1
        # Split jobs past their deadline: refused (a lost race, retried next tick) while a
        # SubJob is still in flight or when every SubJob is verified (the Aggregator confirms).
        for j in self.client.jobs(state="split", limit=1000):
            if now > j["expiresAt"] + self.grace_s and self._act("Timeout", j):
                out["expired"] += 1
        return out
