"""Fixtures for in-process Airflow tests (``dag.test()``) of governed DAGs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Airflow's metadata DB (SQLite in this run's AIRFLOW_HOME), migrated once per session."""
    home = os.environ["AIRFLOW_HOME"]
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home


@pytest.fixture
def governed_sidecar(airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite sidecar with the example policies synced and promoted to production.

    Set as ``AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN`` so that tasks run by ``dag.test()`` use it.
    """
    from airflow_ai_governance.gates.structure import registry
    from airflow_ai_governance.store import dispose_engines
    from helpers.setup import register_and_promote

    url = f"sqlite:///{tmp_path / 'sidecar.db'}"
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", url)
    register_and_promote(url, [REPO / "dags" / "governance"], actor="gina")
    registry.clear()
    yield url
    registry.clear()
    dispose_engines()


@pytest.fixture
def dagbag(governed_sidecar: str) -> object:
    """The example DAGs and the test DAGs, parsed with the cluster policy against the test sidecar."""
    from types import SimpleNamespace

    from airflow.dag_processing.dagbag import DagBag

    bags = [
        DagBag(dag_folder=str(folder)) for folder in (REPO / "dags", REPO / "tests" / "integration" / "dags")
    ]
    return SimpleNamespace(
        dags={k: v for bag in bags for k, v in bag.dags.items()},
        import_errors={k: v for bag in bags for k, v in bag.import_errors.items()},
    )
