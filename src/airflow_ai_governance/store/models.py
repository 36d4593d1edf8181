"""SQLAlchemy 2 models of the sidecar, on their own :data:`metadata` (never Airflow's).

Tables carry no schema: on PostgreSQL the engine maps them into ``ai_governance`` with
``schema_translate_map``, so the same models work unchanged on SQLite. Every datetime is
timezone-aware UTC (:class:`UtcDateTime` refuses naive values and restores UTC on SQLite).
Changing a model needs a new Alembic revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = String(128)  # use case ids
NAME = String(256)  # people, owners, contacts
AIRFLOW_ID = String(250)  # dag_id, run_id, task_id (Airflow's own limit)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware datetimes and always returns UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the sidecar stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSONType}


def _use_case_fk() -> Mapped[str]:
    return mapped_column(ID, ForeignKey("use_case.id"), index=True)


def _run_fk() -> Mapped[str | None]:
    return mapped_column(String(36), ForeignKey("governed_run.id"), index=True)


class UseCase(Base):
    __tablename__ = "use_case"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(512))
    tier: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    owner: Mapped[str | None] = mapped_column(NAME)  # may be missing while ``proposed``
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PolicyVersion(Base):
    """An immutable snapshot of a use case's policy (PostgreSQL refuses UPDATE/DELETE)."""

    __tablename__ = "policy_version"
    __table_args__ = (UniqueConstraint("use_case_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_case_id: Mapped[str] = _use_case_fk()
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]]
    source_path: Mapped[str | None] = mapped_column(String(1024))
    created_by: Mapped[str] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    identity: Mapped[dict[str, Any] | None]  # who ran the sync: OS account, verified Airflow user


class PolicyChange(Base):
    """A policy version that loosens control, waiting for a second person (or decided).

    ``status``: pending, approved, rejected, superseded. While pending, the use case's
    ``current_version`` stays ``base_version`` (the version in force).
    """

    __tablename__ = "policy_change"
    __table_args__ = (UniqueConstraint("use_case_id", "version"), Index(None, "status", "requested_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_case_id: Mapped[str] = mapped_column(ID, ForeignKey("use_case.id"))
    version: Mapped[int] = mapped_column(Integer)
    base_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    loosenings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    requested_by: Mapped[str] = mapped_column(NAME)
    requested_identity: Mapped[dict[str, Any]]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(NAME)
    decided_identity: Mapped[dict[str, Any] | None]
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class LifecycleTransition(Base):
    __tablename__ = "lifecycle_transition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_case_id: Mapped[str] = _use_case_fk()
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(NAME)
    reason: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    identity: Mapped[dict[str, Any] | None]  # who ran the command: OS account, verified Airflow user


class GovernedRun(Base):
    """One governed task try: what ran, under which policy version, with which model and cost."""

    __tablename__ = "governed_run"
    __table_args__ = (
        Index(None, "dag_id", "run_id", "task_id", "map_index"),
        Index(None, "use_case_id", "started_at"),
        Index(None, "use_case_id", "dag_id"),  # 0006: the DAGs that ran a use case (UI access)
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    use_case_id: Mapped[str] = mapped_column(ID, ForeignKey("use_case.id"))
    policy_version: Mapped[int] = mapped_column(Integer)
    dag_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    run_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    task_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    try_number: Mapped[int] = mapped_column(Integer, default=1)
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    dag_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    model_id: Mapped[str | None] = mapped_column(NAME)
    model_version: Mapped[str | None] = mapped_column(String(128))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    input_hash: Mapped[str | None] = mapped_column(String(64))
    output_hash: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None]


class CheckResult(Base):
    __tablename__ = "check_result"
    __table_args__ = (Index(None, "use_case_id", "at"),)  # 0006: gate pass rates per use case

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    governed_run_id: Mapped[str | None] = _run_fk()
    use_case_id: Mapped[str] = _use_case_fk()
    check: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any] | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalDecision(Base):
    """A reviewer's answer on one output (by hash) of a task instance: the sidecar's *record*.

    The approval gate never counts these rows: it counts the answers Airflow delivered to the
    task instance (carried in the task's deferral kwargs). Each delivered answer is its own row
    (0007): unique per task instance, try, reviewer, output hash and Airflow's ``responded_at``,
    so a row written beforehand (forged, or from an earlier try) never hides a real answer.
    """

    __tablename__ = "approval_decision"
    __table_args__ = (
        UniqueConstraint(
            "dag_id", "run_id", "task_id", "map_index", "try_number", "reviewer", "output_hash",
            "responded_at",
            name="uq_approval_decision_answer",
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_case_id: Mapped[str] = _use_case_fk()
    governed_run_id: Mapped[str | None] = _run_fk()
    dag_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    run_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    task_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    reviewer: Mapped[str] = mapped_column(NAME)
    choice: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    output_hash: Mapped[str] = mapped_column(String(64))
    edits: Mapped[dict[str, Any] | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    try_number: Mapped[int | None] = mapped_column(Integer)  # 0007
    responded_at: Mapped[datetime | None]  # 0007: Airflow's time of the answer


class ApprovalRequest(Base):
    """An open (or closed) request for human approval: one per approval task instance try.

    The sidecar's *record* of the request, for the approvals inbox and the review view: the whole
    output under review (by hash), the live escalation level and the approvals so far. The gate's
    source of truth for the quorum is what Airflow delivered to the task (see gates/approval.py);
    this row mirrors it for people. ``status``: open, approved, rejected, timeout, closed.
    """

    __tablename__ = "approval_request"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id", "task_id", "map_index", "try_number"),
        Index(None, "status", "opened_at"),
        Index(None, "use_case_id", "opened_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    use_case_id: Mapped[str] = mapped_column(ID, ForeignKey("use_case.id"))
    governed_run_id: Mapped[str | None] = _run_fk()
    policy_version: Mapped[int] = mapped_column(Integer)
    dag_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    run_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    task_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    try_number: Mapped[int] = mapped_column(Integer, default=1)
    output_hash: Mapped[str] = mapped_column(String(64))
    output: Mapped[Any] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="open")
    level: Mapped[int] = mapped_column(Integer, default=0)
    approvals_needed: Mapped[int] = mapped_column(Integer)
    approvers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deadline: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Escalation(Base):
    __tablename__ = "escalation"
    __table_args__ = (Index(None, "use_case_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_case_id: Mapped[str] = mapped_column(ID, ForeignKey("use_case.id"))
    governed_run_id: Mapped[str | None] = _run_fk()
    dag_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    run_id: Mapped[str] = mapped_column(AIRFLOW_ID)
    task_id: Mapped[str | None] = mapped_column(AIRFLOW_ID)
    level: Mapped[int] = mapped_column(Integer)
    contact: Mapped[str] = mapped_column(NAME)
    channel: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(NAME)


class DriftMeasurement(Base):
    __tablename__ = "drift_measurement"
    __table_args__ = (Index(None, "use_case_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_case_id: Mapped[str] = mapped_column(ID, ForeignKey("use_case.id"))
    feature: Mapped[str] = mapped_column(NAME)
    statistic: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    drifted: Mapped[bool]
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (Index(None, "use_case_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_case_id: Mapped[str] = mapped_column(ID, ForeignKey("use_case.id"))
    reviewer: Mapped[str] = mapped_column(NAME)
    outcome: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    metric_value: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    next_due: Mapped[datetime | None]


class AuditEvent(Base):
    """One link of the append-only, hash-chained audit log (see :mod:`.audit`).

    ``seq`` is the chain position (1, 2, ...), assigned under the chain lock, never autoincremented;
    ``payload`` is canonical JSON text, hashed byte for byte. Triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index(None, "use_case_id", "seq"),
        Index(None, "at"),
        Index(None, "event_type", "seq"),  # 0006: audit filters of the UI/API
        Index(None, "actor", "seq"),
        Index(None, "use_case_id", "event_type", "seq"),  # 0003: the registry's chain-derived state
    )

    # INTEGER on SQLite makes seq the rowid: the tail lookup is a B-tree end.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime]
    use_case_id: Mapped[str | None] = mapped_column(ID)
    governed_run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor: Mapped[str] = mapped_column(NAME)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: 0003: the audit key's id when ``hash`` is its HMAC; NULL for the unkeyed events of before.
    key_id: Mapped[str | None] = mapped_column(String(16))
