"""Issue 8, items 8 and 10, at the data-boundary gate: what the sidecar stores, and the key rules.

Nothing matched may be stored (keys included, no unkeyed hash of the data either); a production
use case refuses to redact without a configured key; elsewhere the gate warns and records it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_ai_governance.exceptions import DataBoundaryViolation
from airflow_ai_governance.gates import TaskRef, preflight
from airflow_ai_governance.gates.boundary import enforce_boundary
from airflow_ai_governance.gates.preflight import output_hash
from airflow_ai_governance.store import AuditEvent, CheckResult, GovernedRun, session_scope
from helpers.setup import register_and_promote

CARD = "4111 1111 1111 1111"


def _registered(db_url: str, examples_dir: Path, to: str = "production") -> str:
    register_and_promote(db_url, [examples_dir], actor="gina", to=to)
    return db_url


@pytest.fixture
def registered(db_url: str, examples_dir: Path) -> str:
    return _registered(db_url, examples_dir)


@pytest.fixture
def no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_ai_governance.boundary import redaction

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    for name in (
        "AIRFLOW__AI_GOVERNANCE__REDACTION_KEY",
        "AIRFLOW__AI_GOVERNANCE__KEY_FILE",
        "AIGOV_REDACTION_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(redaction, "_ephemeral", None, raising=False)


def _stored(url: str) -> str:
    """Everything the sidecar holds about the runs: check results, run records, audit payloads."""
    with session_scope(url, readonly=True) as session:
        rows = [
            *session.execute(sa.select(CheckResult.details, CheckResult.outcome)),
            *session.execute(sa.select(GovernedRun.details, GovernedRun.input_hash, GovernedRun.output_hash)),
            *session.execute(sa.select(AuditEvent.payload)),
        ]
    return json.dumps([list(r) for r in rows], default=str)


def _check(url: str) -> tuple[str, dict[str, Any]]:
    with session_scope(url, readonly=True) as session:
        ((outcome, details),) = session.execute(sa.select(CheckResult.outcome, CheckResult.details))
    return outcome, details


def _ctx(url: str) -> Any:
    return preflight("meeting-summaries", TaskRef("d", "r", "t.data_boundary"), gate="data_boundary", db=url)


def test_a_pii_key_blocks_and_is_never_stored(registered: str) -> None:
    """Fails before the fix: the key was not scanned, the record passed to the AI."""
    records: list[Any] = [{"id": i} for i in range(7)]
    records.append({"attendees": {f"card {CARD}": "present", "dana": "absent"}})
    with pytest.raises(
        DataBoundaryViolation, match=r"blocks CREDIT_CARD: 1 finding\(s\) at \[7\]\.attendees\.<key#0>"
    ):
        enforce_boundary(_ctx(registered), records)
    outcome, details = _check(registered)
    assert outcome == "fail" and details["paths"] == ["[7].attendees.<key#0>"]
    stored = _stored(registered)
    assert "4111" not in stored and "card 4" not in stored


def test_a_redacted_key_is_masked_in_the_data_and_in_the_record(registered: str) -> None:
    outcome = enforce_boundary(_ctx(registered), [{"notes": {"jane@example.com": "said hello"}}])
    assert outcome.outcome == "redacted"
    (key,) = outcome.data[0]["notes"]
    assert key.startswith("<EMAIL_ADDRESS:")
    _, details = _check(registered)
    assert details["paths"] == ["[0].notes.<key#0>"] and details["redaction_key"] == "configured"
    assert "jane" not in _stored(registered)


def test_no_unkeyed_hash_of_recorded_data_is_stored(registered: str) -> None:
    """Fails before the fix: the run's input_hash was SHA-256 of the data, reversed by enumeration."""
    enforce_boundary(_ctx(registered), {"host": "10.1.2.77"})  # IP_ADDRESS: record (passes in clear)
    stored = _stored(registered)
    guesses = {output_hash({"host": f"10.1.2.{n}"}) for n in range(256)}
    assert not any(g in stored for g in guesses)
    assert "10.1.2.77" not in stored


def test_production_refuses_to_redact_without_a_key(registered: str, no_key: None) -> None:
    """Fails before the fix: a built-in default key was used silently."""
    with pytest.raises(DataBoundaryViolation, match=r"cannot redact: no redaction key.*aigov db upgrade"):
        enforce_boundary(_ctx(registered), [{"text": "mail jane@example.com"}])
    outcome, details = _check(registered)
    assert (outcome, details["redaction_key"]) == ("fail", "missing")
    assert "jane" not in _stored(registered)


def test_pilot_redacts_without_a_key_with_a_loud_warning(
    db_url: str, examples_dir: Path, no_key: None, caplog: pytest.LogCaptureFixture
) -> None:
    url = _registered(db_url, examples_dir, to="pilot")
    caplog.set_level(logging.WARNING)
    with pytest.warns(UserWarning, match="NO REDACTION KEY"):
        outcome = enforce_boundary(_ctx(url), [{"text": "mail jane@example.com"}])
    assert outcome.outcome == "redacted" and "jane" not in json.dumps(outcome.data)
    assert "WITHOUT A CONFIGURED REDACTION KEY" in caplog.text
    _, details = _check(url)
    assert details["redaction_key"].startswith("process-local")


def test_a_deep_record_passes_the_gate_with_short_stored_paths(registered: str) -> None:
    """Fails before the fix: RecursionError at ~500 levels."""
    node: Any = {"text": "mail jane@example.com"}
    for _ in range(3000):
        node = {"child": [node]}
    outcome = enforce_boundary(_ctx(registered), node)
    assert outcome.outcome == "redacted" and outcome.findings == 1
    _, details = _check(registered)
    (path,) = details["paths"]
    assert len(path) <= 200 and path.startswith("child[0].") and path.endswith(".text")
