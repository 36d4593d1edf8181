"""Approval decisions are answers Airflow delivered: the try and the time of each answer.

Before, one decision was kept per task instance, reviewer and output hash: a row written first
(a forged one, or one from an earlier try) made the real answer vanish (``record_approval``
returned the existing row). Now each answer Airflow delivered is its own row, keyed by the try
and Airflow's ``responded_at`` as well; rows without them (written before this revision) stay.

Revision ID: 0007_approval_answers
Revises: 0006_ui_indexes
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_approval_answers"
down_revision = "0003_audit_mac"
branch_labels = None
depends_on = None

SCHEMA = "ai_governance"  # frozen copy: a migration must not change when the code does
TABLE = "approval_decision"
OLD = "uq_approval_decision_task_reviewer_output"
NEW = "uq_approval_decision_answer"
OLD_COLUMNS = ["dag_id", "run_id", "task_id", "map_index", "reviewer", "output_hash"]
NEW_COLUMNS = [
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "reviewer",
    "output_hash",
    "responded_at",
]


def _schema() -> str | None:
    """ALTER TABLE is not schema-translated: name PostgreSQL's schema explicitly."""
    return SCHEMA if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=_schema()) as batch:
        batch.add_column(sa.Column("try_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(OLD, type_="unique")
        batch.create_unique_constraint(NEW, NEW_COLUMNS)


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=_schema()) as batch:
        batch.drop_constraint(NEW, type_="unique")
        batch.create_unique_constraint(OLD, OLD_COLUMNS)
        batch.drop_column("responded_at")
        batch.drop_column("try_number")
