"""Issue 8, item 10 through a real DAG run (``dag.test()``): PII in dict keys, ``Decimal`` values and
pandas ``Categorical`` columns, handed to the boundary by an upstream task through XCom, are blocked
before the AI call, and nothing the sidecar stores holds them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

GOOD_SUMMARY = {"meeting_id": "MTG-2001", "summary": "The team agreed to freeze exports.", "action_items": 2}


def _rows(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(sql)))
    engine.dispose()
    return rows


def _states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


@pytest.mark.parametrize(
    ("dag_id", "kind", "path"),
    [
        ("aigov_test_boundary_values", "key", "[1].attendees.<key#0>"),
        ("aigov_test_boundary_values", "decimal", "[0].amount"),
        ("aigov_test_boundary_categorical", "categorical", "card[0]"),
    ],
)
def test_pii_in_keys_decimals_and_categoricals_is_blocked_before_the_ai_call(
    dagbag: Any, governed_sidecar: str, tmp_path: Path, dag_id: str, kind: str, path: str
) -> None:
    """Fails before the fix: each of these passed the boundary and reached the AI step."""
    marker = tmp_path / "called"
    conf = {"kind": kind, "marker": str(marker), "output": GOOD_SUMMARY}
    dag_run = dagbag.dags[dag_id].test(run_conf=conf)
    states = _states(dag_run)
    assert states.get("make_data", "success") == "success"
    assert states["meeting_summaries.data_boundary"] == "failed"
    assert states["meeting_summaries.ai_task"] == "upstream_failed"
    assert not marker.exists()
    ((outcome, details),) = _rows(
        governed_sidecar, "SELECT outcome, details FROM check_result WHERE \"check\" = 'data_boundary'"
    )
    details = json.loads(details) if isinstance(details, str) else details
    assert outcome == "fail" and details["blocked_types"] == ["CREDIT_CARD"]
    assert path in details["paths"]
    stored = json.dumps(
        [
            [list(r) for r in _rows(governed_sidecar, f"SELECT * FROM {table}")]
            for table in ("check_result", "governed_run", "audit_event")
        ],
        default=str,
    )
    assert "4111" not in stored


def test_clean_data_from_xcom_passes(dagbag: Any, governed_sidecar: str, tmp_path: Path) -> None:
    marker = tmp_path / "called"
    conf = {"kind": "clean", "marker": str(marker), "output": GOOD_SUMMARY}
    dag_run = dagbag.dags["aigov_test_boundary_values"].test(run_conf=conf)
    assert str(dag_run.state) == "success", _states(dag_run)
    assert marker.exists()
