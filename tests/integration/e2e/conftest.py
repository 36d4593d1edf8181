"""One real Airflow 3 for all end-to-end tests of the session.

The ``airflow_cluster`` fixture starts api-server, scheduler, dag-processor and triggerer
(LocalExecutor, parallelism 4) once per pytest session, on a PostgreSQL metadata database created
for the run (a copy of a migrated template kept on the server per Airflow version) and dropped
afterwards, and stops every process at the end, even when tests fail (a watchdog process kills
the cluster if pytest itself dies, e.g. on a pytest-timeout).

DAG folders served (each its own ``LocalDagBundle``, so an import error in one file never hides
the others):

- the repository's ``dags/`` (bundle ``dags``), work in progress of other engineers included;
- every ``tests/integration/e2e/dags_*/`` folder (bundle ``e2e-<folder>``): add a folder for the
  DAGs of a new e2e test module, it is picked up automatically;
- a scratch folder (``e2e_scratch_dag_folder``) for DAG files a test generates at run time (the
  dag-processor looks for new files every 5 s).

The governance sidecar of the cluster's workers and API server is a second PostgreSQL database
(``e2e_sidecar_db_url``, passed as ``AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN``), also created for
the run and dropped afterwards; it is migrated and holds the example policies, promoted to
``production``, before the cluster starts.

Users (``SimpleAuthManager``, real roles): ``admin``; the owners, reviewers and escalation contacts
of the example policies (role ``user``); ``viewer1`` (role ``viewer``). A user's id in
``assigned_users`` / ``responded_by_user`` is the user name.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_ai_governance.testing import (
    AirflowClient,
    AirflowCluster,
    AirflowClusterError,
    create_postgres_database,
    drop_postgres_database,
)

PG_HOST = os.environ.get("AIGOV_TEST_PG_HOST", "127.0.0.1")
REPO_ROOT = Path(__file__).resolve().parents[3]
E2E_DIR = Path(__file__).resolve().parent

_TIMINGS: dict[str, float] = {}

E2E_USERS = {
    "admin": "admin",
    **{name: "user" for name in ("rita", "rachel", "roger", "lena", "eric", "olivia", "oscar", "paula")},
    **{name: "user" for name in ("fiona", "gina")},
    "viewer1": "viewer",
}


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def _temporary_database(prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        _admin_execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - environment problem, reported clearly
        pytest.fail(f"PostgreSQL at {PG_HOST}:5432 is not usable ({exc}); run scripts/ensure-postgres.sh")
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def airflow_metadata_db_url() -> Iterator[str]:
    """Airflow's metadata database for this run (PostgreSQL, already migrated: copied from a
    template migrated once per Airflow version), dropped afterwards."""
    name = f"aigov_e2e_airflow_{uuid.uuid4().hex[:10]}"
    started = time.monotonic()
    try:
        url = create_postgres_database(name, host=PG_HOST)
    except AirflowClusterError as exc:
        pytest.fail(f"could not prepare Airflow's metadata database: {exc}", pytrace=False)
    except Exception as exc:  # pragma: no cover - environment problem, reported clearly
        pytest.fail(f"PostgreSQL at {PG_HOST}:5432 is not usable ({exc}); run scripts/ensure-postgres.sh")
    _TIMINGS["metadata db (template copy)"] = time.monotonic() - started
    try:
        yield url
    finally:
        drop_postgres_database(name, host=PG_HOST)


def _prepare_sidecar(url: str) -> None:
    """Migrate the sidecar and register the example policies of ``dags/governance`` in
    ``production``, before the cluster starts, so that the example DAGs parse at once."""
    from airflow_ai_governance.policy import load_policies
    from airflow_ai_governance.store import dispose_engines, session_scope, upgrade
    from airflow_ai_governance.store.registry import sync_policies, transition

    upgrade(url)
    loaded = load_policies([REPO_ROOT / "dags" / "governance", E2E_DIR / "policies"])
    with session_scope(url) as session:
        sync_policies(session, loaded, actor="e2e-setup")
    for item in loaded:
        for state in ("approved", "pilot", "production"):
            with session_scope(url) as session:
                transition(session, item.policy.id, state, actor="e2e-setup", reason="e2e session set-up")
    dispose_engines()


@pytest.fixture(scope="session")
def e2e_sidecar_db_url() -> Iterator[str]:
    """The governance sidecar database the cluster is configured with: migrated, with the example
    policies registered and promoted to ``production`` (best effort: the harness test does not
    depend on it; a failure is reported as a warning)."""
    for url in _temporary_database("aigov_e2e_sidecar"):
        started = time.monotonic()
        try:
            _prepare_sidecar(url)
            _TIMINGS["sidecar set-up"] = time.monotonic() - started
        except Exception as exc:
            warnings.warn(f"e2e sidecar set-up failed ({type(exc).__name__}: {exc})", stacklevel=1)
        yield url


@pytest.fixture(scope="session")
def e2e_scratch_dag_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAG folder served by the cluster, for DAG files generated by tests at run time."""
    return tmp_path_factory.mktemp("e2e-scratch-dags")


def e2e_dag_folders(scratch: Path) -> dict[str, Path]:
    folders = {"dags": REPO_ROOT / "dags"}
    for folder in sorted(E2E_DIR.glob("dags_*")):
        if folder.is_dir():
            folders[f"e2e-{folder.name}"] = folder
    folders["e2e-scratch"] = scratch
    return folders


@pytest.fixture(scope="session")
def airflow_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    airflow_metadata_db_url: str,
    e2e_sidecar_db_url: str,
    e2e_scratch_dag_folder: Path,
) -> Iterator[AirflowCluster]:
    """A running Airflow shared by all e2e tests of the session (see the module docstring)."""
    cluster = AirflowCluster(
        dag_folders=e2e_dag_folders(e2e_scratch_dag_folder),
        db_url=airflow_metadata_db_url,
        home=tmp_path_factory.mktemp("airflow-home"),
        users=E2E_USERS,
        parallelism=4,
        extra_env={"AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN": e2e_sidecar_db_url},
        migrate=False,  # airflow_metadata_db_url is migrated already
    )
    try:
        cluster.start()
    except AirflowClusterError as exc:
        pytest.fail(f"Airflow did not start (home {cluster.home}):\n{exc}", pytrace=False)
    _TIMINGS.update({f"cluster {k}": v for k, v in cluster.timings.items()})
    try:
        yield cluster
    finally:
        leftovers = cluster.stop()
        if leftovers:
            pytest.fail(f"Airflow processes survived SIGKILL: {leftovers}", pytrace=False)


@pytest.fixture(scope="session")
def airflow_client(airflow_cluster: AirflowCluster) -> AirflowClient:
    """A REST client for the session's cluster; reads as ``admin``, acts as the user given."""
    return airflow_cluster.client()


@pytest.fixture(scope="session")
def e2e_timings() -> dict[str, float]:
    """Durations (seconds) that e2e tests want reported at the end of the run."""
    return _TIMINGS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TIMINGS:
        figures = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in _TIMINGS.items())
        terminalreporter.write_line(f"airflow e2e timings: {figures}")
