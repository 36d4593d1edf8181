"""PostgreSQL specifics: the ai_governance schema, the refusing triggers, concurrent upgrades."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from airflow_ai_governance.store import (
    PolicyVersion,
    UseCase,
    append_event,
    current_revision,
    dispose_engines,
    session_scope,
    upgrade,
    verify_chain,
)
from airflow_ai_governance.store.migrations import HEAD_REVISION, VERSION_TABLE

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_url(pg_database_url: str) -> Iterator[str]:
    """The run's PostgreSQL database with the ai_governance schema dropped (not migrated)."""
    with _connect(pg_database_url) as conn:
        conn.execute("DROP SCHEMA IF EXISTS ai_governance CASCADE")
    yield pg_database_url
    dispose_engines()


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def test_everything_lives_in_the_ai_governance_schema(pg_url: str) -> None:
    upgrade(pg_url)
    with _connect(pg_url) as conn:
        where = dict(
            conn.execute("SELECT table_name, table_schema FROM information_schema.tables").fetchall()
        )
        triggers = {row[0] for row in conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert where[VERSION_TABLE] == "ai_governance"
    assert where["audit_event"] == "ai_governance"
    assert "public" not in {where[name] for name in where if not name.startswith(("pg_", "sql_"))}
    assert {"audit_event_no_update_delete", "audit_event_no_truncate"} <= triggers
    assert {"policy_version_no_update_delete", "policy_version_no_truncate"} <= triggers


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ai_governance.audit_event SET actor = 'mallory'",
        "DELETE FROM ai_governance.audit_event",
        "TRUNCATE ai_governance.audit_event",
        "UPDATE ai_governance.policy_version SET content_hash = 'x'",
    ],
)
def test_triggers_refuse_changes_even_to_a_superuser(pg_url: str, statement: str) -> None:
    upgrade(pg_url)
    append_event(pg_url, event_type="x", actor="a")
    with session_scope(pg_url) as session:
        session.add(UseCase(id="uc", title="t", tier=1, state="proposed", current_version=1))
        session.flush()
        session.add(
            PolicyVersion(use_case_id="uc", version=1, content_hash="h", document={}, created_by="me")
        )
    with _connect(pg_url) as conn, pytest.raises(errors.InsufficientPrivilege, match="is append-only"):
        conn.execute(statement)
    assert verify_chain(pg_url).checked == 1


def test_concurrent_upgrades_are_serialized(pg_url: str) -> None:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(pg_url)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert current_revision(pg_url) == HEAD_REVISION


def test_commits_are_synchronous_even_if_the_database_default_is_off(pg_url: str) -> None:
    from airflow_ai_governance.store import get_engine

    database = pg_url.rsplit("/", 1)[1]
    with _connect(pg_url) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
    try:
        with get_engine(pg_url).connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    finally:
        with _connect(pg_url) as conn:
            conn.execute(f'ALTER DATABASE "{database}" RESET synchronous_commit')
