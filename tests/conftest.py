"""Shared fixtures: a sidecar database on SQLite and on the local PostgreSQL server.

PostgreSQL tests use one database created for this pytest run (``aigov_test_<random>``) and
dropped at the end; each test gets the ``ai_governance`` schema freshly migrated.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Airflow reads its configuration once, at import: give this test run its own AIRFLOW_HOME
# (SQLite metadata DB, logs) before anything imports airflow. Real-Airflow end-to-end tests
# start their own processes with their own homes.
if "AIGOV_TEST_AIRFLOW_HOME" not in os.environ:
    os.environ["AIGOV_TEST_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="aigov-test-airflow-")
os.environ["AIRFLOW_HOME"] = os.environ["AIGOV_TEST_AIRFLOW_HOME"]
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
# Two bundles: the example DAGs, and the governed test DAGs that ``dag.test()`` runs.
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path)},
        }
        for name, path in (("examples", REPO / "dags"), ("tests", REPO / "tests" / "integration" / "dags"))
    ]
)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.pop("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", None)
# The audit chain is keyed: writes refuse without a key (real deployments: `aigov db upgrade`
# generates one, or the secrets backend holds it). Real-Airflow harness processes inherit it.
os.environ.setdefault("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY", "test-audit-key-" + "0123456789abcdef" * 2)
os.environ.setdefault(
    "AIRFLOW__AI_GOVERNANCE__AUDIT_CHECKPOINT_FILE",
    str(Path(os.environ["AIRFLOW_HOME"]) / "ai_governance_audit_checkpoints.jsonl"),
)
# Production use cases refuse to redact without a redaction key (docs/security.md): the suite has
# one; tests of the missing-key behaviour remove it.
os.environ.setdefault("AIRFLOW__AI_GOVERNANCE__REDACTION_KEY", "test-redaction-key-" + "5" * 32)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A PostgreSQL database for this test run, dropped afterwards."""
    from helpers.setup import temporary_pg_database

    with temporary_pg_database("aigov_test") as url:
        yield url


def _reset_pg_schema(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS ai_governance CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty sidecar database URL, once on SQLite and once on PostgreSQL."""
    from airflow_ai_governance.store import dispose_engines, upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ai_governance.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
        _reset_pg_schema(url)
    upgrade(url)
    yield url
    dispose_engines()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A migrated, empty sidecar database on SQLite only (fast unit tests)."""
    from airflow_ai_governance.store import dispose_engines, upgrade

    url = f"sqlite:///{tmp_path / 'ai_governance.db'}"
    upgrade(url)
    yield url
    dispose_engines()


@pytest.fixture
def examples_dir() -> Path:
    return REPO / "dags" / "governance"
