"""Migrations: idempotent upgrade, models and migrations agree, append-only triggers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from airflow_ai_governance.store import AuditEvent, append_event, current_revision, metadata, upgrade
from airflow_ai_governance.store.engine import create_engine
from airflow_ai_governance.store.migrations import HEAD_REVISION, KNOWN_REVISIONS, VERSION_TABLE
from airflow_ai_governance.store.schema import alembic_config

TABLES = set(metadata.tables)  # every model has its table (test_models_match_migrations: and its columns)


def test_known_revisions_match_the_migration_scripts() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert tuple(chain) == KNOWN_REVISIONS
    assert scripts.get_current_head() == HEAD_REVISION


def test_upgrade_is_idempotent(db_url: str) -> None:
    append_event(db_url, event_type="before", actor="a")
    upgrade(db_url)
    upgrade(db_url)
    assert current_revision(db_url) == HEAD_REVISION
    engine = create_engine(db_url)
    schema = "ai_governance" if engine.dialect.name == "postgresql" else None
    tables = set(sa.inspect(engine).get_table_names(schema=schema))
    engine.dispose()
    assert tables == TABLES | {VERSION_TABLE}
    append_event(db_url, event_type="after", actor="a")  # data kept, chain continues


def test_models_match_migrations(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # reflect the ai_governance schema as the default one
            conn.exec_driver_sql("SET search_path TO ai_governance")
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []
    engine.dispose()


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_audit_rows_cannot_be_changed(db_url: str, statement: str) -> None:
    append_event(db_url, event_type="x", actor="a")
    table = AuditEvent.__table__
    change = table.update().values(actor="mallory") if statement == "update" else table.delete()
    engine = create_engine(db_url)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(change)
    engine.dispose()


def test_downgrade_to_base_and_back(sqlite_url: str) -> None:
    from alembic import command

    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(sa.inspect(engine).get_table_names()) == {VERSION_TABLE}
    engine.dispose()
    upgrade(sqlite_url)
    assert current_revision(sqlite_url) == HEAD_REVISION
