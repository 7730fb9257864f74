"""The explorer's web pages: FastAPI routes rendering Jinja2 templates from the index.

Pages: ``/`` (overview), ``/sequencers``, ``/batches`` and ``/batches/{index}``, ``/l2``,
``/l2/block/{n}``, ``/l2/tx/{hash}``, ``/address/{address}``, ``/l1/tx/{hash}``,
``/search?q=``, ``/bridge``, ``/emeth``, ``/emeth/jobs/{id}``, ``/emeth/tickets/{id}``; and
``/health`` (JSON). Bad input renders a 400 page, an unknown hash / address / id a 404 page;
every response carries ``Server-Timing: app;dur=<ms>``.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from offchain.common.health import PartHealth, State, health_response
from offchain.explorer import charts
from offchain.explorer.views import BadInput, NotFound, Views

log = structlog.get_logger("explorer.app")
TEMPLATES = Path(__file__).resolve().parent / "templates"
E18 = 10**18


# ------------------------------------------------------------------ filters
def _number(v: Any) -> float | None:
    """``v`` as a number, or None (missing snapshot fields are jinja2 Undefined)."""
    if isinstance(v, Undefined) or v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def short(h: Any, n: int = 6) -> str:
    s = str(h or "")
    return s if len(s) <= 2 + 2 * n else f"{s[: 2 + n]}…{s[-n:]}"


def eth(wei: Any, digits: int = 4) -> str:
    if _number(wei) is None:
        return "—" if isinstance(wei, Undefined) or wei is None else str(wei)
    try:
        v = int(wei)
    except (TypeError, ValueError):
        v = int(float(wei))
    if v and abs(v) < 10 ** (18 - digits):
        return f"{v:,} wei"  # too small to show in units of 10**18
    return f"{v / E18:,.{digits}f}".rstrip("0").rstrip(".") if v else "0"


def ts(unix: Any) -> str:
    v = _number(unix)
    if v is None:
        return "—"
    try:
        return datetime.fromtimestamp(v, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):
        return "—"


def duration(seconds: Any) -> str:
    v = _number(seconds)
    if v is None:
        return "—"
    s = int(v)
    sign, s = ("-" if s < 0 else ""), abs(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{sign}{h}h{m:02d}m{sec:02d}s" if h else f"{sign}{m}m{sec:02d}s"


def countdown(until: Any, now: Any) -> Markup:
    """A live countdown to L1 time ``until`` (seconds), ticking in the page."""
    u, n = _number(until), _number(now)
    if u is None or n is None:
        return Markup("—")
    left = int(u - n)
    return Markup(
        f'<span class="countdown" data-left="{left}">{escape(duration(max(0, left)))}</span>'
    )


def _link(href: str, text: str, title: str = "") -> Markup:
    t = f' title="{escape(title)}"' if title else ""
    return Markup(f'<a href="{escape(href)}"{t}>{escape(text)}</a>')


def make_env(views: Views) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), cache_size=64
    )
    names = views.names()
    env.filters.update(short=short, eth=eth, ts=ts, duration=duration)
    env.globals.update(
        countdown=countdown,
        bars=charts.bars,
        shares=charts.shares,
        timeline_chart=charts.timeline,
        status_colour=lambda s: charts.STATUS_COLOURS.get(s, "#888"),
        l2tx=lambda h: _link(f"/l2/tx/{h}", short(h), str(h)),
        l1tx=lambda h: _link(f"/l1/tx/{h}", short(h), str(h)),
        block=lambda n: _link(f"/l2/block/{n}", f"#{n}"),
        batch=lambda i: _link(f"/batches/{i}", f"#{i}"),
        job=lambda j: _link(f"/emeth/jobs/{j}", short(j, 8), str(j)),
        ticket=lambda t: _link(f"/emeth/tickets/{t}", f"#{t}"),
        hashlink=lambda h: _link(f"/search?q={h}", short(h), str(h)),
        addr=lambda a: (
            _link(f"/address/{str(a).lower()}", names.get(str(a).lower()) or short(a, 4), str(a))
            if a
            else Markup("—")
        ),
    )
    return env


def create_app(
    views: Views,
    refresh_s: int = 5,
    indexer_health: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """The explorer's FastAPI application over ``views``.

    Args:
        views: the page builders.
        refresh_s: auto-refresh period of the pages (0: off).
        indexer_health: the indexer loop's health document (a ``/health`` part).
    """
    app = FastAPI(title="l2kit explorer", docs_url=None, redoc_url=None, openapi_url=None)
    env = make_env(views)

    def render(request: Request, name: str, ctx: dict[str, Any], status: int = 200,
               refresh: bool = True) -> HTMLResponse:  # fmt: skip
        page = env.get_template(name).render(
            request=request,
            sources=views.board.all(),
            rollup_state=views.store.get("rollup") or {},
            refresh_s=refresh_s if refresh else 0,
            path=request.url.path,
            **ctx,
        )
        return HTMLResponse(page, status_code=status)

    def error(request: Request, status: int, title: str, message: str, hint: str = "") -> Response:
        ctx = {"status": status, "title": title, "message": message, "hint": hint}
        return render(request, "error.html", ctx, status=status, refresh=False)

    @app.middleware("http")
    async def timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        t0 = time.perf_counter()
        try:
            resp = await call_next(request)
        except Exception as e:  # noqa: BLE001 - a bug: a 500 page at once, never a hung request
            # A plain traceback string: a rendered one (with locals) takes seconds.
            tb = "".join(traceback.format_exception(e, limit=-6))
            log.error("page_failed", path=request.url.path, error=f"{type(e).__name__}: {e}",
                      traceback=tb)  # fmt: skip
            resp = error(request, 500, "Internal error", f"{type(e).__name__}: {e}")
        resp.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t0) * 1000:.2f}"
        return resp

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, e: NotFound) -> Response:
        return error(request, 404, "Not found", e.message, e.hint or "")

    @app.exception_handler(BadInput)
    async def _bad(request: Request, e: BadInput) -> Response:
        return error(request, 400, "Bad input", e.message, e.hint or "")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> Response:
        msg = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        return error(request, 400, "Bad input", msg)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> Response:
        if e.status_code == 404:
            return error(request, 404, "Not found", f"no page at {request.url.path}")
        return error(request, e.status_code, "Error", str(e.detail))

    def _num(v: str, what: str, digits: int = 18) -> int:
        """``v`` as a non-negative integer of at most ``digits`` digits (18: SQLite's int64)."""
        if not v.isdigit() or len(v) > digits:
            raise BadInput(f"{what} must be a non-negative integer, got {v[:40]!r}")
        return int(v)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        return render(request, "overview.html", views.overview())

    @app.get("/sequencers", response_class=HTMLResponse)
    def sequencers(request: Request) -> Response:
        return render(request, "sequencers.html", views.sequencers())

    @app.get("/batches", response_class=HTMLResponse)
    def batches(request: Request, page: str = "1") -> Response:
        return render(request, "batches.html", views.batches(_num(page, "page")))

    @app.get("/batches/{idx}", response_class=HTMLResponse)
    def batch(request: Request, idx: str) -> Response:
        return render(request, "batch.html", views.batch(_num(idx, "batch index")))

    @app.get("/l2", response_class=HTMLResponse)
    def l2(request: Request) -> Response:
        return render(request, "l2.html", views.l2())

    @app.get("/l2/block/{n}", response_class=HTMLResponse)
    def block(request: Request, n: str) -> Response:
        return render(request, "block.html", views.block(_num(n, "block number")))

    @app.get("/l2/tx/{h}", response_class=HTMLResponse)
    def tx(request: Request, h: str) -> Response:
        return render(request, "tx.html", views.tx(h))

    @app.get("/address/{a}", response_class=HTMLResponse)
    def address(request: Request, a: str) -> Response:
        return render(request, "address.html", views.address(a))

    @app.get("/l1/tx/{h}", response_class=HTMLResponse)
    def l1_tx(request: Request, h: str) -> Response:
        return render(request, "l1tx.html", views.l1_tx(h))

    @app.get("/search")
    def search(q: str = "") -> Response:
        return RedirectResponse(views.search(q), status_code=303)

    @app.get("/bridge", response_class=HTMLResponse)
    def bridge(request: Request) -> Response:
        return render(request, "bridge.html", views.bridge())

    @app.get("/emeth", response_class=HTMLResponse)
    def emeth(request: Request) -> Response:
        return render(request, "emeth.html", views.emeth())

    @app.get("/emeth/jobs/{job_id}", response_class=HTMLResponse)
    def job(request: Request, job_id: str) -> Response:
        return render(request, "job.html", views.job(job_id))

    @app.get("/emeth/tickets/{tid}", response_class=HTMLResponse)
    def ticket(request: Request, tid: str) -> Response:
        return render(request, "ticket.html", views.ticket(_num(tid, "ticket id", digits=78)))

    @app.get("/health")
    def health() -> Response:
        """docs/spec.md "Health states": one part per source and the indexer loop."""
        parts: dict[str, dict[str, Any]] = {}
        for src in views.board.all():
            doc: dict[str, Any] = {"url": src.url, "configured": src.state != "off",
                                   "lastOkAt": src.last_ok_at}  # fmt: skip
            if src.state != "off":
                state = State.OK if src.state == "ok" else State.DOWN
                doc["health"] = PartHealth(state, src.reason or None, src.since).to_json()
            parts[src.name] = doc
        if indexer_health is not None:
            parts["indexer"] = indexer_health()
        return health_response(parts)  # type: ignore[no-any-return]

    return app
