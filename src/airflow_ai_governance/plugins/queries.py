"""Read models of the governance pages and API: registry, use case, inbox, review view, audit, metrics.

Every function takes the request's :class:`~airflow_ai_governance.plugins.access.Viewer` and shows
only what it may see (403 for a use case it may not). Aggregates are computed for the rows of one
page only, with indexed queries, so a page costs the same at 10 or 10,000 use cases.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import yaml
from fastapi import HTTPException
from sqlalchemy.orm import Session, aliased

from airflow_ai_governance.plugins import schemas as s
from airflow_ai_governance.plugins import urls
from airflow_ai_governance.plugins.access import ACCESS, Viewer
from airflow_ai_governance.policy import LifecycleState, UseCasePolicy, build_checklist, score
from airflow_ai_governance.policy.identity import normalize_identity, same_identity
from airflow_ai_governance.policy.lifecycle import TRANSITIONS, next_target
from airflow_ai_governance.store.models import (
    ApprovalDecision,
    ApprovalRequest,
    AuditEvent,
    CheckResult,
    DriftMeasurement,
    Escalation,
    GovernedRun,
    LifecycleTransition,
    PolicyChange,
    PolicyVersion,
    Review,
    UseCase,
)
from airflow_ai_governance.store.registry import current_policy, list_changes, policy_version, transitions

WINDOW = timedelta(days=30)
FAILING_OUTCOMES = frozenset({"fail", "blocked", "error"})
RECENT = 50
#: Audit event types shown on a review page's timeline.
TIMELINE_EVENTS = (
    "approval_recorded",
    "approval_refused",
    "approval_ignored",
    "escalation_opened",
    "escalation_resolved",
    "notification_sent",
    "notification_failed",
)


def now() -> datetime:
    return datetime.now(UTC)


def _visible(
    session: Session, viewer: Viewer, column: Any, use_case: str | None = None
) -> list[sa.ColumnElement[bool]]:
    condition = ACCESS.condition(session, viewer, column, use_case)
    return [] if condition is None else [condition]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ----------------------------------------------------------------------------------- registry
def list_use_cases(
    session: Session,
    viewer: Viewer,
    *,
    state: str | None = None,
    tier: int | None = None,
    q: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> s.UseCasePage:
    conds = _visible(session, viewer, UseCase.id)
    if state:
        conds.append(UseCase.state == state)
    if tier:
        conds.append(UseCase.tier == tier)
    if q:
        pattern = _like(q)
        conds.append(
            sa.or_(
                *(
                    sa.func.lower(col).like(pattern, escape="\\")
                    for col in (UseCase.id, UseCase.title, UseCase.owner)
                )
            )
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(UseCase).where(*conds)) or 0
    stmt = sa.select(UseCase).where(*conds).order_by(UseCase.id).limit(limit + 1)
    if after:
        stmt = stmt.where(UseCase.id > after)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return s.UseCasePage(
        items=summarize(session, rows), total=total, next=rows[-1].id if more and rows else None
    )


def summarize(session: Session, rows: Sequence[UseCase]) -> list[s.UseCaseSummary]:
    """Registry rows with last run, gate pass rates, drift status and next review (one query each)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    since = now() - WINDOW
    runs = {
        uc: (last, n)
        for uc, last, n in session.execute(
            sa.select(
                GovernedRun.use_case_id,
                sa.func.max(GovernedRun.started_at),
                sa.func.count().filter(GovernedRun.started_at >= since),
            )
            .where(GovernedRun.use_case_id.in_(ids))
            .group_by(GovernedRun.use_case_id)
        )
    }
    rates: dict[str, dict[str, list[int]]] = {}
    for uc, check, outcome, n in session.execute(
        sa.select(CheckResult.use_case_id, CheckResult.check, CheckResult.outcome, sa.func.count())
        .where(CheckResult.use_case_id.in_(ids), CheckResult.at >= since)
        .group_by(CheckResult.use_case_id, CheckResult.check, CheckResult.outcome)
    ):
        counts = rates.setdefault(uc, {}).setdefault(check, [0, 0])
        counts[1] += n
        if outcome not in FAILING_OUTCOMES:
            counts[0] += n
    drift = _latest_drift(session, ids)
    reviews = dict(
        session.execute(
            sa.select(Review.use_case_id, sa.func.max(Review.next_due))
            .where(Review.use_case_id.in_(ids))
            .group_by(Review.use_case_id)
        ).all()
    )
    live_since = dict(
        session.execute(
            sa.select(LifecycleTransition.use_case_id, sa.func.max(LifecycleTransition.at))
            .where(
                LifecycleTransition.use_case_id.in_(ids),
                LifecycleTransition.to_state == str(LifecycleState.PRODUCTION),
            )
            .group_by(LifecycleTransition.use_case_id)
        ).all()
    )
    live = (LifecycleState.PRODUCTION, LifecycleState.SUSPENDED)
    policies = _policies(
        session,
        [(r.id, r.current_version) for r in rows if r.state in live and reviews.get(r.id) is None],
    )
    out = []
    current = now()
    for row in rows:
        last, n = runs.get(row.id, (None, 0))
        drifted = sorted({p.feature for p in drift.get(row.id, []) if p.drifted})
        due = _next_review(row, reviews.get(row.id), live_since.get(row.id), policies)
        out.append(
            s.UseCaseSummary(
                id=row.id,
                title=row.title,
                tier=row.tier,
                state=row.state,
                owner=row.owner,
                current_version=row.current_version,
                updated_at=row.updated_at,
                last_run_at=last,
                runs_30d=n,
                gate_pass_rates=[
                    s.GateRate(check=c, passed=p, total=t, rate=round(p / t, 4) if t else None)
                    for c, (p, t) in sorted(rates.get(row.id, {}).items())
                ],
                drift_status="unmeasured" if row.id not in drift else ("drifted" if drifted else "ok"),
                drifted_features=drifted,
                next_review_due=due,
                review_overdue=due is not None and due < current,
            )
        )
    return out


def _next_review(
    row: UseCase,
    next_due: datetime | None,
    live_since: datetime | None,
    policies: dict[tuple[str, int], UseCasePolicy],
) -> datetime | None:
    """The next cadence review of a use case in production (or suspended): the last review's
    ``next_due``, else its go-live plus the policy's review cadence."""
    if row.state not in (LifecycleState.PRODUCTION, LifecycleState.SUSPENDED):
        return None
    if next_due is not None:
        return next_due
    policy = policies.get((row.id, row.current_version))
    if live_since is None or policy is None:
        return None
    return live_since + timedelta(days=policy.effective_gates.review_cadence_days)


#: Parsed policy versions by content hash (versions are immutable): a page does not parse again.
_PARSED: dict[str, UseCasePolicy] = {}
_PARSED_MAX = 4096


def _policies(session: Session, pairs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], UseCasePolicy]:
    """Policy versions ``(use case, version)``, parsed: one query, a second for those not parsed yet."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    key = sa.tuple_(PolicyVersion.use_case_id, PolicyVersion.version)
    hashes = {
        (uc, v): h
        for uc, v, h in session.execute(
            sa.select(PolicyVersion.use_case_id, PolicyVersion.version, PolicyVersion.content_hash).where(
                key.in_(wanted)
            )
        )
    }
    missing = [pair for pair, h in hashes.items() if h not in _PARSED]
    if missing:
        if len(_PARSED) + len(missing) > _PARSED_MAX:
            _PARSED.clear()
        stmt = sa.select(PolicyVersion.content_hash, PolicyVersion.document).where(key.in_(missing))
        for content_hash, document in session.execute(stmt):
            _PARSED[content_hash] = UseCasePolicy.model_validate(document)
    return {pair: _PARSED[h] for pair, h in hashes.items()}


def _approval_items(
    session: Session, viewer: Viewer, rows: Sequence[tuple[ApprovalRequest, str, int]]
) -> list[s.ApprovalItem]:
    """Inbox items of ``(request, use case title, tier)`` rows; their policies in one query."""
    policies = _policies(
        session, [(r.use_case_id, r.policy_version) for r, _, _ in rows if r.status == "open"]
    )
    return [
        _approval_item(viewer, r, title, tier, policies.get((r.use_case_id, r.policy_version)))
        for r, title, tier in rows
    ]


def _latest_drift(session: Session, ids: Sequence[str]) -> dict[str, list[s.DriftPoint]]:
    """The latest measurement per use case, feature and statistic."""
    latest = (
        sa.select(
            DriftMeasurement.use_case_id,
            DriftMeasurement.feature,
            DriftMeasurement.statistic,
            sa.func.max(DriftMeasurement.at).label("at"),
        )
        .where(DriftMeasurement.use_case_id.in_(ids))
        .group_by(DriftMeasurement.use_case_id, DriftMeasurement.feature, DriftMeasurement.statistic)
        .subquery()
    )
    stmt = sa.select(DriftMeasurement).join(
        latest,
        sa.and_(
            DriftMeasurement.use_case_id == latest.c.use_case_id,
            DriftMeasurement.feature == latest.c.feature,
            DriftMeasurement.statistic == latest.c.statistic,
            DriftMeasurement.at == latest.c.at,
        ),
    )
    out: dict[str, list[s.DriftPoint]] = {}
    for m in session.scalars(stmt):
        out.setdefault(m.use_case_id, []).append(s.DriftPoint.model_validate(m))
    return out


# ----------------------------------------------------------------------------------- use case
def use_case_detail(session: Session, viewer: Viewer, use_case_id: str) -> s.UseCaseDetail:
    ACCESS.require(session, viewer, use_case_id)
    row, policy = current_policy(session, use_case_id)
    summary = summarize(session, [row])[0]
    target = None if row.state == LifecycleState.RETIRED else next_target(row.state)
    checklist = None
    if target is not None:
        checklist = s.ChecklistOut.model_validate(build_checklist(policy, target).as_dict())
    result = score(policy.selection)
    runs = list(
        session.scalars(
            sa.select(GovernedRun)
            .where(GovernedRun.use_case_id == use_case_id)
            .order_by(GovernedRun.started_at.desc())
            .limit(RECENT)
        )
    )
    requests = list(
        session.scalars(
            sa.select(ApprovalRequest)
            .where(ApprovalRequest.use_case_id == use_case_id)
            .order_by(ApprovalRequest.opened_at.desc())
            .limit(RECENT)
        )
    )
    escalations = session.scalars(
        sa.select(Escalation)
        .where(Escalation.use_case_id == use_case_id)
        .order_by(Escalation.opened_at.desc())
        .limit(RECENT)
    )
    reviews = session.scalars(
        sa.select(Review).where(Review.use_case_id == use_case_id).order_by(Review.at.desc()).limit(RECENT)
    )
    return s.UseCaseDetail(
        **summary.model_dump(),
        description=policy.description,
        policy=policy.document(),
        gates=policy.effective_gates.model_dump(),
        score=s.ScoreOut(
            value=result.value, recommendation=str(result.recommendation), reasons=list(result.reasons)
        ),
        checklist=checklist,
        versions=_versions(session, row),
        transitions=[s.Transition.model_validate(t) for t in transitions(session, use_case_id)],
        runs=_runs_with_checks(session, runs),
        approvals=_approval_items(session, viewer, [(r, row.title, row.tier) for r in requests]),
        escalations=[s.EscalationOut.model_validate(e) for e in escalations],
        reviews=[s.ReviewOut.model_validate(r) for r in reviews],
        drift=_latest_drift(session, [use_case_id]).get(use_case_id, []),
        actions=lifecycle_actions(viewer, row, policy),
        policy_changes=[
            policy_change(c) for c in list_changes(session, use_case_id, pending_only=False)[:RECENT]
        ],
    )


def policy_change(change: PolicyChange) -> s.PolicyChangeOut:
    return s.PolicyChangeOut.model_validate(change)


def _versions(session: Session, row: UseCase) -> list[s.PolicyVersionOut]:
    versions = list(
        session.scalars(
            sa.select(PolicyVersion)
            .where(PolicyVersion.use_case_id == row.id)
            .order_by(PolicyVersion.version)
        )
    )
    out = []
    previous: list[str] | None = None
    for v in versions:
        text = yaml.safe_dump(v.document, sort_keys=True, allow_unicode=True).splitlines()
        diff = None
        if previous is not None:
            diff = "\n".join(
                difflib.unified_diff(previous, text, f"v{v.version - 1}", f"v{v.version}", lineterm="")
            )
        previous = text
        out.append(
            s.PolicyVersionOut(
                version=v.version,
                content_hash=v.content_hash,
                created_by=v.created_by,
                created_at=v.created_at,
                source_path=v.source_path,
                current=v.version == row.current_version,
                diff=diff,
            )
        )
    return list(reversed(out))


def _runs_with_checks(session: Session, runs: Sequence[GovernedRun]) -> list[s.RunOut]:
    checks: dict[str, list[s.CheckOut]] = {}
    if runs:
        for c in session.scalars(
            sa.select(CheckResult)
            .where(CheckResult.governed_run_id.in_([r.id for r in runs]))
            .order_by(CheckResult.at)
        ):
            checks.setdefault(c.governed_run_id or "", []).append(s.CheckOut.model_validate(c))
    return [s.RunOut.model_validate(r).model_copy(update={"checks": checks.get(r.id, [])}) for r in runs]


ACTION_TARGETS: tuple[tuple[str, LifecycleState], ...] = (
    ("promote", LifecycleState.APPROVED),
    ("promote", LifecycleState.PILOT),
    ("promote", LifecycleState.PRODUCTION),
    ("suspend", LifecycleState.SUSPENDED),
    ("reinstate", LifecycleState.PRODUCTION),
    ("retire", LifecycleState.RETIRED),
)


def action_name(from_state: str, to_state: LifecycleState) -> str:
    if to_state is LifecycleState.RETIRED:
        return "retire"
    if to_state is LifecycleState.SUSPENDED:
        return "suspend"
    if from_state == LifecycleState.SUSPENDED:
        return "reinstate"
    return "promote"


def decision_refusal(viewer: Viewer, row: UseCase, target: LifecycleState) -> str | None:
    """Why ``viewer`` may not move ``row`` to ``target`` (authorisation only; the state machine and
    the checklist are the registry's to check), or ``None``."""
    if not viewer.governance:
        return f"{viewer.name} holds no governance role"
    if target is LifecycleState.PRODUCTION and viewer.is_person(row.owner):
        return (
            f"{viewer.name} owns {row.id!r}: the owner never decides its promotion to production; "
            "another person with a governance role must"
        )
    return None


def lifecycle_actions(viewer: Viewer, row: UseCase, policy: UseCasePolicy) -> list[s.Action]:
    out = []
    state = LifecycleState(row.state)
    for action, target in ACTION_TARGETS:
        if target not in TRANSITIONS[state] or action != action_name(state, target):
            continue
        why = decision_refusal(viewer, row, target)
        if why is None and target in (
            LifecycleState.APPROVED,
            LifecycleState.PILOT,
            LifecycleState.PRODUCTION,
        ):
            failing = build_checklist(policy, target).failures
            if failing:
                why = "the go-live checklist fails: " + "; ".join(f"{i.title}: {i.detail}" for i in failing)
        out.append(s.Action(action=action, to=str(target), allowed=why is None, why_not=why))
    return out


# ------------------------------------------------------------------------------------ approvals
def _latest_try() -> sa.ColumnElement[bool]:
    newer = aliased(ApprovalRequest)
    return ~sa.exists().where(
        newer.dag_id == ApprovalRequest.dag_id,
        newer.run_id == ApprovalRequest.run_id,
        newer.task_id == ApprovalRequest.task_id,
        newer.map_index == ApprovalRequest.map_index,
        newer.try_number > ApprovalRequest.try_number,
    )


def list_approvals(
    session: Session,
    viewer: Viewer,
    *,
    status: str | None = "open",
    use_case: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> s.ApprovalPage:
    conds = [_latest_try(), *_visible(session, viewer, ApprovalRequest.use_case_id, use_case)]
    if status:
        conds.append(ApprovalRequest.status == status)
    total = session.scalar(sa.select(sa.func.count()).select_from(ApprovalRequest).where(*conds)) or 0
    order = ApprovalRequest.opened_at.asc() if status == "open" else ApprovalRequest.opened_at.desc()
    stmt = (
        sa.select(ApprovalRequest, UseCase.title, UseCase.tier)
        .join(UseCase, UseCase.id == ApprovalRequest.use_case_id)
        .where(*conds)
        .order_by(order, ApprovalRequest.id)
        .offset(offset)
        .limit(limit)
    )
    items = _approval_items(session, viewer, [(r, title, tier) for r, title, tier in session.execute(stmt)])
    return s.ApprovalPage(items=items, total=total, offset=offset, limit=limit)


def responders(policy: UseCasePolicy, level: int, answered: Sequence[str]) -> list[s.Responder]:
    """Who may answer at escalation ``level``, and why (the gate's own rule decides who counts)."""
    from airflow_ai_governance.gates.approval import allowed_responders

    allowed = allowed_responders(policy, level)
    contacts = list(policy.escalation.contacts) if policy.escalation else []
    roles: dict[str, str] = {}
    for i, contact in enumerate(contacts[:level], start=1):
        roles.setdefault(contact.id, f"escalation contact (level {i})")
    for reviewer in policy.reviewers:
        roles[reviewer.id] = "reviewer"
    return [
        s.Responder(
            user=user,
            role=roles.get(user, "reviewer"),
            answered=any(same_identity(a, user) for a in answered),
        )
        for user in sorted(allowed, key=normalize_identity)
    ]


def _approval_item(
    viewer: Viewer, r: ApprovalRequest, title: str, tier: int, policy: UseCasePolicy | None
) -> s.ApprovalItem:
    end = r.closed_at or now()
    may_answer = False
    if r.status == "open" and policy is not None:
        may_answer = any(
            viewer.is_person(p.user) and not p.answered for p in responders(policy, r.level, r.approvers)
        )
    return s.ApprovalItem(
        use_case_id=r.use_case_id,
        use_case_title=title,
        tier=tier,
        dag_id=r.dag_id,
        run_id=r.run_id,
        task_id=r.task_id,
        map_index=r.map_index,
        try_number=r.try_number,
        status=r.status,
        level=r.level,
        approvers=list(r.approvers or []),
        approvals_needed=r.approvals_needed,
        opened_at=r.opened_at,
        closed_at=r.closed_at,
        deadline=r.deadline,
        waiting_seconds=max(0.0, (end - r.opened_at).total_seconds()),
        review_url=urls.review_path(r.dag_id, r.run_id, r.task_id, r.map_index),
        required_actions_url=urls.required_actions_path(r.dag_id, r.run_id, r.task_id, r.map_index),
        may_answer=may_answer,
    )


def paginate_output(
    output: Any, page: int, page_size: int, columns_first: Sequence[str] = ()
) -> s.OutputPage:
    """One page of the whole output under review: a table of records, an object's fields, or a value.

    Record columns come in the order the output standard declares them (``columns_first``), then
    any other key in order of appearance (PostgreSQL's JSONB does not keep the keys' order).
    """
    if isinstance(output, list):
        if all(isinstance(r, dict) for r in output):
            present = {key for record in output for key in record}
            columns: dict[str, None] = dict.fromkeys(c for c in columns_first if c in present)
            for record in output:
                columns.update(dict.fromkeys(record))
            cols = list(columns)
            rows = [[r.get(c) for c in cols] for r in output]
        else:
            cols, rows = ["value"], [[v] for v in output]
        kind = "table"
    elif isinstance(output, dict):
        kind, cols, rows = "object", ["field", "value"], [[k, v] for k, v in output.items()]
    else:
        kind, cols, rows = "value", ["value"], [[output]]
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(page, pages)
    start = (page - 1) * page_size
    return s.OutputPage(
        kind=kind,  # type: ignore[arg-type]
        columns=cols,
        rows=rows[start : start + page_size],
        page=page,
        page_size=page_size,
        total_rows=len(rows),
        pages=pages,
    )


def _gate_results(
    session: Session, r: ApprovalRequest
) -> tuple[s.BoundaryResult | None, s.StandardResult | None]:
    """The latest boundary and output-standard results of the same DAG run and use case."""
    stmt = (
        sa.select(CheckResult, GovernedRun.map_index)
        .join(GovernedRun, GovernedRun.id == CheckResult.governed_run_id)
        .where(
            GovernedRun.dag_id == r.dag_id,
            GovernedRun.run_id == r.run_id,
            CheckResult.use_case_id == r.use_case_id,
            CheckResult.check.in_(("data_boundary", "output_standard")),
        )
        .order_by(CheckResult.at.desc(), CheckResult.id.desc())
    )
    chosen: dict[str, tuple[CheckResult, bool]] = {}
    for check, map_index in session.execute(stmt):  # newest first
        same = map_index == r.map_index
        current = chosen.get(check.check)
        # The newest result of the same map index (mapped pipelines), else the newest at all.
        if current is None or (same and not current[1]):
            chosen[check.check] = (check, same)
    latest = {name: check for name, (check, _) in chosen.items()}
    boundary = standard = None
    if b := latest.get("data_boundary"):
        details = b.details or {}
        found = details.get("found") or {}
        boundary = s.BoundaryResult(
            outcome=b.outcome,
            at=b.at,
            found={str(k): int(v) for k, v in found.items() if isinstance(v, int | float)},
            blocked_types=[str(t) for t in details.get("blocked_types") or []],
        )
    if o := latest.get("output_standard"):
        d = o.details or {}
        standard = s.StandardResult(
            outcome=o.outcome,
            at=o.at,
            success=d.get("success"),
            evaluated=d.get("evaluated"),
            failed=d.get("failed"),
            rows=d.get("rows"),
            failed_expectations=[str(x) for x in d.get("failed_expectations") or []],
            failures=[
                s.FailedExpectationOut(
                    expectation_type=str(f.get("expectation_type")),
                    column=f.get("column"),
                    unexpected_count=f.get("unexpected_count"),
                    unexpected_percent=f.get("unexpected_percent"),
                )
                for f in d.get("failures") or []
                if isinstance(f, dict)
            ],
        )
    return boundary, standard


def _decision(d: ApprovalDecision, *, counted: bool = True) -> s.DecisionOut:
    edits = d.edits or {}
    return s.DecisionOut(
        counted=counted,
        reviewer=d.reviewer,
        choice=d.choice,
        comment=d.comment,
        output_hash=d.output_hash,
        at=d.at,
        diff=edits.get("diff") if isinstance(edits, dict) else None,
    )


def _summary(event_type: str, payload: dict[str, Any]) -> str:
    if event_type == "approval_recorded":
        return f"{payload.get('choice')} of output {str(payload.get('output_hash'))[:12]}" + (
            f": {payload['comment']}" if payload.get("comment") else ""
        )
    if event_type == "escalation_opened":
        return (
            f"escalated to {payload.get('contact')} (level {payload.get('level')}, {payload.get('channel')})"
        )
    if event_type.startswith("notification_"):
        target = f"{payload.get('contact')} via {payload.get('channel')}"
        return f"{payload.get('kind')} to {target}" + (
            f": {payload['error']}" if payload.get("error") else ""
        )
    reason = payload.get("reason")
    return str(reason) if reason else event_type.replace("_", " ")


def review(
    session: Session,
    viewer: Viewer,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    *,
    page: int = 1,
    page_size: int = 50,
) -> s.Review:
    r = session.scalars(
        sa.select(ApprovalRequest)
        .where(
            ApprovalRequest.dag_id == dag_id,
            ApprovalRequest.run_id == run_id,
            ApprovalRequest.task_id == task_id,
            ApprovalRequest.map_index == map_index,
        )
        .order_by(ApprovalRequest.try_number.desc())
        .limit(1)
    ).first()
    if r is None:
        raise HTTPException(
            404,
            f"No approval request for task {task_id!r} of run {run_id!r} in DAG {dag_id!r} "
            f"(map index {map_index}): the approval step has not asked yet, or it is not a governed approval.",
        )
    ACCESS.require(session, viewer, r.use_case_id)
    use_case = session.get(UseCase, r.use_case_id)
    policy = policy_version(session, r.use_case_id, r.policy_version)
    decisions = list(
        session.scalars(
            sa.select(ApprovalDecision)
            .where(
                ApprovalDecision.dag_id == dag_id,
                ApprovalDecision.run_id == run_id,
                ApprovalDecision.task_id == task_id,
                ApprovalDecision.map_index == map_index,
            )
            .order_by(ApprovalDecision.at, ApprovalDecision.id)
        )
    )
    timeline: list[s.TimelineEntry] = []
    ignored: set[int] = set()  # decision rows the gate reported as not counted
    if r.governed_run_id:
        events = session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.governed_run_id == r.governed_run_id, AuditEvent.event_type.in_(TIMELINE_EVENTS)
            )
            .order_by(AuditEvent.seq)
            .limit(500)
        )
        for e in events:
            payload = json.loads(e.payload)
            if e.event_type == "approval_ignored" and isinstance(payload.get("decision_id"), int):
                ignored.add(payload["decision_id"])
            timeline.append(
                s.TimelineEntry(
                    at=e.at, actor=e.actor, event_type=e.event_type, summary=_summary(e.event_type, payload)
                )
            )
    boundary, standard = _gate_results(session, r)
    owner = policy.owner.id if policy.owner else None
    not_allowed = [f"{owner}: owns the use case and never approves its output"] if owner else []
    return s.Review(
        request=_approval_item(
            viewer, r, use_case.title if use_case else r.use_case_id, int(policy.tier), policy
        ),
        use_case_title=policy.title,
        policy_version=r.policy_version,
        owner=owner,
        output_hash=r.output_hash,
        output=paginate_output(
            r.output,
            page,
            page_size,
            [f.name for f in policy.output_standard.fields] if policy.output_standard else (),
        ),
        boundary=boundary,
        output_standard=standard,
        decisions=[_decision(d, counted=d.id not in ignored) for d in decisions],
        edits=[_decision(d) for d in decisions if d.edits],
        timeline=timeline,
        # who has answered: the approvals the gate counted (decision rows are a record, and may
        # hold rows the gate ignored)
        responders=responders(policy, r.level, list(r.approvers or [])) if r.status == "open" else [],
        not_allowed=not_allowed,
        airflow_task_url=urls.task_instance_path(dag_id, run_id, task_id, map_index),
    )


# ----------------------------------------------------------------------------------------- runs
def list_runs(
    session: Session,
    viewer: Viewer,
    *,
    use_case: str | None,
    dag_id: str | None,
    run_id: str | None,
    status: str | None,
    before: datetime | None,
    limit: int,
) -> s.RunPage:
    conds = _visible(session, viewer, GovernedRun.use_case_id, use_case)
    for column, value in (
        (GovernedRun.dag_id, dag_id),
        (GovernedRun.run_id, run_id),
        (GovernedRun.status, status),
    ):
        if value:
            conds.append(column == value)
    if before:
        conds.append(GovernedRun.started_at < before)
    rows = list(
        session.scalars(
            sa.select(GovernedRun).where(*conds).order_by(GovernedRun.started_at.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return s.RunPage(
        items=_runs_with_checks(session, rows), next_before=rows[-1].started_at if more else None
    )


def run_detail(session: Session, viewer: Viewer, governed_run_id: str) -> s.RunDetail:
    run = session.get(GovernedRun, governed_run_id)
    if run is None:
        raise HTTPException(404, f"No governed run {governed_run_id!r} in the sidecar.")
    ACCESS.require(session, viewer, run.use_case_id)
    decisions = session.scalars(
        sa.select(ApprovalDecision)
        .where(ApprovalDecision.governed_run_id == governed_run_id)
        .order_by(ApprovalDecision.at)
    )
    base = _runs_with_checks(session, [run])[0]
    return s.RunDetail(
        **base.model_dump(),
        prompt_hash=run.prompt_hash,
        input_hash=run.input_hash,
        output_hash=run.output_hash,
        details=run.details,
        decisions=[_decision(d) for d in decisions],
    )


# ---------------------------------------------------------------------------------------- audit
def audit_conditions(
    session: Session,
    viewer: Viewer,
    *,
    use_case: str | None,
    event_type: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[sa.ColumnElement[bool]]:
    """Filters of an audit query, for what this viewer may see."""
    conds = _visible(session, viewer, AuditEvent.use_case_id, use_case)
    if event_type:
        conds.append(AuditEvent.event_type == event_type)
    if actor:
        conds.append(AuditEvent.actor == actor)
    if since:
        conds.append(AuditEvent.at >= since)
    if until:
        conds.append(AuditEvent.at < until)
    return conds


def list_audit(
    session: Session, viewer: Viewer, *, after_seq: int, limit: int, **filters: Any
) -> s.AuditPage:
    conds = audit_conditions(session, viewer, **filters)
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.seq > after_seq, *conds)
        .order_by(AuditEvent.seq)
        .limit(limit + 1)
    )
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        s.AuditEventOut(
            seq=e.seq,
            event_id=e.event_id,
            at=e.at,
            use_case_id=e.use_case_id,
            governed_run_id=e.governed_run_id,
            actor=e.actor,
            event_type=e.event_type,
            payload=json.loads(e.payload),
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in rows
    ]
    return s.AuditPage(items=items, next_after_seq=rows[-1].seq if more and rows else None)


# -------------------------------------------------------------------------------------- metrics
def metrics(session: Session, viewer: Viewer, use_case_id: str, days: int) -> s.Metrics:
    ACCESS.require(session, viewer, use_case_id)
    since = now() - timedelta(days=days)
    buckets: dict[tuple[str, str, str], int] = {}
    for at, check, outcome in session.execute(
        sa.select(CheckResult.at, CheckResult.check, CheckResult.outcome).where(
            CheckResult.use_case_id == use_case_id, CheckResult.at >= since
        )
    ):
        key = (at.date().isoformat(), check, outcome)
        buckets[key] = buckets.get(key, 0) + 1
    requests = list(
        session.scalars(
            sa.select(ApprovalRequest)
            .where(ApprovalRequest.use_case_id == use_case_id, ApprovalRequest.opened_at >= since)
            .order_by(ApprovalRequest.opened_at)
            .limit(2000)
        )
    )
    for r in requests:
        if r.closed_at is not None and r.status != "open":
            key = (r.closed_at.date().isoformat(), "human_approval", r.status)
            buckets[key] = buckets.get(key, 0) + 1
    current = now()
    latency = [
        s.LatencyPoint(
            dag_id=r.dag_id,
            run_id=r.run_id,
            task_id=r.task_id,
            opened_at=r.opened_at,
            closed_at=r.closed_at,
            status=r.status,
            seconds=((r.closed_at or current) - r.opened_at).total_seconds(),
        )
        for r in requests
    ]
    drift = session.scalars(
        sa.select(DriftMeasurement)
        .where(DriftMeasurement.use_case_id == use_case_id, DriftMeasurement.at >= since)
        .order_by(DriftMeasurement.at.desc())
        .limit(5000)
    )
    series = sorted((s.DriftPoint.model_validate(m) for m in drift), key=lambda p: p.at)
    return s.Metrics(
        gate_outcomes=[
            s.DayCount(day=d, check=c, outcome=o, count=n) for (d, c, o), n in sorted(buckets.items())
        ],
        approval_latency=latency,
        drift_series=series,
    )
