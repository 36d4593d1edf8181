"""The governance pages: server-rendered HTML (Jinja2) shown inside Airflow's UI.

Pages read through the same functions and authorisation as the API (:mod:`.queries`,
:mod:`.access`); their only script is the theme follower, the lifecycle buttons (which call the
API) and the live refresh of a review. Assets are served from the package (no CDN).
"""

from __future__ import annotations

import json
import mimetypes
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from airflow_ai_governance import __version__
from airflow_ai_governance.plugins import charts, queries, urls
from airflow_ai_governance.plugins import schemas as s
from airflow_ai_governance.plugins.access import Viewer
from airflow_ai_governance.plugins.api import NO_NUL, AirflowId, MapIndex, UseCaseId
from airflow_ai_governance.policy import LifecycleState
from airflow_ai_governance.store import session_scope

HERE = FsPath(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
mimetypes.add_type("image/svg+xml", ".svg")

Text = Annotated[str | None, Query(max_length=128, pattern=NO_NUL)]

HINTS = {
    401: "You are not logged in to Airflow. Log in, then open this page again.",
    403: "Your Airflow user may not see this. Access to a use case follows the DAGs that run it; "
    "decisions need a governance role. Ask an Airflow admin.",
    404: "Check the link, or start from the registry or the approvals inbox.",
    409: "The request conflicts with the current state: read the reason, fix it, try again.",
    422: "A parameter of the link is malformed: correct it, or start again from the menu.",
    503: "The governance store cannot be reached: ask the Airflow operators to check "
    "[ai_governance] sql_alchemy_conn. Nothing was changed.",
}


def _duration(seconds: float) -> str:
    """``93784`` -> ``1 d 2 h``: how long something has waited, for people."""
    total = int(seconds)
    if total >= 86400:
        return f"{total // 86400} d {total % 86400 // 3600} h"
    if total >= 3600:
        return f"{total // 3600} h {total % 3600 // 60} min"
    if total >= 60:
        return f"{total // 60} min"
    return f"{total} s"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


TEMPLATES.env.filters.update(duration=_duration, when=_when, cell=_cell)
TEMPLATES.env.globals.update(version=__version__)


def _base(request: Request) -> str:
    return str(request.scope.get("root_path") or "").rstrip("/")


#: The pages load nothing from elsewhere and run no inline script: what an AI output or a policy
#: contains can never execute or call out, even if it got past escaping.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    base = _base(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"base": base, "nav_route": urls.NAV_ROUTE, "in_airflow": urls.in_airflow, **context},
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = CSP
    return response


def render_error(request: Request, status_code: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        status_code,
        status=status_code,
        message=message,
        hint=HINTS.get(status_code, "Try again; if it persists, tell the Airflow operators."),
        viewer=None,
    )


def _utc_day(day: date | None, *, end: bool = False) -> datetime | None:
    if day is None:
        return None
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _gate_chart(metrics: s.Metrics) -> str:
    days = sorted({p.day for p in metrics.gate_outcomes})
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(days))
    for p in metrics.gate_outcomes:
        label = "failed" if p.outcome in queries.FAILING_OUTCOMES else p.outcome
        totals[f"{p.check}: {label}"][days.index(p.day)] += p.count
    return charts.stacked_bars("Gate outcomes per day", days, dict(sorted(totals.items())), "checks")


def _latency_chart(metrics: s.Metrics) -> str:
    by_status: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for p in metrics.approval_latency:
        by_status[p.status].append((p.opened_at, p.seconds / 3600))
    return charts.time_series("Approval latency (hours from request to decision)", by_status, y_label="hours")


def _drift_charts(metrics: s.Metrics) -> list[tuple[str, str]]:
    grouped: dict[tuple[str, str], list[s.DriftPoint]] = defaultdict(list)
    for p in metrics.drift_series:
        grouped[(p.feature, p.statistic)].append(p)
    out = []
    for (feature, statistic), points in sorted(grouped.items()):
        svg = charts.time_series(
            f"Drift of {feature} ({statistic})",
            {statistic: [(p.at, p.value) for p in points]},
            threshold=points[-1].threshold,
            y_label=statistic,
        )
        out.append((f"{feature} ({statistic})", svg))
    return out


def mount(app: FastAPI, viewer_dep: Callable[..., Viewer]) -> None:
    """Add the pages and their static assets to ``app``."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="aigov-static")
    current_viewer = Depends(viewer_dep)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/use-cases", response_class=HTMLResponse, include_in_schema=False)
    def registry_page(
        *,
        request: Request,
        viewer: Viewer = current_viewer,
        q: Text = None,
        state: Annotated[LifecycleState | None, Query()] = None,
        tier: Annotated[int | None, Query(ge=1, le=3)] = None,
        after: Text = None,
    ) -> HTMLResponse:
        with session_scope(readonly=True) as session:
            page = queries.list_use_cases(session, viewer, state=state, tier=tier, q=q, after=after, limit=50)
            inbox = queries.list_approvals(session, viewer, status="open", limit=1)
        next_url = None
        if page.next:
            params = {"q": q, "state": state, "tier": tier, "after": page.next}
            next_url = f"{_base(request)}/?{urlencode({k: v for k, v in params.items() if v})}"
        return render(
            request,
            "registry.html",
            viewer=viewer,
            page=page,
            next_url=next_url,
            q=q or "",
            state=state or "",
            tier=tier or "",
            states=[str(x) for x in LifecycleState],
            open_approvals=inbox.total,
            active="registry",
        )

    @app.get("/use-cases/{use_case_id}", response_class=HTMLResponse, include_in_schema=False)
    def use_case_page(
        *,
        request: Request,
        viewer: Viewer = current_viewer,
        use_case_id: UseCaseId,
        days: Annotated[int, Query(ge=1, le=3650)] = 30,
    ) -> HTMLResponse:
        with session_scope(readonly=True) as session:
            detail = queries.use_case_detail(session, viewer, use_case_id)
            metrics = queries.metrics(session, viewer, use_case_id, days)
        return render(
            request,
            "use_case.html",
            viewer=viewer,
            uc=detail,
            p=detail.policy,
            days=days,
            gate_chart=_gate_chart(metrics),
            latency_chart=_latency_chart(metrics),
            drift_charts=_drift_charts(metrics),
            active="registry",
        )

    @app.get("/approvals", response_class=HTMLResponse, include_in_schema=False)
    def inbox_page(
        *,
        request: Request,
        viewer: Viewer = current_viewer,
        status: Annotated[str, Query(pattern=r"^(open|approved|rejected|timeout|closed|all)$")] = "open",
        use_case: Text = None,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> HTMLResponse:
        with session_scope(readonly=True) as session:
            page = queries.list_approvals(
                session, viewer, status=None if status == "all" else status, use_case=use_case, offset=offset
            )
        return render(
            request,
            "approvals.html",
            viewer=viewer,
            page=page,
            status=status,
            use_case=use_case or "",
            statuses=["open", "approved", "rejected", "timeout", "closed", "all"],
            active="approvals",
        )

    @app.get(
        "/review/{dag_id}/{run_id}/{task_id}/{map_index}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def review_page(
        *,
        request: Request,
        viewer: Viewer = current_viewer,
        dag_id: AirflowId,
        run_id: AirflowId,
        task_id: AirflowId,
        map_index: MapIndex,
        page: Annotated[int, Query(ge=1, le=2**31 - 1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> HTMLResponse:
        with session_scope(readonly=True) as session:
            review = queries.review(
                session, viewer, dag_id, run_id, task_id, map_index, page=page, page_size=page_size
            )
        return render(request, "review.html", viewer=viewer, r=review, req=review.request, active="approvals")

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(
        *,
        request: Request,
        viewer: Viewer = current_viewer,
        use_case: Text = None,
        event_type: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        actor: Text = None,
        since: Annotated[date | None, Query(description="UTC day, inclusive")] = None,
        until: Annotated[date | None, Query(description="UTC day, inclusive")] = None,
        after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    ) -> HTMLResponse:
        filters = {
            "use_case": use_case or None,
            "event_type": event_type or None,
            "actor": actor or None,
            "since": _utc_day(since),
            "until": _utc_day(until, end=True),
        }
        with session_scope(readonly=True) as session:
            page = queries.list_audit(session, viewer, after_seq=after_seq, limit=100, **filters)
        query = {k: v for k, v in request.query_params.items() if k != "after_seq" and v}
        export_query = {k: v for k, v in query.items() if k in ("use_case", "event_type", "actor")}
        if since:
            export_query["since"] = _utc_day(since).isoformat()  # type: ignore[union-attr]
        if until:
            export_query["until"] = _utc_day(until, end=True).isoformat()  # type: ignore[union-attr]
        return render(
            request,
            "audit.html",
            viewer=viewer,
            page=page,
            query=query,
            export_query=export_query,
            since=since or "",
            until=until or "",
            active="audit",
        )
