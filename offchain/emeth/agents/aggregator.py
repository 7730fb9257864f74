"""L2 Aggregator: when every SubJob of a parent is verified, merge results and confirm it."""

from __future__ import annotations

import json

from offchain.emeth.agents.base import ProgramAgent, describe, transient


class Aggregator(ProgramAgent):
    """Runs the program's ``aggregate`` over SubJob results (in SubJob order), stores the
    merged result and sends ``Confirm`` for the parent.

    Args:
        client: execution layer client.
        blobs: storage client.
        programs: program registry.
        account: an authorised aggregator key.
    """

    name = "aggregator"

    def tick(self) -> dict[str, int]:
        confirmed = 0
        for parent in self.client.jobs(state="split", limit=200):
            subs = self.client.jobs(parent=parent["jobId"], limit=1000)
            if len(subs) != parent["children"] or any(
                s["state"] not in ("verified", "billed") for s in subs
            ):
                continue
            subs.sort(key=lambda s: s["subIndex"])
            try:
                program = self.programs.get(parent["programId"])
                results = [self.blobs.get(s["resultKey"]) for s in subs]
                merged = program.aggregate(results, json.loads(parent["params"]))
            except Exception as e:
                if transient(e):
                    raise
                # One parent's results cannot be merged: skip it (it expires), keep serving.
                self.log.warning("aggregate_failed", job=parent["jobId"], error=describe(e))
                continue
            key = self.blobs.put(merged)
            msg = {
                "jobId": parent["jobId"],
                "aggregator": self.account.address,
                "resultKey": key,
                "fuel": sum(int(s["fuel"]) for s in subs),
            }
            if not self.try_act("Confirm", msg):
                continue
            confirmed += 1
            self.log.info("confirm", job=parent["jobId"], subjobs=len(subs))
        return {"confirmed": confirmed}
