"""The governance app the plugin mounts under ``/ai-governance``: the typed API and the pages.

API under ``/ai-governance/api/v1`` (OpenAPI at ``/ai-governance/openapi.json``; Swagger UI and ReDoc
at ``/docs`` and ``/redoc``, served from the package, no CDN). Every route needs an authenticated
user (:mod:`.access`: per use case through Airflow's auth manager). Bad parameters answer 422,
an unknown thing 404, a refused decision 403 or 409, an unreachable sidecar 503; never 500.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path as Path_
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from airflow_ai_governance import __version__
from airflow_ai_governance.exceptions import (
    AIGovernanceError,
    AuditChainBroken,
    ChangeApprovalRefused,
    LifecycleError,
    SidecarUnavailable,
    UseCaseNotFound,
)
from airflow_ai_governance.keys import KeyMissing
from airflow_ai_governance.plugins import queries
from airflow_ai_governance.plugins import schemas as s
from airflow_ai_governance.plugins.access import (
    ACCESS,
    Viewer,
    require_governance,
    require_same_origin,
)
from airflow_ai_governance.policy import LifecycleState, build_checklist
from airflow_ai_governance.store import VerifyResult, session_scope, verify_chain
from airflow_ai_governance.store.audit import EXPORT_FORMATS, export_lines
from airflow_ai_governance.store.models import AuditEvent
from airflow_ai_governance.store.registry import (
    approve_change,
    current_policy,
    get_use_case,
    list_changes,
    record_refused_approval,
    reject_change,
    transition,
)

MAX_LIMIT = 1000
MAX_SEQ = 2**63 - 1
MAX_INT = 2**31 - 1
#: A verification of the whole chain is reused while the chain's head is unchanged, this long.
VERIFY_CACHE_SECONDS = 300.0

NO_NUL = r"^[^\x00]*$"
# Parameters: bounded, without NUL (PostgreSQL refuses NUL in text), so that bad input is a 422.
UseCaseId = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_NUL)]
AirflowId = Annotated[str, Path(min_length=1, max_length=250, pattern=NO_NUL)]
MapIndex = Annotated[int, Path(ge=-1, le=MAX_INT, description="-1 when the task is not mapped")]
OptUseCase = Annotated[str | None, Query(max_length=128, pattern=NO_NUL)]
OptAirflowId = Annotated[str | None, Query(max_length=250, pattern=NO_NUL)]
OptText = Annotated[str | None, Query(max_length=256, pattern=NO_NUL)]
Since = Annotated[AwareDatetime | None, Query(description="ISO 8601 with a timezone, inclusive")]
Until = Annotated[AwareDatetime | None, Query(description="ISO 8601 with a timezone, exclusive")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
StateFilter = Annotated[LifecycleState | None, Query()]
ApprovalStatus = Literal["open", "approved", "rejected", "timeout", "closed", "all"]


def sidecar() -> Iterator[Session]:
    """A read-only sidecar session for one request."""
    with session_scope(readonly=True) as session:
        yield session


SessionDep = Annotated[Session, Depends(sidecar)]


class _VerifyCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entry: tuple[tuple[int, str], s.VerifyOut, float] | None = None

    def get(self, session: Session) -> s.VerifyOut:
        head = session.execute(
            sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        key = (head.seq, head.hash) if head else (0, "")
        with self.lock:  # one walk of the chain at a time
            if (
                self.entry
                and self.entry[0] == key
                and time.monotonic() - self.entry[2] < VERIFY_CACHE_SECONDS
            ):
                return self.entry[1].model_copy(update={"cached": True})
            started = time.monotonic()
            try:
                result = verify_chain()
            except (AuditChainBroken, KeyMissing) as exc:  # untrusted checkpoints, no audit key
                result = VerifyResult(False, 0, reason=str(exc))
            out = s.VerifyOut(
                ok=result.ok,
                checked=result.checked,
                first_bad_seq=result.first_bad_seq,
                reason=result.reason,
                head_seq=result.head_seq,
                verified_at=datetime.now(UTC),
                seconds=round(time.monotonic() - started, 3),
                cached=False,
            )
            self.entry = (key, out, time.monotonic())
            return out


VERIFY = _VerifyCache()


def _check_range(since: datetime | None, until: datetime | None) -> None:
    if since and until and since >= until:
        raise HTTPException(
            422, f"`since` ({since.isoformat()}) must be before `until` ({until.isoformat()})"
        )


def build_router(viewer_dep: Callable[..., Viewer]) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    current_viewer = Depends(viewer_dep)

    @router.get("/me", response_model=s.Me, summary="The authenticated user and their governance role")
    def me(*, viewer: Viewer = current_viewer) -> s.Me:
        return s.Me(user=viewer.name, roles=list(viewer.roles), governance=viewer.governance)

    @router.get(
        "/use-cases", response_model=s.UseCasePage, summary="The registry: use cases this user may see"
    )
    def list_use_cases(
        *,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        state: StateFilter = None,
        tier: Annotated[int | None, Query(ge=1, le=3)] = None,
        q: Annotated[
            str | None, Query(max_length=128, pattern=NO_NUL, description="search id, title, owner")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        after: Annotated[
            str | None, Query(max_length=128, pattern=NO_NUL, description="cursor: `next`")
        ] = None,
    ) -> s.UseCasePage:
        return queries.list_use_cases(session, viewer, state=state, tier=tier, q=q, after=after, limit=limit)

    @router.get("/use-cases/{use_case_id}", response_model=s.UseCaseDetail, summary="One use case")
    def get_use_case_detail(
        *, use_case_id: UseCaseId, viewer: Viewer = current_viewer, session: SessionDep
    ) -> s.UseCaseDetail:
        return queries.use_case_detail(session, viewer, use_case_id)

    @router.get(
        "/use-cases/{use_case_id}/checklist",
        response_model=s.ChecklistOut,
        summary="The go-live checklist (as `aigov checklist`)",
    )
    def checklist(
        *,
        use_case_id: UseCaseId,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        to: Annotated[LifecycleState | None, Query(description="default: the next state")] = None,
    ) -> s.ChecklistOut:
        from airflow_ai_governance.policy.lifecycle import next_target

        ACCESS.require(session, viewer, use_case_id)
        row, policy = current_policy(session, use_case_id)
        if to is None and row.state == LifecycleState.RETIRED:
            raise HTTPException(
                409, f"{use_case_id!r} is retired; retirement is final, there is no next state"
            )
        return s.ChecklistOut.model_validate(build_checklist(policy, to or next_target(row.state)).as_dict())

    @router.get(
        "/use-cases/{use_case_id}/metrics",
        response_model=s.Metrics,
        summary="Gate outcomes per day, approval latency and drift series",
    )
    def metrics(
        *,
        use_case_id: UseCaseId,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        days: Annotated[int, Query(ge=1, le=3650)] = 30,
    ) -> s.Metrics:
        return queries.metrics(session, viewer, use_case_id, days)

    @router.post(
        "/use-cases/{use_case_id}/transitions",
        response_model=s.TransitionOut,
        status_code=201,
        summary="A lifecycle decision: promote, suspend, reinstate, retire",
        description="Needs a governance role; the owner never decides a promotion to production. The "
        "go-live checklist runs as for `aigov promote`; the decider recorded is the authenticated user.",
    )
    def decide(
        *,
        use_case_id: UseCaseId,
        body: s.TransitionIn,
        request: Request,
        viewer: Viewer = current_viewer,
    ) -> s.TransitionOut:
        require_same_origin(request, viewer)
        require_governance(viewer, "a lifecycle decision")
        with session_scope() as session:
            row = get_use_case(session, use_case_id, for_update=True)
            why = queries.decision_refusal(viewer, row, body.to)
            if why is not None:
                raise HTTPException(403, f"refused: {why}")
            record = transition(session, use_case_id, body.to, actor=viewer.actor(), reason=body.reason)
            return s.TransitionOut(
                use_case_id=use_case_id,
                from_state=record.from_state,
                to_state=record.to_state,
                actor=record.actor,
                reason=record.reason,
                policy_version=record.policy_version,
                at=record.at,
            )

    @router.get(
        "/use-cases/{use_case_id}/policy-changes",
        response_model=s.PolicyChangeList,
        summary="Policy changes that loosen control (pending ones wait for a second person)",
    )
    def list_policy_changes(
        *,
        use_case_id: UseCaseId,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        status: Literal["pending", "all"] = "pending",
    ) -> s.PolicyChangeList:
        ACCESS.require(session, viewer, use_case_id)
        changes = list_changes(session, use_case_id, pending_only=status == "pending")
        return s.PolicyChangeList(items=[queries.policy_change(c) for c in changes])

    @router.post(
        "/use-cases/{use_case_id}/policy-changes/{version}/{decision}",
        response_model=s.PolicyChangeOut,
        summary="Approve or reject a policy change that loosens control",
        description="Needs a governance role; approving also needs someone other than the use case's "
        "owner and the change's author (as `aigov policy approve-change`). Recorded as the "
        "authenticated user.",
    )
    def decide_change(
        *,
        use_case_id: UseCaseId,
        version: Annotated[int, Path(ge=1, le=MAX_INT)],
        decision: Literal["approve", "reject"],
        body: s.DecisionIn,
        request: Request,
        viewer: Viewer = current_viewer,
    ) -> s.PolicyChangeOut:
        require_same_origin(request, viewer)
        require_governance(viewer, f"to {decision} a policy change")
        decide = approve_change if decision == "approve" else reject_change
        try:
            with session_scope() as session:
                change = decide(session, use_case_id, version, viewer.actor(), body.reason)
                return queries.policy_change(change)
        except ChangeApprovalRefused as exc:
            record_refused_approval(None, exc)
            raise HTTPException(403, f"refused: {exc.reason}") from exc

    @router.get("/runs", response_model=s.RunPage, summary="Governed runs, newest first")
    def list_runs(
        *,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        use_case: OptUseCase = None,
        dag_id: OptAirflowId = None,
        run_id: OptAirflowId = None,
        status: Annotated[str | None, Query(max_length=16, pattern=NO_NUL)] = None,
        before: Annotated[AwareDatetime | None, Query(description="cursor: `next_before`")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ) -> s.RunPage:
        return queries.list_runs(
            session,
            viewer,
            use_case=use_case,
            dag_id=dag_id,
            run_id=run_id,
            status=status,
            before=before,
            limit=limit,
        )

    @router.get(
        "/runs/{governed_run_id}", response_model=s.RunDetail, summary="One run: checks and decisions"
    )
    def get_run(
        *,
        governed_run_id: Annotated[str, Path(max_length=36, pattern=NO_NUL)],
        viewer: Viewer = current_viewer,
        session: SessionDep,
    ) -> s.RunDetail:
        return queries.run_detail(session, viewer, governed_run_id)

    @router.get("/approvals", response_model=s.ApprovalPage, summary="The approvals inbox")
    def list_approvals(
        *,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        status: ApprovalStatus = "open",
        use_case: OptUseCase = None,
        offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> s.ApprovalPage:
        return queries.list_approvals(
            session,
            viewer,
            status=None if status == "all" else status,
            use_case=use_case,
            offset=offset,
            limit=limit,
        )

    @router.get(
        "/approvals/{dag_id}/{run_id}/{task_id}/{map_index}",
        response_model=s.Review,
        summary="The review of one approval request (the JSON twin of the review page)",
    )
    def get_review(
        *,
        dag_id: AirflowId,
        run_id: AirflowId,
        task_id: AirflowId,
        map_index: MapIndex,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        page: Annotated[int, Query(ge=1, le=MAX_INT)] = 1,
        page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> s.Review:
        return queries.review(
            session, viewer, dag_id, run_id, task_id, map_index, page=page, page_size=page_size
        )

    @router.get("/audit", response_model=s.AuditPage, summary="Audit events in chain order")
    def list_audit(
        *,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        use_case: OptUseCase = None,
        event_type: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        actor: OptText = None,
        since: Since = None,
        until: Until = None,
        after_seq: Annotated[
            int, Query(ge=0, le=MAX_SEQ, description="cursor: events with seq > after_seq")
        ] = 0,
        limit: Limit = 100,
    ) -> s.AuditPage:
        _check_range(since, until)
        return queries.list_audit(
            session,
            viewer,
            after_seq=after_seq,
            limit=limit,
            use_case=use_case,
            event_type=event_type,
            actor=actor,
            since=since,
            until=until,
        )

    @router.get(
        "/audit/verify",
        response_model=s.VerifyOut,
        summary="Verify the audit chain (cached while its head is unchanged)",
    )
    def verify(*, viewer: Viewer = current_viewer, session: SessionDep) -> s.VerifyOut:
        return VERIFY.get(session)

    @router.get(
        "/audit/export",
        summary="Export audit events (JSON lines or CSV), streamed",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
    )
    def export(
        *,
        viewer: Viewer = current_viewer,
        session: SessionDep,
        format: Literal["jsonl", "csv"] = "jsonl",
        use_case: OptUseCase = None,
        event_type: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        actor: OptText = None,
        since: Since = None,
        until: Until = None,
    ) -> StreamingResponse:
        from airflow_ai_governance.store import export_events

        _check_range(since, until)
        if use_case:
            ACCESS.require(session, viewer, use_case)
        visible = ACCESS.visible(session, viewer)

        def events() -> Iterator[dict[str, Any]]:
            for event in export_events(use_case_id=use_case, since=since, until=until):
                if visible is not None and event["use_case_id"] not in visible:
                    continue
                if (event_type and event["event_type"] != event_type) or (actor and event["actor"] != actor):
                    continue
                yield event

        assert format in EXPORT_FORMATS
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return StreamingResponse(
            export_lines(events(), format),
            media_type="text/csv" if format == "csv" else "application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="ai-governance-audit-{stamp}.{format}"'},
        )

    return router


# ---------------------------------------------------------------------------------- errors
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (SidecarUnavailable, 503),
    (UseCaseNotFound, 404),
    (LifecycleError, 409),
    (AIGovernanceError, 409),
)


def error_status(exc: Exception) -> int:
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    return 500


def wants_html(request: Request) -> bool:
    return "/api/v1/" not in request.url.path and "text/html" in request.headers.get("accept", "text/html")


def install_error_handlers(app: FastAPI, render_html: Callable[[Request, int, str], Response]) -> None:
    """Errors as JSON for the API and as a page for the pages, with what to do about them."""

    async def governance_error(request: Request, exc: Exception) -> Response:
        code = error_status(exc)
        if wants_html(request):
            return render_html(request, code, str(exc))
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if wants_html(request):
            return render_html(request, exc.status_code, str(exc.detail))
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()
        ]  # the offending input is not echoed back
        if wants_html(request):
            text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
            return render_html(request, 422, f"Bad request parameters: {text}")
        return JSONResponse(status_code=422, content={"detail": errors})

    app.add_exception_handler(AIGovernanceError, governance_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


@functools.cache
def _redoc_bundle() -> bytes:
    """fastapi-offline's ReDoc bundle, without the one image it would fetch from a CDN."""
    import fastapi_offline

    bundle = Path_(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js"
    return bundle.read_bytes().replace(
        REDOC_CDN_LOGO, b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"
    )


REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def create_app(viewer_dep: Callable[..., Viewer]) -> FastAPI:
    """The app: API, pages, static assets and offline API docs. ``viewer_dep`` is the FastAPI
    dependency that authenticates a request (:func:`.access.airflow_viewer_dependency` in Airflow)."""
    from fastapi_offline import FastAPIOffline

    from airflow_ai_governance.plugins import pages

    app = FastAPIOffline(
        redoc_url=None,  # our own, below: fastapi-offline's ReDoc fetches a logo from a CDN
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI's default validator is external
        title="AI Governance API",
        version=__version__,
        description="Use cases, governed runs, approvals and the audit trail of airflow-ai-governance. "
        "Authenticate with an Airflow token (`POST /auth/token`) as `Authorization: Bearer ...`; "
        "what you see follows the DAGs Airflow lets you read.",
        static_url="/static-offline-docs",
    )
    app.include_router(build_router(viewer_dep))
    pages.mount(app, viewer_dep)
    install_error_handlers(app, pages.render_error)

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> Response:
        from fastapi.openapi.docs import get_redoc_html

        root = str(request.scope.get("root_path") or "")
        return get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}/redoc.standalone.js",
            redoc_favicon_url=f"{root}/static/icon.svg",
            with_google_fonts=False,
        )

    @app.get("/redoc.standalone.js", include_in_schema=False)
    def redoc_bundle() -> Response:
        return Response(_redoc_bundle(), media_type="application/javascript")

    @app.middleware("http")
    async def no_store(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        if "/static" not in request.url.path:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
