"""URL resolution, engine settings and the fail-closed errors of the sidecar."""

from __future__ import annotations

import json
import sqlite3
import sys
import types
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from airflow_ai_governance.exceptions import SidecarUnavailable
from airflow_ai_governance.store import (
    UseCase,
    append_event,
    get_engine,
    mask_url,
    resolve_url,
    session_scope,
    upgrade,
    verify_chain,
)
from airflow_ai_governance.store.engine import ENV_CONN, ENV_URL


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean $AIRFLOW_HOME, no sidecar settings in the environment, Airflow not imported."""
    for name in (ENV_URL, ENV_CONN, "AIRFLOW_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delitem(sys.modules, "airflow", raising=False)
    return tmp_path


def _write_cfg(path: Path, url: str) -> None:
    path.write_text(f"[core]\nload_examples = False\n\n[ai_governance]\nsql_alchemy_conn = {url}\n")


# ------------------------------------------------------------------------------- resolution
def test_default_is_sqlite_under_airflow_home(home: Path) -> None:
    assert resolve_url() == f"sqlite:///{home / 'ai_governance.db'}"


def test_airflow_home_defaults_to_home_airflow(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_HOME")
    monkeypatch.setenv("HOME", str(home))
    assert resolve_url() == f"sqlite:///{home / 'airflow' / 'ai_governance.db'}"


def test_resolution_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CONN, "postgres://conn@connhost/conndb")
    assert resolve_url() == "postgresql+psycopg://conn@connhost/conndb"
    _write_cfg(home / "airflow.cfg", "postgresql://cfg@cfghost/cfgdb")
    assert resolve_url() == "postgresql+psycopg://cfg@cfghost/cfgdb"
    monkeypatch.setenv(ENV_URL, "sqlite:////tmp/from-env.db")
    assert resolve_url() == "sqlite:////tmp/from-env.db"
    assert resolve_url("sqlite:////tmp/explicit.db") == "sqlite:////tmp/explicit.db"


def test_airflow_config_env_points_to_the_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = home / "elsewhere.cfg"
    _write_cfg(other, "postgresql+psycopg://u:pa%25ss@h:5433/db")
    monkeypatch.setenv("AIRFLOW_CONFIG", str(other))
    assert resolve_url() == "postgresql+psycopg://u:pa%25ss@h:5433/db"


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        (
            "postgres://gov:p%40ss@db.example:6432/governance?sslmode=require",
            "postgresql+psycopg://gov:p%40ss@db.example:6432/governance?sslmode=require",
        ),
        ("postgresql://db.example/governance", "postgresql+psycopg://db.example/governance"),
        ("sqlite:///tmp/gov.db", "sqlite:////tmp/gov.db"),
        ("sqlite:////tmp/gov.db", "sqlite:////tmp/gov.db"),
        ("sqlite://%2Ftmp%2Fgov.db", "sqlite:////tmp/gov.db"),
        (
            json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "db.example",
                    "login": "gov",
                    "password": "s3cr=t",
                    "port": 6432,
                    "schema": "governance",
                    "extra": {"sslmode": "verify-full", "cursor": "realdictcursor"},
                }
            ),
            "postgresql+psycopg://gov:s3cr%3Dt@db.example:6432/governance?sslmode=verify-full",
        ),
        (json.dumps({"conn_type": "sqlite", "host": "/data/gov.db"}), "sqlite:////data/gov.db"),
    ],
)
def test_connection_env_is_converted(
    home: Path, monkeypatch: pytest.MonkeyPatch, conn: str, expected: str
) -> None:
    monkeypatch.setenv(ENV_CONN, conn)
    assert resolve_url() == expected


def test_unsupported_connection_type_is_a_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CONN, "mysql://u@h/db")
    with pytest.raises(SidecarUnavailable, match=r"conn_type 'mysql'.*postgres and sqlite"):
        resolve_url()


def _fake_airflow(
    monkeypatch: pytest.MonkeyPatch, config_value: str | None, connection: object, *, in_task: bool = True
) -> None:
    """Stand-ins for airflow.configuration.conf and airflow.sdk.BaseHook (Airflow 'already imported')."""

    class NotFound(Exception):
        pass

    class Hook:
        @staticmethod
        def get_connection(conn_id: str) -> object:
            assert conn_id == "ai_governance_default"
            if connection is None:
                raise NotFound(conn_id)
            return connection

    conf = types.SimpleNamespace(get=lambda section, key, fallback=None: config_value)
    modules = {
        "airflow": types.ModuleType("airflow"),
        "airflow.configuration": types.SimpleNamespace(conf=conf),
        "airflow.sdk": types.SimpleNamespace(BaseHook=Hook),
        "airflow.sdk.exceptions": types.SimpleNamespace(AirflowNotFoundException=NotFound),
        "airflow.sdk.execution_time.task_runner": types.SimpleNamespace(
            SUPERVISOR_COMMS=object() if in_task else None
        ),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def test_imported_airflow_config_and_connection_are_used(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_cfg(home / "airflow.cfg", "sqlite:////ignored/when/airflow/is/imported.db")
    connection = types.SimpleNamespace(
        conn_type="postgres",
        host="pg",
        login="gov",
        password="pw",
        port=5432,
        schema="gov",
        extra_dejson={"application_name": "x"},
    )
    _fake_airflow(monkeypatch, "postgresql://from-conf@h/db", connection)
    assert resolve_url() == "postgresql+psycopg://from-conf@h/db"
    _fake_airflow(monkeypatch, None, connection)
    assert resolve_url() == "postgresql+psycopg://gov:pw@pg:5432/gov?application_name=x"
    _fake_airflow(monkeypatch, None, None)  # connection not found: fall through to the default
    assert resolve_url() == f"sqlite:///{home / 'ai_governance.db'}"
    # outside a task (scheduler, API server) the metadata-DB connection is never looked up:
    # that lookup would share, and could close, the component's own ORM session
    _fake_airflow(monkeypatch, None, connection, in_task=False)
    assert resolve_url() == f"sqlite:///{home / 'ai_governance.db'}"


def test_other_backends_are_refused() -> None:
    with pytest.raises(
        SidecarUnavailable, match=r"PostgreSQL or SQLite, not mysql \(mysql://u:\*\*\*@h/db\)"
    ):
        get_engine("mysql://u:pw@h/db")


def test_mask_url() -> None:
    assert mask_url("postgresql+psycopg://gov:s3cret@db:5432/x") == "postgresql+psycopg://gov:***@db:5432/x"
    assert mask_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
    assert "s3cret" not in mask_url("not a url s3cret")


# ---------------------------------------------------------------------------- fail closed
def test_unreachable_postgres_raises_sidecar_unavailable_with_masked_url() -> None:
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/nowhere"
    for attempt in (
        lambda: append_event(url, event_type="x", actor="a"),
        lambda: verify_chain(url),
        lambda: upgrade(url),
    ):
        with pytest.raises(SidecarUnavailable) as info:
            attempt()
        message = str(info.value)
        assert "postgresql+psycopg://postgres:***@127.0.0.1:1/nowhere is unreachable" in message
        assert "s3cret" not in message
        assert "aigov db upgrade" in message
        assert "sql_alchemy_conn" in message


def test_unmigrated_sqlite_file_raises_sidecar_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(SidecarUnavailable, match=r"is not initialised: no such table.*aigov db upgrade"):
        append_event(f"sqlite:///{path}", event_type="x", actor="a")


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(SidecarUnavailable, match=r"is not initialised: the SQLite file .* does not exist"):
        verify_chain(f"sqlite:///{path}")
    assert not path.exists()


def test_newer_schema_revision_is_accepted_with_a_warning(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE alembic_version_ai_governance SET version_num = '9999_future'")
    append_event(sqlite_url, event_type="x", actor="a")
    assert "newer than this code" in caplog.text


# ---------------------------------------------------------------------------------- engine
def test_get_engine_is_cached_and_sqlite_is_configured(sqlite_url: str) -> None:
    engine = get_engine(sqlite_url)
    assert get_engine(sqlite_url) is engine
    with engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "foreign_keys")}
        pragmas["synchronous"] = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2}


def test_default_engine_follows_the_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = get_engine()
    assert get_engine() is default
    assert str(default.url) == f"sqlite:///{home / 'ai_governance.db'}"
    monkeypatch.setenv(ENV_URL, f"sqlite:///{home / 'other.db'}")
    assert get_engine() is not default
    assert get_engine() is get_engine(f"sqlite:///{home / 'other.db'}")


def test_naive_datetimes_are_refused_and_utc_comes_back(sqlite_url: str) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), session_scope(sqlite_url) as session:
        session.add(
            UseCase(
                id="u",
                title="t",
                tier=1,
                state="proposed",
                current_version=1,
                created_at=datetime(2024, 1, 1),
            )
        )
    with session_scope(sqlite_url) as session:
        session.add(UseCase(id="u", title="t", tier=1, state="proposed", current_version=1))
    with session_scope(sqlite_url, readonly=True) as session:
        row = session.get(UseCase, "u")
        assert row is not None
        assert row.created_at.utcoffset() is not None
        assert row.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
