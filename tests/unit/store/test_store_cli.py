"""``aigov db upgrade|check`` and the CLI's fail-closed exit codes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from airflow_ai_governance.store.migrations import HEAD_REVISION

Cli = Callable[..., tuple[int, str, str]]


def test_db_upgrade_creates_then_reports_up_to_date(run_cli: Cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY")  # the tests' key: none configured here
    monkeypatch.delenv("AIRFLOW__AI_GOVERNANCE__REDACTION_KEY")
    url = f"sqlite:///{tmp_path / 'new' / 'dir' / 'gov.db'}"
    code, out, _ = run_cli("--db-url", url, "db", "upgrade")
    assert (code, out.splitlines()) == (
        0,
        [
            f"AI governance sidecar at {url}: revision {HEAD_REVISION} (upgraded from an empty database)",
            f"Generated audit, redaction key(s) into {tmp_path / 'ai_governance_keys.json'} "
            "(keep it secret, back it up)",
        ],
    )
    code, out, _ = run_cli("--db-url", url, "db", "upgrade")
    assert (code, out.strip().endswith("(already up to date)")) == (0, True)  # keys kept, not regenerated
    code, out, _ = run_cli("--db-url", url, "db", "check")
    assert (code, "(up to date)" in out) == (0, True)


def test_db_check_fails_on_an_empty_database(run_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    code, out, _ = run_cli("--db-url", f"sqlite:///{path}", "db", "check")
    assert code == 1
    assert "revision none, expected" in out
    assert "aigov db upgrade" in out


def test_db_url_from_the_environment(run_cli: Cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", url)
    code, out, _ = run_cli("db", "upgrade")
    assert code == 0
    assert url in out


def test_unreachable_sidecar_exits_2_with_a_masked_url(run_cli: Cli) -> None:
    url = "postgresql+psycopg://gov:s3cret@127.0.0.1:1/gov"
    for argv in (("db", "upgrade"), ("audit", "verify"), ("audit", "export")):
        code, out, err = run_cli("--db-url", url, *argv)
        assert code == 2, argv
        assert "aigov: error: AI governance sidecar at postgresql+psycopg://gov:***@127.0.0.1:1/gov" in err
        assert "s3cret" not in err + out


def test_a_missing_postgres_database_says_to_create_it(run_cli: Cli) -> None:
    """`aigov db upgrade` cannot migrate a database that is not there: the hint must not send you to it."""
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/aigov_no_such_database"
    for argv in (("db", "upgrade"), ("audit", "verify")):
        code, _, err = run_cli("--db-url", url, *argv)
        assert code == 2, argv
        assert 'database "aigov_no_such_database" does not exist' in err
        assert "createdb -h 127.0.0.1 -U postgres aigov_no_such_database" in err
        assert "run `aigov db upgrade` for a new database" not in err


def test_misspelt_driver_is_a_one_line_error(run_cli: Cli) -> None:
    code, out, err = run_cli("--db-url", "postgresq://postgres@127.0.0.1/x", "audit", "verify")
    assert code == 2
    assert "runs on PostgreSQL or SQLite, not postgresq" in err
    assert "Traceback" not in err + out
