"""Helpers of the store tests: a registered use case, the CLI, and a way around the triggers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from sqlalchemy.engine import Connection

from airflow_ai_governance.store import UseCase, session_scope


@pytest.fixture
def use_case(db_url: str) -> str:
    """The id of a use case registered in ``db_url`` (store records reference it), in pilot, with
    the chain events the registry writes (``aigov audit verify`` checks the registry against them)."""
    from airflow_ai_governance.store import PolicyVersion, append_event
    from airflow_ai_governance.store.integrity import document_hash

    document = {"id": "invoice-triage", "title": "Invoice triage", "tier": 2}
    content_hash = document_hash(document)
    with session_scope(db_url) as session:
        session.add(
            UseCase(id="invoice-triage", title="Invoice triage", tier=2, state="pilot", current_version=1)
        )
        session.flush()
        session.add(
            PolicyVersion(
                use_case_id="invoice-triage",
                version=1,
                content_hash=content_hash,
                document=document,
                created_by="t",
            )
        )
        session.flush()
        append_event(
            session,
            event_type="use_case_registered",
            actor="t",
            use_case_id="invoice-triage",
            payload={"version": 1, "content_hash": content_hash},
        )
        for before, after in (("proposed", "approved"), ("approved", "pilot")):
            append_event(
                session,
                event_type="lifecycle_transition",
                actor="t",
                use_case_id="invoice-triage",
                payload={"from": before, "to": after},
            )
    return "invoice-triage"


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run ``aigov`` in process with only the store's commands; return (exit code, stdout, stderr)."""
    import airflow_ai_governance.cli as cli

    monkeypatch.setattr(cli, "_COMMAND_MODULES", ("db", "audit"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@contextmanager
def _tamper(url: str) -> Iterator[Connection]:
    """A connection that can change audit rows, as an attacker with database access could.

    PostgreSQL: superuser with ``session_replication_role = replica`` (ordinary triggers off).
    SQLite: the append-only triggers are dropped.
    """
    from airflow_ai_governance.store.engine import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            else:
                for name in ("audit_event_no_update", "audit_event_no_delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            yield conn
    finally:
        engine.dispose()


@pytest.fixture
def tamper() -> Callable[[str], AbstractContextManager[Connection]]:
    return _tamper
