"""Create and upgrade the sidecar schema with Alembic, programmatically (no alembic.ini)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from airflow_ai_governance.store.engine import (
    SCHEMA,
    create_engine,
    mask_url,
    resolve_url,
    sqlite_path,
    translate_errors,
)
from airflow_ai_governance.store.migrations import VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Serializes concurrent `aigov db upgrade` runs on PostgreSQL (e.g. several containers starting).
_MIGRATION_LOCK_KEY = 0x4149_474F_5600_0001


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for the shipped migrations, bound to ``connection`` when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the sidecar schema to ``revision``. Idempotent and safe to run concurrently.

    On PostgreSQL everything (tables, version table, triggers) lives in the ``ai_governance``
    schema; on SQLite the file and its directory are created when missing.
    """
    from alembic import command

    resolved = resolve_url(url)
    database = sqlite_path(resolved)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(resolved)
    try:
        with translate_errors(resolved), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
                conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            command.upgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()
    log.info("AI governance sidecar at %s upgraded to %s", mask_url(resolved), revision)


def current_revision(url: str | None = None) -> str | None:
    """The sidecar's current Alembic revision, ``None`` when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    resolved = resolve_url(url)
    database = sqlite_path(resolved)
    if database is not None and not database.exists():
        return None
    engine = create_engine(resolved)
    try:
        with translate_errors(resolved), engine.connect() as conn:
            schema = SCHEMA if conn.dialect.name == "postgresql" else None
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "version_table_schema": schema}
            )
            return context.get_current_revision()
    finally:
        engine.dispose()
