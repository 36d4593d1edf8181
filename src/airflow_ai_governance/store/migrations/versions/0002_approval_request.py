"""Approval requests: the sidecar's record of each human-approval request (inbox, review view).

Revision ID: 0002_approval_request
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_approval_request"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLE = "approval_request"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("use_case_id", sa.String(128), nullable=False),
        sa.Column("governed_run_id", sa.String(36), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("task_id", sa.String(250), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("output_hash", sa.String(64), nullable=False),
        sa.Column("output", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("approvers", JSON, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["use_case_id"], ["use_case.id"], name=op.f("fk_approval_request_use_case_id_use_case")
        ),
        sa.ForeignKeyConstraint(
            ["governed_run_id"],
            ["governed_run.id"],
            name=op.f("fk_approval_request_governed_run_id_governed_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_request")),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "try_number",
            name=op.f("uq_approval_request_dag_id_run_id_task_id_map_index_try_number"),
        ),
    )
    op.create_index(op.f("ix_approval_request_governed_run_id"), TABLE, ["governed_run_id"])
    op.create_index(op.f("ix_approval_request_status_opened_at"), TABLE, ["status", "opened_at"])
    op.create_index(op.f("ix_approval_request_use_case_id_opened_at"), TABLE, ["use_case_id", "opened_at"])


def downgrade() -> None:
    op.drop_table(TABLE)
