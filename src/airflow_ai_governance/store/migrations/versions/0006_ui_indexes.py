"""Indexes for the governance pages and API: audit filters by event type and actor, gate pass
rates per use case over time, and the DAGs that ran each use case (access follows them).

Revision ID: 0006_ui_indexes
Revises: 0004_policy_change
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006_ui_indexes"
down_revision = "0004_policy_change"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_audit_event_event_type_seq", "audit_event", ["event_type", "seq"]),
    ("ix_audit_event_actor_seq", "audit_event", ["actor", "seq"]),
    ("ix_check_result_use_case_id_at", "check_result", ["use_case_id", "at"]),
    ("ix_governed_run_use_case_id_dag_id", "governed_run", ["use_case_id", "dag_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
