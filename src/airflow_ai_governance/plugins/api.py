"""The governance API, mounted by the plugin under ``/ai-governance`` (OpenAPI at ``/ai-governance/openapi.json``).

Read-only views of the sidecar: use cases, governed runs with their checks and decisions, the
audit log (keyset-paginated) and its verification. Access needs Airflow's PLUGINS view permission.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query

from airflow_ai_governance import __version__
from airflow_ai_governance.exceptions import SidecarUnavailable, UseCaseNotFound
from airflow_ai_governance.store import (
    ApprovalDecision,
    AuditEvent,
    CheckResult,
    GovernedRun,
    UseCase,
    session_scope,
    verify_chain,
)
from airflow_ai_governance.store.audit import AuditEventRecord
from airflow_ai_governance.store.registry import current_policy, transitions

MAX_LIMIT = 1000


def _row(obj: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


USE_CASE_FIELDS = ("id", "title", "tier", "state", "owner", "current_version", "updated_at")
RUN_FIELDS = (
    "id", "use_case_id", "policy_version", "dag_id", "run_id", "task_id", "try_number", "map_index", "status",
    "started_at", "ended_at", "model_id", "model_version", "prompt_hash", "input_hash", "output_hash",
    "latency_ms", "tokens_in", "tokens_out", "cost", "details",
)  # fmt: skip
EVENT_FIELDS = tuple(f for f in AuditEventRecord.__slots__ if f != "payload")  # payload: as JSON


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/use-cases")
    def list_use_cases(
        state: str | None = None,
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
        after: str | None = Query(None, description="keyset cursor: the last id of the previous page"),
    ) -> dict[str, Any]:
        stmt = sa.select(UseCase).order_by(UseCase.id).limit(limit)
        if state:
            stmt = stmt.where(UseCase.state == state)
        if after:
            stmt = stmt.where(UseCase.id > after)
        with session_scope(readonly=True) as session:
            items = [_row(u, USE_CASE_FIELDS) for u in session.scalars(stmt)]
        return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}

    @router.get("/use-cases/{use_case_id}")
    def get_use_case(use_case_id: str) -> dict[str, Any]:
        with session_scope(readonly=True) as session:
            try:
                row, policy = current_policy(session, use_case_id)
            except UseCaseNotFound as exc:
                raise HTTPException(404, str(exc)) from exc
            history = [
                _row(t, ("from_state", "to_state", "actor", "reason", "policy_version", "at"))
                for t in transitions(session, use_case_id)
            ]
            return {
                **_row(row, USE_CASE_FIELDS),
                "gates": policy.effective_gates.model_dump(),
                "policy": policy.document(),
                "transitions": history,
            }

    @router.get("/runs")
    def list_runs(
        use_case: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        stmt = sa.select(GovernedRun).order_by(GovernedRun.started_at.desc()).limit(limit)
        for column, value in (
            (GovernedRun.use_case_id, use_case),
            (GovernedRun.dag_id, dag_id),
            (GovernedRun.run_id, run_id),
        ):
            if value:
                stmt = stmt.where(column == value)
        with session_scope(readonly=True) as session:
            return {"items": [_row(r, RUN_FIELDS) for r in session.scalars(stmt)]}

    @router.get("/runs/{governed_run_id}")
    def get_run(governed_run_id: str) -> dict[str, Any]:
        with session_scope(readonly=True) as session:
            run = session.get(GovernedRun, governed_run_id)
            if run is None:
                raise HTTPException(404, f"no governed run {governed_run_id!r}")
            checks = session.scalars(
                sa.select(CheckResult).where(CheckResult.governed_run_id == governed_run_id)
            )
            decisions = session.scalars(
                sa.select(ApprovalDecision).where(ApprovalDecision.governed_run_id == governed_run_id)
            )
            return {
                **_row(run, RUN_FIELDS),
                "checks": [_row(c, ("check", "outcome", "details", "at")) for c in checks],
                "decisions": [
                    _row(d, ("reviewer", "choice", "comment", "output_hash", "edits", "at"))
                    for d in decisions
                ],
            }

    @router.get("/audit")
    def list_audit(
        use_case: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int = Query(0, ge=0, description="keyset cursor: events with seq > after_seq"),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        stmt = sa.select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(limit)
        if use_case:
            stmt = stmt.where(AuditEvent.use_case_id == use_case)
        if since:
            stmt = stmt.where(AuditEvent.at >= since)
        if until:
            stmt = stmt.where(AuditEvent.at < until)
        with session_scope(readonly=True) as session:
            items = [{**_row(e, EVENT_FIELDS), "payload": e.payload} for e in session.scalars(stmt)]
        return {"items": items, "next_after_seq": items[-1]["seq"] if len(items) == limit else None}

    @router.get("/audit/verify")
    def verify() -> dict[str, Any]:
        result = verify_chain()
        return {
            "ok": result.ok,
            "checked": result.checked,
            "first_bad_seq": result.first_bad_seq,
            "reason": result.reason,
        }

    return router


def create_app(auth: Callable[..., Any] | None = None) -> FastAPI:
    """The FastAPI app; ``auth`` is a dependency every route requires (Airflow's, in the plugin)."""
    app = FastAPI(
        title="AI Governance API",
        version=__version__,
        description="Use cases, governed runs, decisions and the audit trail of airflow-ai-governance.",
    )
    app.include_router(build_router(), dependencies=[Depends(auth)] if auth else [])

    @app.exception_handler(SidecarUnavailable)
    async def _sidecar_down(_request: Any, exc: SidecarUnavailable) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse(status_code=503, content={"detail": str(exc)})

    return app
