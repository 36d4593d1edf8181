"""Initial sidecar schema: registry, runs, gates, reviews, and the hash-chained audit log.

On PostgreSQL (schema ``ai_governance``, mapped by the engine's ``schema_translate_map``) and on
SQLite, triggers refuse UPDATE and DELETE (PostgreSQL: also TRUNCATE) of ``audit_event`` and of
the immutable ``policy_version`` snapshots. On PostgreSQL, ``lock_audit_tail()`` serializes audit
appends (see ``store/audit.py``).

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "ai_governance"  # frozen copy: a migration must not change when the code does
IMMUTABLE_TABLES = ("audit_event", "policy_version")
CHAIN_LOCK_KEY = 0x4149_474F_5600_0002  # pg_advisory_xact_lock key of the audit chain ("AIGOV" 2)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _at(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"))


def _pk(table: str, column: str = "id") -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(column, name=op.f(f"pk_{table}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def upgrade() -> None:
    op.create_table(
        "use_case",
        _str("id", 128),
        _str("title", 512),
        sa.Column("tier", sa.Integer(), nullable=False),
        _str("state", 16),
        _str("owner", 256, nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _pk("use_case"),
    )
    _index("use_case", "state")

    op.create_table(
        "policy_version",
        _id(),
        _str("use_case_id", 128),
        sa.Column("version", sa.Integer(), nullable=False),
        _str("content_hash", 64),
        sa.Column("document", JSON, nullable=False),
        _str("source_path", 1024, nullable=True),
        _str("created_by", 256),
        _at("created_at"),
        _fk("policy_version", "use_case_id", "use_case"),
        _pk("policy_version"),
        sa.UniqueConstraint("use_case_id", "version", name=op.f("uq_policy_version_use_case_id_version")),
    )
    _index("policy_version", "use_case_id")

    op.create_table(
        "lifecycle_transition",
        _id(),
        _str("use_case_id", 128),
        _str("from_state", 16, nullable=True),
        _str("to_state", 16),
        _str("actor", 256),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        _at("at"),
        _fk("lifecycle_transition", "use_case_id", "use_case"),
        _pk("lifecycle_transition"),
    )
    _index("lifecycle_transition", "use_case_id")

    op.create_table(
        "governed_run",
        _str("id", 36),
        _str("use_case_id", 128),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        _str("dag_id", 250),
        _str("run_id", 250),
        _str("task_id", 250),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        _str("dag_version", 64, nullable=True),
        _str("status", 16),
        _at("started_at"),
        _at("ended_at", nullable=True),
        _str("model_id", 256, nullable=True),
        _str("model_version", 128, nullable=True),
        _str("prompt_hash", 64, nullable=True),
        _str("input_hash", 64, nullable=True),
        _str("output_hash", 64, nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("details", JSON, nullable=True),
        _fk("governed_run", "use_case_id", "use_case"),
        _pk("governed_run"),
    )
    _index("governed_run", "dag_id", "run_id", "task_id", "map_index")
    _index("governed_run", "status")
    _index("governed_run", "use_case_id", "started_at")

    op.create_table(
        "check_result",
        _id(),
        _str("governed_run_id", 36, nullable=True),
        _str("use_case_id", 128),
        _str("check", 32),
        _str("outcome", 16),
        sa.Column("details", JSON, nullable=True),
        _at("at"),
        _fk("check_result", "governed_run_id", "governed_run"),
        _fk("check_result", "use_case_id", "use_case"),
        _pk("check_result"),
    )
    _index("check_result", "governed_run_id")
    _index("check_result", "use_case_id")

    op.create_table(
        "approval_decision",
        _id(),
        _str("use_case_id", 128),
        _str("governed_run_id", 36, nullable=True),
        _str("dag_id", 250),
        _str("run_id", 250),
        _str("task_id", 250),
        sa.Column("map_index", sa.Integer(), nullable=False),
        _str("reviewer", 256),
        _str("choice", 16),
        sa.Column("comment", sa.Text(), nullable=True),
        _str("output_hash", 64, nullable=False),
        sa.Column("edits", JSON, nullable=True),
        _at("at"),
        _fk("approval_decision", "governed_run_id", "governed_run"),
        _fk("approval_decision", "use_case_id", "use_case"),
        _pk("approval_decision"),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "reviewer",
            "output_hash",
            name=op.f("uq_approval_decision_task_reviewer_output"),
        ),
    )
    _index("approval_decision", "governed_run_id")
    _index("approval_decision", "use_case_id")

    op.create_table(
        "escalation",
        _id(),
        _str("use_case_id", 128),
        _str("governed_run_id", 36, nullable=True),
        _str("dag_id", 250),
        _str("run_id", 250),
        _str("task_id", 250, nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        _str("contact", 256),
        _str("channel", 64),
        sa.Column("reason", sa.Text(), nullable=False),
        _str("status", 16),
        _at("opened_at"),
        _at("resolved_at", nullable=True),
        _str("resolved_by", 256, nullable=True),
        _fk("escalation", "governed_run_id", "governed_run"),
        _fk("escalation", "use_case_id", "use_case"),
        _pk("escalation"),
    )
    _index("escalation", "governed_run_id")
    _index("escalation", "use_case_id", "status")

    op.create_table(
        "drift_measurement",
        _id(),
        _str("use_case_id", 128),
        _str("feature", 256),
        _str("statistic", 16),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        _at("window_start", nullable=True),
        _at("window_end", nullable=True),
        _at("at"),
        _fk("drift_measurement", "use_case_id", "use_case"),
        _pk("drift_measurement"),
    )
    _index("drift_measurement", "use_case_id", "at")

    op.create_table(
        "review",
        _id(),
        _str("use_case_id", 128),
        _str("reviewer", 256),
        _str("outcome", 16),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("metric_value", sa.Float(), nullable=True),
        _at("at"),
        _at("next_due", nullable=True),
        _fk("review", "use_case_id", "use_case"),
        _pk("review"),
    )
    _index("review", "use_case_id", "at")

    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False),
        _str("event_id", 36),
        _at("at"),
        _str("use_case_id", 128, nullable=True),
        _str("governed_run_id", 36, nullable=True),
        _str("actor", 256),
        _str("event_type", 64),
        sa.Column("payload", sa.Text(), nullable=False),
        _str("prev_hash", 64),
        _str("hash", 64),
        _pk("audit_event", "seq"),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_event_event_id")),
    )
    _index("audit_event", "at")
    _index("audit_event", "governed_run_id")
    _index("audit_event", "use_case_id", "seq")

    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql_guards()
    else:
        _create_sqlite_guards()


def _create_postgresql_guards() -> None:
    """Triggers that refuse changes, and ``lock_audit_tail()``, the audit chain's lock.

    ``lock_audit_tail()`` takes the chain's advisory lock, then reads the tail, in one round trip;
    a VOLATILE function's query takes a fresh snapshot, so it sees the previous holder's commit.
    The lock is transaction-level: it is released at commit.
    """
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    for table in IMMUTABLE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {SCHEMA}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {SCHEMA}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change()"
        )
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {SCHEMA}.lock_audit_tail(OUT seq bigint, OUT hash varchar)
        VOLATILE LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock({CHAIN_LOCK_KEY});
            SELECT e.seq, e.hash INTO seq, hash FROM {SCHEMA}.audit_event e ORDER BY e.seq DESC LIMIT 1;
        END
        $$
        """
    )


def _create_sqlite_guards() -> None:
    for table in IMMUTABLE_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.lock_audit_tail()")
        op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.refuse_change() CASCADE")
    for table in (
        "audit_event",
        "review",
        "drift_measurement",
        "escalation",
        "approval_decision",
        "check_result",
        "governed_run",
        "lifecycle_transition",
        "policy_version",
        "use_case",
    ):
        op.drop_table(table)  # SQLite drops a table's triggers and indexes with it
