"""Alembic migrations of the sidecar (run them with ``aigov db upgrade``).

They use their own version table, so they never touch Airflow's ``alembic_version``. A new
revision goes in ``versions/`` and its id is appended to :data:`KNOWN_REVISIONS` (a unit test
checks both agree): the list lets engines check the schema without importing Alembic.
"""

from __future__ import annotations

VERSION_TABLE = "alembic_version_ai_governance"
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001_initial",
    "0002_approval_request",
    "0004_policy_change",
    "0006_ui_indexes",
    "0003_audit_mac",
    "0007_approval_answers",
)
HEAD_REVISION = KNOWN_REVISIONS[-1]
