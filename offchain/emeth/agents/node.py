"""EMETH Node worker: picks jobs by fee and deadline, processes them, submits results.

Per tick: first finish any job this node declared (``processing`` with its address: the
position survives a restart, since it lives in the execution layer), then pick the best
registered job: highest fee, then earliest expiry. For it: ``Process``, download the
dataset, compute, store the result, ``Submit``. Results are deterministic and content
addressed and ``Submit`` is keyed by (job, attempt), so a restart between process and
submit neither loses nor duplicates work. A job the node cannot compute (its dataset missing
or rejected by the program) is reported with ``ReportInput``: the verifier re-runs the
program, and a confirmed report charges the requester, not the node.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.base import ProgramAgent, describe, refused, transient
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.programs import ProgramRegistry
from offchain.storage.client import BlobClient

HONEST = "honest"
CHEAT = "cheat"  # submits corrupted results (the verifier must reject them)
STALL = "stall"  # declares process and never submits (the timeout watcher must act)
BEHAVIOURS = (HONEST, CHEAT, STALL)


@dataclass
class NodePolicy:
    """How a node chooses and handles jobs.

    Attributes:
        min_fee_wei: ignore jobs paying less.
        programs: ProgramIds it runs (empty: all it knows).
        split_grace_s: leave a fresh splittable job to the Splitter this long.
        hold_s: pause between ``Process`` and ``Submit`` (fault-injection for tests/demos).
        behaviour: ``honest`` | ``cheat`` | ``stall`` (adversarial nodes for the demo).
        max_jobs_per_tick: jobs processed per poll.
        max_jobs: jobs taken over the worker's life (0: no limit), a capacity knob.
    """

    min_fee_wei: int = 1
    programs: tuple[str, ...] = ()
    split_grace_s: float = 1.0
    hold_s: float = 0.0
    behaviour: str = HONEST
    max_jobs_per_tick: int = 4
    max_jobs: int = 0


class NodeWorker(ProgramAgent):
    """One EMETH node.

    Args:
        client: execution layer client.
        blobs: storage client.
        programs: program registry.
        account: the node's key (it must hold collateral on EmethCore).
        policy: job choice and behaviour.
    """

    name = "node"

    def __init__(
        self,
        client: ExecutionClient,
        blobs: BlobClient,
        programs: ProgramRegistry,
        account: Any,
        policy: NodePolicy | None = None,
        loop: LoopConfig | None = None,
    ) -> None:
        name = f"node-{account.address[2:8].lower()}"
        super().__init__(client, blobs, programs, account, loop, name=name)
        self.policy = policy or NodePolicy()
        if self.policy.behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        self._stalled: set[tuple[str, int]] = set()
        self._given_back: set[str] = set()
        self.taken = 0

    @property
    def address(self) -> str:
        return str(self.account.address)

    def _runs(self, program_id: str) -> bool:
        ok = not self.policy.programs or program_id in self.policy.programs
        return ok and program_id in self.programs

    def candidates(self, now: float | None = None) -> list[dict[str, Any]]:
        """Registered jobs this node would take, best first (fee desc, then expiry asc)."""
        now = now or time.time()
        out = []
        for j in self.client.jobs(state="registered", limit=500):
            if (
                j["children"]
                or j["jobId"] in self._given_back
                or not self._runs(j["programId"])
                or j["fee"] < self.policy.min_fee_wei
            ):
                continue
            if j["expiresAt"] <= now:
                continue
            if (
                j["splittable"]
                and j["parentId"] is None
                and now - j["createdAt"] < self.policy.split_grace_s
            ):
                continue  # give the Splitter its chance first
            out.append(j)
        out.sort(key=lambda j: (-j["fee"], j["expiresAt"], j["createdAt"]))
        return out

    def tick(self) -> dict[str, int]:
        done = {"submitted": 0, "processed": 0, "withdrawn": 0, "reported": 0}
        # 1. Resume what this node declared before (e.g. before a restart).
        for j in self.client.jobs(state="processing", node=self.address, limit=100):
            self._finish(j, done)
        # 2. Take new work.
        taken = 0
        for j in self.candidates():
            if taken >= self.policy.max_jobs_per_tick or self._stop.is_set():
                break
            if self.policy.max_jobs and self.taken >= self.policy.max_jobs:
                break
            msg = {"jobId": j["jobId"], "node": self.address, "attempt": j["attempt"]}
            try:
                res = self.client.act("Process", msg, self.account)
            except Exception as e:
                if refused(e, "insufficient_collateral"):
                    self.log.warning("cannot_process", error=str(e))
                    break  # nothing will be accepted until collateral is topped up
                if refused(e):
                    continue  # another node was faster, or the job changed
                raise
            taken += 1
            self.taken += 1
            done["processed"] += 1
            self.log.info("process", job=j["jobId"], attempt=j["attempt"], fee=j["fee"])
            self._finish(res["job"], done)
        return done

    def _finish(self, job: dict[str, Any], done: dict[str, int]) -> None:
        key = (job["jobId"], job["attempt"])
        if self.policy.behaviour == STALL or key in self._stalled:
            self._stalled.add(key)
            return
        if self.policy.hold_s and self._stop.wait(self.policy.hold_s):
            return
        try:
            program = self.programs.get(job["programId"])
            data = self.blobs.get(job["datasetKey"])
            result, fuel = program.compute(data, json.loads(job["params"]))
        except Exception as e:
            if transient(e):
                raise
            # This job's input is at fault, not the node: report it (the verifier confirms).
            self._given_back.add(job["jobId"])
            msg = {
                "jobId": job["jobId"],
                "node": self.address,
                "attempt": job["attempt"],
                "reason": describe(e),
            }
            if self.try_act("ReportInput", msg):
                self.log.info("report_input", job=job["jobId"], reason=msg["reason"])
                done["reported"] += 1
            return
        if self.policy.behaviour == CHEAT:
            result = b"\x00corrupted\x00" + result[::-1]
        result_key = self.blobs.put(result)
        msg = {
            "jobId": job["jobId"],
            "node": self.address,
            "attempt": job["attempt"],
            "resultKey": result_key,
            "fuel": fuel,
        }
        try:
            self.client.act("Submit", msg, self.account)
        except Exception as e:
            if refused(e):
                self.log.warning("submit_refused", job=job["jobId"], error=str(e))
                return
            raise
        done["submitted"] += 1
        self.log.info("submit", job=job["jobId"], attempt=job["attempt"], fuel=fuel)

    def withdraw(self, job_id: str, attempt: int, reason: str = "") -> dict[str, Any]:
        """Give a declared job back (it is re-offered; a penalty is recorded for this node)."""
        msg = {"jobId": job_id, "node": self.address, "attempt": attempt}
        res = self.client.act("Withdraw", msg, self.account)
        self.log.info("withdraw", job=job_id, attempt=attempt, reason=reason)
        return res
