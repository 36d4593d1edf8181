"""URL resolution inside a real Airflow process: its config and its connection lookup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = """
import json
import airflow  # noqa: F401 - 'Airflow already imported' is the case under test
from airflow.configuration import conf
from airflow_ai_governance.store import engine

found = {"connection": engine.resolve_url()}
conf.set("ai_governance", "sql_alchemy_conn", "postgresql://from-conf@h/db")
found["config"] = engine.resolve_url()
conf.remove_option("ai_governance", "sql_alchemy_conn")
engine.CONN_ID = "not_defined_anywhere"
found["default"] = engine.resolve_url()
print(json.dumps(found))
"""


def test_resolution_with_airflow_imported(tmp_path: Path) -> None:
    connections = {
        "ai_governance_default": {
            "conn_type": "postgres",
            "host": "db.example",
            "login": "gov",
            "password": "s3cr=t",
            "port": 6432,
            "schema": "governance",
            "extra": {"sslmode": "require"},
        }
    }
    (tmp_path / "connections.json").write_text(json.dumps(connections))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__AI_GOVERNANCE", "AIRFLOW_CONN_"))
    }
    env |= {
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {"connections_file_path": str(tmp_path / "connections.json")}
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "connection": "postgresql+psycopg://gov:s3cr%3Dt@db.example:6432/governance?sslmode=require",
        "config": "postgresql+psycopg://from-conf@h/db",
        "default": f"sqlite:///{tmp_path / 'ai_governance.db'}",
    }
