"""L2 Splitter: divides splittable jobs' datasets into SubJobs linked to the parent."""

from __future__ import annotations

import json
from typing import Any

from offchain.common.daemon import LoopConfig
from offchain.emeth.agents.base import ProgramAgent, describe, transient
from offchain.emeth.execution.client import ExecutionClient
from offchain.emeth.programs import ProgramRegistry
from offchain.storage.client import BlobClient


class Splitter(ProgramAgent):
    """Splits each registered, splittable job into up to ``parts`` SubJobs.

    SubJob ids are derived from the parent's id and the datasets are content-addressed, so
    the SplitJob action is the same every time it is built: a restart cannot duplicate it.

    Args:
        client: execution layer client.
        blobs: storage client.
        programs: program registry.
        account: the splitter's key (an authorised splitter).
        parts: SubJobs per split (the program may make fewer).
    """

    name = "splitter"

    def __init__(
        self,
        client: ExecutionClient,
        blobs: BlobClient,
        programs: ProgramRegistry,
        account: Any,
        parts: int = 4,
        loop: LoopConfig | None = None,
    ) -> None:
        super().__init__(client, blobs, programs, account, loop)
        self.parts = parts
        self._unsplittable: set[str] = set()

    def tick(self) -> dict[str, int]:
        split = 0
        for job in self.client.jobs(state="registered", limit=200):
            if (
                not job["splittable"]
                or job["parentId"] is not None
                or job["jobId"] in self._unsplittable
                or job["programId"] not in self.programs
            ):
                continue
            try:
                program = self.programs.get(job["programId"])
                data = self.blobs.get(job["datasetKey"])
                pieces = program.split(data, self.parts, json.loads(job["params"]))
            except Exception as e:
                if transient(e):
                    raise
                # This job's input is at fault: a node takes it whole and reports it.
                self._unsplittable.add(job["jobId"])
                self.log.warning("split_skipped", job=job["jobId"], error=describe(e))
                continue
            if len(pieces) < 2:
                self._unsplittable.add(job["jobId"])  # processed whole by a node
                continue
            keys = [self.blobs.put(p) for p in pieces]
            msg = {"parentId": job["jobId"], "splitter": self.account.address, "datasetKeys": keys}
            if not self.try_act("SplitJob", msg):
                continue  # a node took it first, or it was cancelled
            self.log.info("split", job=job["jobId"], subjobs=len(keys))
            split += 1
        return {"split": split}
