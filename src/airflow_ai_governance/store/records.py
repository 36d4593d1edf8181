"""Repository functions the operators call: runs, gate results, approvals, escalations, drift, reviews.

Conventions, for every function here:

* the first argument ``db`` is a Session, an engine, a URL or ``None`` (the resolved sidecar URL).
  A Session joins the caller's transaction (the caller commits); anything else runs in a
  transaction of its own that commits before the function returns;
* every write appends its audit event in the same transaction, after the row, so a record
  and its audit event are stored together or not at all;
* rows come back as model instances that stay readable after the commit;
* a sidecar that cannot be reached raises :class:`~airflow_ai_governance.exceptions.SidecarUnavailable`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_ai_governance.store.audit import append_event
from airflow_ai_governance.store.engine import DB, session_scope
from airflow_ai_governance.store.models import (
    ApprovalDecision,
    ApprovalRequest,
    Base,
    CheckResult,
    DriftMeasurement,
    Escalation,
    GovernedRun,
    Review,
    utcnow,
)

log = logging.getLogger(__name__)

ApprovalChoice = Literal["approve", "reject", "timeout"]
ReviewOutcome = Literal["keep", "tune", "strengthen", "retire"]
APPROVAL_CHOICES: tuple[str, ...] = ("approve", "reject", "timeout")
REVIEW_OUTCOMES: tuple[str, ...] = ("keep", "tune", "strengthen", "retire")
#: Optional governed_run columns that start_run/finish_run accept as keyword arguments.
RUN_FIELDS = frozenset(
    {"dag_version", "model_id", "model_version", "prompt_hash", "input_hash", "output_hash"}
    | {"latency_ms", "tokens_in", "tokens_out", "cost", "details"}
)

RowT = TypeVar("RowT", bound=Base)


def _one_of(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _run_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - RUN_FIELDS
    if unknown:
        raise TypeError(f"unknown governed_run field(s) {sorted(unknown)}; allowed: {sorted(RUN_FIELDS)}")
    return fields


def _write(
    session: Session, row: RowT, event_type: str, actor: str, payload: dict[str, Any], run_id: str | None
) -> RowT:
    """Insert or update ``row``, then append its audit event, in the session's transaction."""
    session.add(row)
    session.flush()
    append_event(
        session,
        event_type=event_type,
        actor=actor,
        payload=payload,
        use_case_id=getattr(row, "use_case_id", None),
        governed_run_id=run_id,
    )
    return row


# -------------------------------------------------------------------------------------- runs
def start_run(
    db: DB,
    *,
    use_case_id: str,
    policy_version: int,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int = 1,
    map_index: int = -1,
    actor: str = "airflow",
    **fields: Any,
) -> str:
    """Record a governed run as ``running`` (audit: ``run_started``); return its id (a UUID)."""
    row = GovernedRun(
        id=str(uuid.uuid4()),
        use_case_id=use_case_id,
        policy_version=policy_version,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        try_number=try_number,
        map_index=map_index,
        status="running",
        started_at=utcnow(),
        **_run_fields(fields),
    )
    ti = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index}
    payload = {**ti, "try_number": try_number, "policy_version": policy_version, **fields}
    with session_scope(db) as session:
        return _write(session, row, "run_started", actor, payload, row.id).id


def finish_run(
    db: DB, governed_run_id: str, status: str, *, actor: str = "airflow", **fields: Any
) -> GovernedRun:
    """Set the run's final ``status``, ``ended_at`` and figures (audit: ``run_finished``)."""
    _run_fields(fields)
    with session_scope(db) as session:
        row = session.get(GovernedRun, governed_run_id, with_for_update=True)
        if row is None:
            raise LookupError(f"no governed run {governed_run_id!r} in the sidecar")
        payload = {"status": status, "previous_status": row.status, **fields}
        row.status, row.ended_at = status, utcnow()
        for name, value in fields.items():
            setattr(row, name, value)
        return _write(session, row, "run_finished", actor, payload, row.id)


def get_run(db: DB, governed_run_id: str) -> GovernedRun | None:
    with session_scope(db, readonly=True) as session:
        return session.get(GovernedRun, governed_run_id)


def list_runs(db: DB, use_case_id: str, *, limit: int = 100) -> list[GovernedRun]:
    """The use case's most recent runs, newest first."""
    stmt = (
        sa.select(GovernedRun)
        .where(GovernedRun.use_case_id == use_case_id)
        .order_by(GovernedRun.started_at.desc())
        .limit(limit)
    )
    with session_scope(db, readonly=True) as session:
        return list(session.scalars(stmt))


# ------------------------------------------------------------------------------------- gates
def record_check(
    db: DB,
    *,
    use_case_id: str,
    check: str,
    outcome: str,
    governed_run_id: str | None = None,
    details: dict[str, Any] | None = None,
    actor: str = "airflow",
) -> CheckResult:
    """Record a gate's result, e.g. ``check="data_boundary", outcome="redacted"`` (audit: ``check_recorded``)."""
    row = CheckResult(
        use_case_id=use_case_id,
        governed_run_id=governed_run_id,
        check=check,
        outcome=outcome,
        details=details,
        at=utcnow(),
    )
    payload = {"check": check, "outcome": outcome, "details": details}
    with session_scope(db) as session:
        return _write(session, row, "check_recorded", actor, payload, governed_run_id)


def _find_approval(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    reviewer: str,
    output_hash: str | None,
    try_number: int | None,
    responded_at: datetime | None,
) -> ApprovalDecision | None:
    return session.scalars(
        sa.select(ApprovalDecision).filter_by(
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            reviewer=reviewer,
            output_hash=output_hash,
            try_number=try_number,
            responded_at=responded_at,
        )
    ).first()


def record_approval(
    db: DB,
    *,
    use_case_id: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    reviewer: str,
    choice: ApprovalChoice,
    output_hash: str,
    map_index: int = -1,
    comment: str | None = None,
    edits: dict[str, Any] | None = None,
    governed_run_id: str | None = None,
    try_number: int | None = None,
    responded_at: datetime | None = None,
) -> ApprovalDecision:
    """Record a reviewer's answer (audit: ``approval_recorded``, actor = reviewer).

    ``try_number`` and ``responded_at`` identify the answer Airflow delivered (the task's try,
    Airflow's time of the response). Idempotent per answer: the same answer stored already (a
    concurrent duplicate) is returned unchanged and nothing new is written. A record only: the
    approval gate never counts rows of this table (see :mod:`airflow_ai_governance.gates.approval`).
    """
    _one_of(choice, APPROVAL_CHOICES, "choice")
    key = (dag_id, run_id, task_id, map_index, reviewer, output_hash, try_number, responded_at)
    row = ApprovalDecision(
        use_case_id=use_case_id,
        governed_run_id=governed_run_id,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        reviewer=reviewer,
        choice=choice,
        comment=comment,
        output_hash=output_hash,
        edits=edits,
        at=utcnow(),
        try_number=try_number,
        responded_at=responded_at,
    )
    payload = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index}
    payload |= {"choice": choice, "comment": comment, "output_hash": output_hash, "edits": edits}
    if try_number is not None or responded_at is not None:
        payload |= {"try_number": try_number, "responded_at": responded_at}
    with session_scope(db) as session:
        existing = _find_approval(session, *key)
        if existing is None:
            try:
                with session.begin_nested():  # a concurrent duplicate fails only this savepoint
                    session.add(row)
            except IntegrityError:
                existing = _find_approval(session, *key)
                if existing is None:  # not the unique key: e.g. an unknown use case
                    raise
            else:
                return _write(session, row, "approval_recorded", reviewer, payload, governed_run_id)
        if existing.choice != choice:
            log.warning(
                "Reviewer %s already decided %r on %s; the new answer %r is ignored.",
                reviewer,
                existing.choice,
                "/".join(map(str, key[:4])),
                choice,
            )
        return existing


def list_approvals(
    db: DB, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> list[ApprovalDecision]:
    """Decisions on one task instance, oldest first."""
    stmt = (
        sa.select(ApprovalDecision)
        .filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
        .order_by(ApprovalDecision.at, ApprovalDecision.id)
    )
    with session_scope(db, readonly=True) as session:
        return list(session.scalars(stmt))


# ------------------------------------------------------------------------- approval requests
APPROVAL_REQUEST_STATUSES: tuple[str, ...] = ("open", "approved", "rejected", "timeout", "closed")


def _request_key(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> dict[str, Any]:
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "try_number": try_number,
    }


def save_approval_request(
    db: DB,
    *,
    use_case_id: str,
    policy_version: int,
    dag_id: str,
    run_id: str,
    task_id: str,
    output_hash: str,
    output: Any,
    approvals_needed: int,
    map_index: int = -1,
    try_number: int = 1,
    status: str = "open",
    level: int = 0,
    approvers: list[str] | None = None,
    deadline: datetime | None = None,
    governed_run_id: str | None = None,
    actor: str = "airflow",
) -> ApprovalRequest:
    """Open or update the request of one approval task try (audit: ``approval_request_opened``,
    ``approval_request_updated`` or ``approval_request_closed``).

    The sidecar's record of the request for the inbox and the review view: the output under
    review (the edited one after an edit), the escalation level, the approvals counted so far.
    A status other than ``open`` closes it (``closed_at``).
    """
    _one_of(status, APPROVAL_REQUEST_STATUSES, "status")
    key = _request_key(dag_id, run_id, task_id, map_index, try_number)
    state: dict[str, Any] = {
        "output_hash": output_hash,
        "output": output,
        "status": status,
        "level": level,
        "approvals_needed": approvals_needed,
        "approvers": list(approvers or []),
    }
    if deadline is not None:
        state["deadline"] = deadline
    with session_scope(db) as session:
        row = session.scalars(sa.select(ApprovalRequest).filter_by(**key).with_for_update()).first()
        if row is None:
            row = ApprovalRequest(
                id=str(uuid.uuid4()),
                use_case_id=use_case_id,
                policy_version=policy_version,
                governed_run_id=governed_run_id,
                opened_at=utcnow(),
                **key,
                **state,
            )
            event = "approval_request_opened"
        else:
            for name, value in state.items():
                setattr(row, name, value)
            row.governed_run_id = governed_run_id or row.governed_run_id
            event = "approval_request_updated"
        row.updated_at = utcnow()
        if status != "open":
            row.closed_at, event = row.closed_at or utcnow(), "approval_request_closed"
        else:
            row.closed_at = None
        payload = {**key, "request_id": row.id, "status": status, "level": level}
        payload |= {
            "output_hash": output_hash,
            "approvers": list(approvers or []),
            "needed": approvals_needed,
        }
        return _write(session, row, event, actor, payload, governed_run_id)


def get_approval_request(
    db: DB, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int | None = None
) -> ApprovalRequest | None:
    """The request of one try of an approval task (the latest try when ``try_number`` is None)."""
    stmt = sa.select(ApprovalRequest).filter_by(
        dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
    )
    if try_number is not None:
        stmt = stmt.filter_by(try_number=try_number)
    with session_scope(db, readonly=True) as session:
        return session.scalars(stmt.order_by(ApprovalRequest.try_number.desc()).limit(1)).first()


def close_approval_request(
    db: DB,
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
    try_number: int = 1,
    status: str = "closed",
    actor: str = "airflow",
) -> ApprovalRequest | None:
    """Close the request of one try if it is still open (audit: ``approval_request_closed``);
    ``None`` when there is none, or it was closed already."""
    _one_of(status, APPROVAL_REQUEST_STATUSES, "status")
    key = _request_key(dag_id, run_id, task_id, map_index, try_number)
    with session_scope(db) as session:
        row = session.scalars(sa.select(ApprovalRequest).filter_by(**key).with_for_update()).first()
        if row is None or row.status != "open":
            return None
        row.status, row.closed_at, row.updated_at = status, utcnow(), utcnow()
        payload = {**key, "request_id": row.id, "status": status, "level": row.level}
        return _write(session, row, "approval_request_closed", actor, payload, row.governed_run_id)


# -------------------------------------------------------------------------------- escalation
def open_escalation(
    db: DB,
    *,
    use_case_id: str,
    dag_id: str,
    run_id: str,
    level: int,
    contact: str,
    channel: str,
    reason: str,
    task_id: str | None = None,
    governed_run_id: str | None = None,
    actor: str = "airflow",
) -> Escalation:
    """Open an escalation to ``contact`` (audit: ``escalation_opened``)."""
    row = Escalation(
        use_case_id=use_case_id,
        governed_run_id=governed_run_id,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        level=level,
        contact=contact,
        channel=channel,
        reason=reason,
        status="open",
        opened_at=utcnow(),
    )
    payload = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "level": level}
    payload |= {"contact": contact, "channel": channel, "reason": reason}
    with session_scope(db) as session:
        return _write(session, row, "escalation_opened", actor, payload, governed_run_id)


def resolve_escalation(
    db: DB, escalation_id: int, *, resolved_by: str, note: str | None = None
) -> Escalation:
    """Close an open escalation (audit: ``escalation_resolved``); resolving twice changes nothing."""
    with session_scope(db) as session:
        row = session.get(Escalation, escalation_id, with_for_update=True)
        if row is None:
            raise LookupError(f"no escalation {escalation_id} in the sidecar")
        if row.status == "resolved":
            return row
        row.status, row.resolved_at, row.resolved_by = "resolved", utcnow(), resolved_by
        payload = {"escalation_id": escalation_id, "level": row.level, "note": note}
        return _write(session, row, "escalation_resolved", resolved_by, payload, row.governed_run_id)


# --------------------------------------------------------------------------- drift & review
def record_drift(
    db: DB,
    *,
    use_case_id: str,
    feature: str,
    statistic: str,
    value: float,
    threshold: float,
    drifted: bool,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    actor: str = "airflow",
) -> DriftMeasurement:
    """Record one drift statistic (``psi``/``ks``/``chi2``) of a feature (audit: ``drift_recorded``)."""
    row = DriftMeasurement(
        use_case_id=use_case_id,
        feature=feature,
        statistic=statistic,
        value=value,
        threshold=threshold,
        drifted=drifted,
        window_start=window_start,
        window_end=window_end,
        at=utcnow(),
    )
    payload = {"feature": feature, "statistic": statistic, "value": value, "threshold": threshold}
    payload |= {"drifted": drifted, "window_start": window_start, "window_end": window_end}
    with session_scope(db) as session:
        return _write(session, row, "drift_recorded", actor, payload, None)


def record_review(
    db: DB,
    *,
    use_case_id: str,
    reviewer: str,
    outcome: ReviewOutcome,
    notes: str | None = None,
    metric_value: float | None = None,
    next_due: datetime | None = None,
) -> Review:
    """Record a cadence review: keep, tune, strengthen or retire (audit: ``review_recorded``)."""
    _one_of(outcome, REVIEW_OUTCOMES, "outcome")
    row = Review(
        use_case_id=use_case_id,
        reviewer=reviewer,
        outcome=outcome,
        notes=notes,
        metric_value=metric_value,
        next_due=next_due,
        at=utcnow(),
    )
    payload = {"outcome": outcome, "notes": notes, "metric_value": metric_value, "next_due": next_due}
    with session_scope(db) as session:
        return _write(session, row, "review_recorded", reviewer, payload, None)
