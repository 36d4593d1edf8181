"""Keyed audit chain: ``audit_event.key_id``, and an index for the registry's chain-derived state.

``key_id`` names the audit key an event's ``hash`` was computed with (a fingerprint, never the
key): set, ``hash`` is HMAC-SHA256 with the audit key over the event and its predecessor's link;
NULL, it is the plain SHA-256 of events written before this revision. Existing rows are kept as
they are and stay verifiable: the first keyed event links to the last unkeyed one and its MAC
covers that link, so rewriting the unkeyed prefix is detected too (``aigov db upgrade`` appends
an ``audit_chain_keyed`` event at once to seal it). An unkeyed event after a keyed one is refused
by ``aigov audit verify``.

``ix_audit_event_use_case_id_event_type_seq``: the run-time registry check reads the lifecycle
events of one use case without scanning its run events.

Revision ID: 0003_audit_mac
Revises: 0006_ui_indexes
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit_mac"
down_revision = "0006_ui_indexes"
branch_labels = None
depends_on = None

INDEX = "ix_audit_event_use_case_id_event_type_seq"
SCHEMA = "ai_governance"  # frozen copy: a migration must not change when the code does


def _schema() -> str | None:
    """ALTER TABLE is not schema-translated: name PostgreSQL's schema explicitly."""
    return SCHEMA if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("key_id", sa.String(16), nullable=True), schema=_schema())
    op.create_index(INDEX, "audit_event", ["use_case_id", "event_type", "seq"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="audit_event")
    with op.batch_alter_table("audit_event", schema=_schema()) as batch:
        batch.drop_column("key_id")
