"""L2 Verifier: runs the program's verifier on submitted results; verify or rejectResult.

An input a node reported as unusable (``ReportInput``) is checked by running the program on it:
confirmed with ``RejectInput`` (the requester is charged) or refused with ``RefuseReport`` (the
node is penalised, the job re-offered). A rejected SubJob is re-registered (a new attempt,
offered to every node again). A result that cannot be read or checked (missing, malformed, too
deep, or crashing the program's verifier) is rejected like a wrong one: a failure of one job
never stops the verifier.
"""

from __future__ import annotations

import json
from typing import Any

from offchain.emeth.agents.base import ProgramAgent, describe, transient


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
        out = {
            "verified": 0,
            "rejected": 0,
            "reregistered": 0,
            "inputs_rejected": 0,
            "reports_refused": 0,
        }
        for j in self.client.jobs(state="submitted", limit=200):
            if j["programId"] not in self.programs:
                continue  # not ours to judge (another verifier runs that program)
            ok, reason = self._check(j)
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
        # Inputs reported unusable by a node: run the program on them to confirm or refuse.
        for j in self.client.jobs(state="input_reported", limit=200):
            if j["programId"] not in self.programs:
                continue
            fault = self._input_fault(j)
            if fault is not None:
                if self._act("RejectInput", j, reason=fault):
                    out["inputs_rejected"] += 1
                    self.log.info("reject_input", job=j["jobId"], reason=fault)
            elif self._act("RefuseReport", j, reason="the program runs on this input"):
                out["reports_refused"] += 1
                self.log.info("refuse_report", job=j["jobId"], node=j["node"])
        # SubJobs rejected earlier but not re-registered (e.g. a restart in between).
        for j in self.client.jobs(state="rejected", limit=200):
            if j["parentId"] is not None and self._act("Reregister", j):
                out["reregistered"] += 1
        return out

    def _check(self, j: dict[str, Any]) -> tuple[bool, str]:
        """Run the program's verifier on job ``j``'s result: ``(ok, reason)``.

        Raises:
            Exception: only agent-level failures (:func:`transient`).
        """
        program = self.programs.get(j["programId"])
        try:
            data = self.blobs.get(j["datasetKey"])
            result = self.blobs.get(j["resultKey"])
            verdict = program.verify(data, result, json.loads(j["params"]), j["fuel"] or 0)
        except Exception as e:
            if transient(e):
                raise
            return False, f"result unavailable or unreadable: {describe(e)}"
        return verdict.ok, verdict.reason

    def _input_fault(self, j: dict[str, Any]) -> str | None:
        """Why job ``j``'s input is unusable (the program fails on it), or None if it runs.

        Raises:
            Exception: only agent-level failures (:func:`transient`).
        """
        program = self.programs.get(j["programId"])
        try:
            data = self.blobs.get(j["datasetKey"])
            program.compute(data, json.loads(j["params"]))
        except Exception as e:
            if transient(e):
                raise
            return describe(e)
        return None
