"""L2 Verifier: runs the program's verifier on submitted results; verify or rejectResult.

A rejected SubJob is re-registered (a new attempt, offered to every node again).
"""

from __future__ import annotations

import json
from typing import Any

from offchain.emeth.agents.base import ProgramAgent
from offchain.emeth.errors import ProgramError
from offchain.storage.errors import StorageError


class Verifier(ProgramAgent):
    """Checks every submitted job with its program's ``verify``.

    Args:
        client: execution layer client.
        blobs: storage client.
        programs: program registry.
        account: an authorised verifier key.
    """

    name = "verifier"

    def _act(self, action: str, job: dict[str, Any], **extra: Any) -> bool:
        msg = {"jobId": job["jobId"], "verifier": self.account.address, "attempt": job["attempt"]}
        msg.update(extra)
        return self.try_act(action, msg)

    def tick(self) -> dict[str, int]:
        out = {"verified": 0, "rejected": 0, "reregistered": 0}
        for j in self.client.jobs(state="submitted", limit=200):
            program = self.programs.get(j["programId"])
            data = self.blobs.get(j["datasetKey"])
            try:
                result = self.blobs.get(j["resultKey"])
                verdict = program.verify(data, result, json.loads(j["params"]), j["fuel"] or 0)
                ok, reason = verdict.ok, verdict.reason
            except (StorageError, ProgramError) as e:
                ok, reason = False, f"result unavailable or unreadable: {e}"
            if ok:
                if self._act("Verify", j):
                    out["verified"] += 1
                    self.log.info("verify", job=j["jobId"], node=j["node"])
                continue
            if self._act("RejectResult", j, reason=reason[:300]):
                out["rejected"] += 1
                self.log.info("reject", job=j["jobId"], node=j["node"], reason=reason)
                if j["parentId"] is not None and self._act("Reregister", j):
                    out["reregistered"] += 1
        # SubJobs rejected earlier but not re-registered (e.g. a restart in between).
        for j in self.client.jobs(state="rejected", limit=200):
            if j["parentId"] is not None and self._act("Reregister", j):
                out["reregistered"] += 1
        return out
