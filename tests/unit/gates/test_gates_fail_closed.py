"""The boundary and output-standard gates as plain functions: inline, and fail-closed on data they
cannot scan or validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_ai_governance.exceptions import DataBoundaryViolation
from airflow_ai_governance.gates import TaskRef, preflight
from airflow_ai_governance.gates.boundary import enforce_boundary
from airflow_ai_governance.store import AuditEvent, CheckResult, GovernedRun, session_scope
from helpers.setup import register_and_promote


class Opaque:
    """An object the scanner cannot see into (pydantic models and dataclasses it can)."""

    def __init__(self, text: str) -> None:
        self.text = text


@pytest.fixture
def registered(db_url: str, examples_dir: Path) -> str:
    register_and_promote(db_url, [examples_dir], actor="gina")
    return db_url


def _rows(url: str, *columns: Any) -> list[tuple[Any, ...]]:
    with session_scope(url, readonly=True) as session:
        return [tuple(r) for r in session.execute(sa.select(*columns))]


def test_inline_check_is_recorded_and_leaves_the_run_open(registered: str) -> None:
    ctx = preflight("meeting-summaries", TaskRef("d", "r", "t.ai_task"), gate="ai_task", db=registered)
    outcome = enforce_boundary(
        ctx, [{"text": "Mail jane@example.com"}], ["path:/x/example_data/meetings/a.txt"], close_run=False
    )
    assert outcome.outcome == "redacted"
    assert "jane@example.com" not in json.dumps(outcome.data)
    assert _rows(registered, GovernedRun.status) == [("running",)]
    assert _rows(registered, CheckResult.check, CheckResult.outcome) == [("data_boundary", "redacted")]


def test_data_the_scanner_cannot_see_into_is_refused(registered: str) -> None:
    ctx = preflight("meeting-summaries", TaskRef("d", "r", "t.ai_task"), gate="ai_task", db=registered)
    records = [{"id": 1}, {"id": 2, "note": Opaque(text="card 4111 1111 1111 1111")}]
    with pytest.raises(DataBoundaryViolation, match=r"cannot scan a Opaque at \[1\]\.note"):
        enforce_boundary(ctx, records, close_run=False)
    ((status, details),) = _rows(registered, GovernedRun.status, GovernedRun.details)
    assert status == "blocked" and details["check"] == "data_boundary"
    ((check, outcome, check_details),) = _rows(
        registered, CheckResult.check, CheckResult.outcome, CheckResult.details
    )
    assert (check, outcome) == ("data_boundary", "fail")
    assert "Opaque" in check_details["unscannable"]
    assert "4111" not in json.dumps(_rows(registered, AuditEvent.payload), default=str)


def test_an_output_that_cannot_be_validated_is_blocked_and_recorded(registered: str) -> None:
    from airflow_ai_governance.exceptions import OutputStandardFailed
    from airflow_ai_governance.gates.output_standard import enforce_output_standard

    ctx = preflight("meeting-summaries", TaskRef("d", "r", "t.ai_task"), gate="ai_task", db=registered)
    with pytest.raises(
        OutputStandardFailed, match="cannot be validated: cannot validate an output of type str"
    ):
        enforce_output_standard(ctx, "a summary as plain text")
    assert _rows(registered, GovernedRun.status) == [("blocked",)]
    ((check, outcome, details),) = _rows(
        registered, CheckResult.check, CheckResult.outcome, CheckResult.details
    )
    assert (check, outcome) == ("output_standard", "fail")
    assert details["error"].startswith("TypeError: cannot validate an output of type str")
