"""Policy changes that loosen control wait for a second person; who ran each decision is recorded.

``policy_change``: one row per policy version that loosened control of a use case in (or once in)
pilot or production, pending until someone other than the owner and the author approves or
rejects it (or a newer sync supersedes it). ``identity`` columns on ``lifecycle_transition`` and
``policy_version``: the OS account (user, uid, host) and the verified Airflow user that ran the
decision, beside the free-text actor.

Revision ID: 0004_policy_change
Revises: 0002_approval_request
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_policy_change"
down_revision = "0002_approval_request"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLE = "policy_change"
SCHEMA = "ai_governance"  # frozen copy: a migration must not change when the code does


def _schema() -> str | None:
    """ALTER TABLE is not schema-translated: name PostgreSQL's schema explicitly."""
    return SCHEMA if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("use_case_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("loosenings", JSON, nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("requested_identity", JSON, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(256), nullable=True),
        sa.Column("decided_identity", JSON, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["use_case_id"], ["use_case.id"], name=op.f("fk_policy_change_use_case_id_use_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_change")),
        sa.UniqueConstraint("use_case_id", "version", name=op.f("uq_policy_change_use_case_id_version")),
    )
    op.create_index(op.f("ix_policy_change_status_requested_at"), TABLE, ["status", "requested_at"])
    for table in ("lifecycle_transition", "policy_version"):
        op.add_column(table, sa.Column("identity", JSON, nullable=True), schema=_schema())


def downgrade() -> None:
    for table in ("policy_version", "lifecycle_transition"):
        with op.batch_alter_table(table, schema=_schema()) as batch:
            batch.drop_column("identity")
    op.drop_table(TABLE)
