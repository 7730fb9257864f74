"""HTTP API of the execution layer (FastAPI), and a server that runs it in a thread.

Errors are JSON ``{"error": {"code", "message", "details"}}`` with status 401 (bad signature),
403 (role, collateral or funds), 404 (unknown id), 409 (illegal transition) or 422
(invalid input). See docs/spec.md "EMETH execution layer" for the routes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import structlog
from fastapi import FastAPI, Query, Request
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import DBAPIError, IntegrityError

from offchain.common.health import overall
from offchain.common.http import BackgroundServer
from offchain.emeth.errors import ActionError, EmethError
from offchain.emeth.execution.models import ActionRequest, LeavesSubmission, TicketSubmission
from offchain.emeth.execution.service import ExecutionLayer
from offchain.errors import L2KitError

log = structlog.get_logger("emeth.api")


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse(status_code=status, content={"error": body})


# Ticket ids are sqlite INTEGERs (signed 64-bit): a larger one is a 422, not a lookup.
TICKET_ID = FastApiPath(ge=0, lt=2**63)
ROLE_NAMES = ("splitter", "verifier", "aggregator", "signer")  # execution.config.Roles


class AgentTotals(Collector):
    """``emeth_agent_events_total{agent, event}``: the counters (``totals``) of the agents
    running in the execution layer's process, read at each scrape (e.g. the L1 watcher's
    ``cancels``, ``settled`` and ``pending_reduced``)."""

    def __init__(self, agents_health: Callable[[], list[dict[str, Any]]]) -> None:
        self.agents_health = agents_health

    def collect(self) -> Iterator[CounterMetricFamily]:
        c = CounterMetricFamily(
            "emeth_agent_events", "Events counted by in-process agents", labels=["agent", "event"]
        )
        for h in self.agents_health():
            for event, n in sorted(h.get("totals", {}).items()):
                c.add_metric([str(h.get("agent", "")), str(event)], float(n))
        yield c


def create_app(
    service: ExecutionLayer, agents_health: Callable[[], list[dict[str, Any]]] | None = None
) -> FastAPI:
    """The FastAPI application over ``service``.

    Args:
        service: the execution layer.
        agents_health: health of agents running in the same process (shown by ``/health``).
    """
    app = FastAPI(title="EMETH execution layer", version="1")
    registry = CollectorRegistry()
    actions = Counter(
        "emeth_el_actions", "Actions by type and outcome", ["action", "outcome"], registry=registry
    )
    if agents_health is not None:
        registry.register(AgentTotals(agents_health))

    @app.exception_handler(ActionError)
    async def _action_error(request: Request, e: ActionError) -> JSONResponse:
        return _error(e.status, e.code, e.message, e.details)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, e: DBAPIError) -> JSONResponse:
        # Two execution-layer processes on one database: the loser of a race on the same row
        # (a unique key, a serialization failure or a deadlock) gets a 409 and retries; never
        # a 500. The winner's write is the one that counts.
        text = str(e.orig).lower()
        if isinstance(e, IntegrityError) or "deadlock" in text or "serializ" in text:
            return _error(409, "conflict", "a concurrent write to the same record won; retry")
        return _error(503, "database_unavailable", f"database error: {type(e.orig).__name__}")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError) -> JSONResponse:
        errs = [f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
        return _error(422, "invalid_request", "; ".join(errs)[:1000])

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, e: OverflowError) -> JSONResponse:
        # A number too large for the database reached a query: the client's value.
        log.info("request_refused", status=422, path=request.url.path, error=str(e))
        return _error(422, "invalid_request", f"a value is out of range: {e}")

    @app.exception_handler(L2KitError)
    async def _l2kit(request: Request, e: L2KitError) -> JSONResponse:
        return _error(503, "l1_unavailable", str(e))

    @app.get("/health")
    def health() -> JSONResponse:
        """200 while every agent in this process is up, 503 naming those that are down."""
        agents = agents_health() if agents_health else []
        names = [str(a.get("agent", "agent")) for a in agents]
        keys = [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]
        code, body = overall(dict(zip(keys, agents, strict=True)))
        body = {
            "status": body["status"],
            "failing": body["failing"],
            "time": service.clock(),
            "jobs": service.counts(),
            "nextTicketId": service.next_ticket_id(),
            "agents": agents,
        }
        return JSONResponse(body, status_code=code)

    @app.get("/domain")
    def domain() -> dict[str, Any]:
        return service.domain.as_dict()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    @app.post("/actions")
    def post_action(req: ActionRequest) -> dict[str, Any]:
        try:
            out = service.apply(req.action, req.message, req.signature)
        except ActionError as e:
            actions.labels(req.action[:32], e.code).inc()
            raise
        actions.labels(req.action, "replayed" if out["replayed"] else "applied").inc()
        return out

    @app.get("/jobs")
    def list_jobs(
        state: str | None = None,
        node: str | None = None,
        requester: str | None = None,
        parent: str | None = None,
        billable: bool = False,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> list[dict[str, Any]]:
        try:
            rows = service.jobs(state, node, requester, parent, billable, limit, offset)
        except ValueError as e:
            raise ActionError(422, "invalid_filter", str(e)) from e
        return [j.model_dump() for j in rows]

    @app.get("/jobs/{job_id}")
    def get_job(job_id: str) -> dict[str, Any]:
        return service.job(job_id).model_dump()

    @app.get("/jobs/{job_id}/backing")
    def get_backing(job_id: str) -> dict[str, Any]:
        """The job's ``JobBacking`` (its leaf in a posted Ticket)."""
        return service.backing(job_id)

    @app.get("/jobs/{job_id}/history")
    def get_history(job_id: str) -> list[dict[str, Any]]:
        return service.history(job_id)

    @app.get("/requesters/{address}/funds")
    def get_funds(address: str) -> dict[str, Any]:
        try:
            return service.funds(address).model_dump()
        except ValueError as e:
            raise ActionError(422, "invalid_address", str(e)) from e

    @app.get("/requesters/{address}/debit")
    def get_debit(address: str, settled: bool = False) -> dict[str, Any]:
        """The requester's newest debit leaf and its proof (``settled``: in a settled Ticket)."""
        try:
            return service.debit_proof(address, settled).model_dump()
        except ValueError as e:
            raise ActionError(422, "invalid_address", str(e)) from e

    @app.get("/roles/{address}")
    def get_roles(address: str) -> dict[str, Any]:
        """The operator roles ``address`` holds here (splitter, verifier, aggregator, signer)."""
        from eth_utils import is_address, to_checksum_address

        if not is_address(address):
            raise ActionError(422, "invalid_address", f"{address[:64]!r} is not an address")
        held = [r for r in ROLE_NAMES if service.roles.holds(r, address)]
        return {"address": to_checksum_address(address), "roles": held}

    @app.get("/penalties")
    def get_penalties(node: str | None = None, unbilled: bool = False) -> list[dict[str, Any]]:
        try:
            rows = service.penalties(node, unbilled)
        except ValueError as e:
            raise ActionError(422, "invalid_filter", str(e)[:200]) from e
        return [p.model_dump() for p in rows]

    @app.get("/tickets")
    def list_tickets(
        node: str | None = None,
        settled: bool | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        try:
            rows = service.tickets(node, settled, limit)
        except ValueError as e:
            raise ActionError(422, "invalid_filter", str(e)[:200]) from e
        return [t.model_dump() for t in rows]

    @app.get("/tickets/next-id")
    def next_id() -> dict[str, int]:
        return {"ticketId": service.next_ticket_id()}

    @app.get("/tickets/{ticket_id}")
    def get_ticket(ticket_id: int = TICKET_ID) -> dict[str, Any]:
        return service.ticket(ticket_id).model_dump()

    @app.post("/tickets")
    def post_ticket(t: TicketSubmission) -> dict[str, Any]:
        return service.store_ticket(t).model_dump()

    @app.post("/tickets/expire")
    def post_expire() -> dict[str, Any]:
        """Release every Ticket L1 shows expired unsettled (its jobs are billed again)."""
        return {"expired": service.expire_tickets()}

    @app.post("/tickets/{ticket_id}/leaves")
    def post_leaves(body: LeavesSubmission, ticket_id: int = TICKET_ID) -> dict[str, Any]:
        """Publish a posted Ticket's job leaves (watchers dispute from them)."""
        return service.publish_leaves(ticket_id, body)

    @app.get("/tickets/{ticket_id}/leaves")
    def get_leaves(ticket_id: int = TICKET_ID) -> dict[str, Any]:
        return service.posted_leaves(ticket_id)

    @app.post("/tickets/{ticket_id}/settled")
    def post_settled(ticket_id: int = TICKET_ID, tx: str | None = None) -> dict[str, Any]:
        service.ticket(ticket_id)
        return {"ticketId": ticket_id, "settled": service.mark_settled(ticket_id, tx)}

    return app


class ExecutionLayerServer(BackgroundServer):
    """Runs the execution-layer API with uvicorn in a background thread.

    Args:
        service: the execution layer.
        host: interface to bind.
        port: TCP port (``None``/0: a free one).
        agents_health: health of agents running in the same process (shown on ``/health``).
    """

    def __init__(
        self,
        service: ExecutionLayer,
        host: str = "127.0.0.1",
        port: int | None = None,
        agents_health: Callable[[], list[dict[str, Any]]] | None = None,
    ):
        super().__init__(
            create_app(service, agents_health), host, port, name="execution layer", error=EmethError
        )
        self.service = service
        self.agents_health = agents_health
