"""Health of a process as a small state machine per part, and its HTTP mapping.

Each part of an agent (a daemon loop, a server, a dependency) is ``ok``, ``degraded(reason,
since)`` (failing but not yet past its threshold; still answering) or ``down(reason, since)``
(failing past its threshold, stalled with work waiting, or stopped). ``/health`` answers
HTTP 200 while no part is down and 503 naming every part that is (docs/spec.md "Health").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """The three states of a part."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass
class PartHealth:
    """The state of one part.

    Attributes:
        state: ok / degraded / down.
        reason: why it is not ok (None when ok).
        since: unix time at which it entered this state.
    """

    state: State = State.OK
    reason: str | None = None
    since: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value, "reason": self.reason, "since": round(self.since, 3)}


class HealthTracker:
    """Keeps a part's :class:`PartHealth`, changing ``since`` only on a transition."""

    def __init__(self) -> None:
        self.current = PartHealth()

    def set(self, state: State, reason: str | None = None) -> PartHealth:
        cur = self.current
        if cur.state != state or (state != State.OK and cur.reason != reason):
            since = cur.since if cur.state == state else time.time()
            self.current = PartHealth(state, reason, since)
        return self.current


def overall(parts: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of ``/health`` from each part's ``health`` entry.

    Args:
        parts: part name -> its health document; a part's state is read from its
            ``health.state`` (a :meth:`PartHealth.to_json`), a part without one counts ok.

    Returns:
        ``(200 | 503, {"status": "ok" | "degraded" | "down", "failing": [...], **parts})``;
        ``failing`` names each down part with its reason (``"batcher: RpcError: ..."``).
    """
    failing: list[str] = []
    degraded = False
    for name, doc in parts.items():
        h = doc.get("health") if isinstance(doc, dict) else None
        if not isinstance(h, dict):
            continue
        if h.get("state") == State.DOWN:
            failing.append(f"{name}: {h.get('reason')}")
        elif h.get("state") == State.DEGRADED:
            degraded = True
    status = "down" if failing else ("degraded" if degraded else "ok")
    return (503 if failing else 200), {"status": status, "failing": failing, **parts}


def health_response(parts: dict[str, dict[str, Any]], flat: bool = False) -> Any:
    """The ``/health`` FastAPI response for ``parts`` (see :func:`overall`).

    Args:
        parts: part name -> health document.
        flat: a process of one part: its document's fields at the top level of the body.
    """
    from fastapi.responses import JSONResponse

    code, body = overall(parts)
    if flat:
        body = {"status": body["status"], "failing": body["failing"]}
        for doc in parts.values():
            body.update(doc)
    return JSONResponse(body, status_code=code)
