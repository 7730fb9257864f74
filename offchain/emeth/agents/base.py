"""What every EMETH agent shares on top of the common daemon loop: counters, health, keys.

An agent implements :meth:`Agent.tick` (one poll: look at the execution layer, act, return
a small dict of counters). :meth:`Agent.run` calls it every ``poll_interval_ms`` with random
jitter until stopped; a failed tick is retried with exponential backoff, forever (after
``max_failures`` failures in a row ``/health`` reports the agent down until it recovers). Only
an agent-level failure (:func:`transient`: the execution layer or the blob store unreachable)
may leave a tick: a failure of one job (its dataset missing or malformed, a result a program
cannot parse, a program crashing on it) is handled for that job alone (skipped, reported,
rejected), so one poison job never marks the agent down.
Actions are idempotent (stable ids, EIP-712 digests), so a restarted agent just polls again.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from offchain.common.daemon import Daemon, LoopConfig
from offchain.emeth.errors import ExecutionLayerError
from offchain.storage.errors import BadKey, BlobNotFound, BlobTooLarge, StorageError

if TYPE_CHECKING:
    from offchain.emeth.execution.client import ExecutionClient
    from offchain.emeth.programs import ProgramRegistry
    from offchain.storage.client import BlobClient


class StateFile:
    """A small JSON document persisted atomically (write to a temp file, then rename)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {}
        if self.path is not None and self.path.exists():
            try:
                self.data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self.data = {}

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, sort_keys=True))
        os.replace(tmp, self.path)


class Agent(Daemon):
    """Base class of an EMETH agent: the shared :class:`~offchain.common.daemon.Daemon` loop
    with per-agent counters (``totals``) and a health document.

    Args:
        loop: polling knobs.
        name: agent name in logs and health.
    """

    name = "agent"

    def __init__(self, loop: LoopConfig | None = None, name: str | None = None) -> None:
        super().__init__(loop, name, structlog.get_logger("emeth").bind(agent=name or self.name))
        self.totals: dict[str, int] = {}

    def tick(self) -> dict[str, int]:
        """One poll. Returns counters (e.g. ``{"verified": 2}``)."""
        raise NotImplementedError

    def thread_name(self) -> str:
        return f"emeth-{self.name}"

    def busy(self, out: Any) -> bool:
        return any(out.values())

    def on_tick(self, out: Any) -> None:
        for k, v in out.items():
            self.totals[k] = self.totals.get(k, 0) + v
        if any(out.values()):
            self.log.info("tick", **out)

    def step(self) -> dict[str, int]:
        """Run one tick with the loop's failure bookkeeping (tests call this); {} if it failed."""
        out: dict[str, int] | None = super().step()
        return out if out is not None else {}

    def run(self, stop: threading.Event | None = None) -> None:
        self.log.info("started")
        super().run(stop)
        self.log.info("stopped", tripped=self.tripped)

    def health(self) -> dict[str, Any]:
        """Serializable state: alive, ticks, failures, last error, totals."""
        return {"agent": self.name, **self.loop_state(), "totals": dict(self.totals)}


class ActingAgent(Agent):
    """An agent that signs actions for the execution layer with its own key.

    Args:
        client: execution layer client.
        account: the agent's key.
        loop: polling knobs.
        name: agent name in logs and health (default: the class's ``name``).
    """

    def __init__(
        self,
        client: ExecutionClient,
        account: Any,
        loop: LoopConfig | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(loop, name)
        self.client = client
        self.account = account

    def try_act(self, action: str, msg: dict[str, Any]) -> bool:
        """Sign and send ``action``; False if the execution layer refused it (a lost race).

        Raises:
            Exception: any other failure (the loop retries it with backoff).
        """
        try:
            self.client.act(action, msg, self.account)
        except Exception as e:
            if refused(e):
                return False
            raise
        return True


class ProgramAgent(ActingAgent):
    """An acting agent that runs programs over stored blobs (splitter, node, verifier, aggregator).

    Args:
        client: execution layer client.
        blobs: storage client.
        programs: program registry.
        account: the agent's key.
        loop: polling knobs.
        name: agent name in logs and health (default: the class's ``name``).
    """

    def __init__(
        self,
        client: ExecutionClient,
        blobs: BlobClient,
        programs: ProgramRegistry,
        account: Any,
        loop: LoopConfig | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(client, account, loop, name)
        self.blobs = blobs
        self.programs = programs


def refused(e: Exception, *codes: str) -> bool:
    """True when ``e`` is the execution layer refusing with one of ``codes`` (a lost race)."""
    return (
        isinstance(e, ExecutionLayerError)
        and e.status in (403, 404, 409)
        and (not codes or e.code in codes)
    )


def transient(e: BaseException) -> bool:
    """True when ``e`` is an agent-level failure (a service unreachable or failing), which
    the loop retries; False when it is a fault of one job's input or result.

    A blob that is missing, malformed or over the limit is the job's fault; any other storage
    or execution-layer error, and a connection error or timeout, is the agent's.
    """
    if isinstance(e, BlobNotFound | BadKey | BlobTooLarge):
        return False
    return isinstance(e, ExecutionLayerError | StorageError | ConnectionError | TimeoutError)


def describe(e: BaseException, limit: int = 300) -> str:
    """A one-line reason for a per-job failure (``Type: message``, at most ``limit`` chars)."""
    return f"{type(e).__name__}: {e}".replace("\n", " ")[:limit]
