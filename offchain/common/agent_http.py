"""``/health`` and ``/metrics`` of a standalone agent process (``--metrics-port``).

``GET /health`` maps the loops' states to 200/503 (:func:`offchain.common.health.overall`);
``GET /metrics`` serves, per loop (label ``agent``): ``l2kit_agent_up`` (1 unless down),
``l2kit_agent_state`` (0 ok, 1 degraded, 2 down), ``l2kit_agent_ticks_total``,
``l2kit_agent_failures_total`` and ``l2kit_agent_failures_in_row``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from offchain.common.health import State, health_response

if TYPE_CHECKING:
    from fastapi import FastAPI

    from offchain.common.daemon import Daemon

_STATE_VALUE = {State.OK: 0, State.DEGRADED: 1, State.DOWN: 2}


class DaemonCollector(Collector):
    """Reads each loop's counters and state at scrape time."""

    def __init__(self, daemons: Callable[[], list[Daemon]]) -> None:
        self.daemons = daemons

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("l2kit_agent_up", "1 unless the loop is down", labels=["agent"])
        state = GaugeMetricFamily(
            "l2kit_agent_state", "0 ok, 1 degraded, 2 down", labels=["agent", "reason"]
        )
        ticks = CounterMetricFamily("l2kit_agent_ticks", "successful ticks", labels=["agent"])
        fails = CounterMetricFamily("l2kit_agent_failures", "failed ticks", labels=["agent"])
        in_row = GaugeMetricFamily(
            "l2kit_agent_failures_in_row", "failed ticks in a row", labels=["agent"]
        )
        for d in self.daemons():
            h = d.part_health()
            up.add_metric([d.name], 0 if h.state == State.DOWN else 1)
            state.add_metric([d.name, (h.reason or "")[:120]], _STATE_VALUE[h.state])
            ticks.add_metric([d.name], d.ticks)
            fails.add_metric([d.name], d.failures_total)
            in_row.add_metric([d.name], d.failures_in_row)
        yield from (up, state, ticks, fails, in_row)


def agent_app(daemons: Callable[[], list[Daemon]], title: str = "l2kit agent") -> FastAPI:
    """A FastAPI app with ``/health`` (200/503) and ``/metrics`` over ``daemons()``."""
    from fastapi import FastAPI
    from fastapi.responses import Response

    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    registry = CollectorRegistry()
    registry.register(DaemonCollector(daemons))

    @app.get("/health")
    def health() -> Any:
        docs = [(d.name, getattr(d, "health", d.health_doc)()) for d in daemons()]
        names = [n for n, _ in docs]
        keys = [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]
        return health_response({k: doc for k, (_, doc) in zip(keys, docs, strict=True)})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    return app
