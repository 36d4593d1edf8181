"""Repository functions: each write stores its row and its audit event together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from airflow_ai_governance.store import (
    CheckResult,
    export_events,
    finish_run,
    get_run,
    list_approvals,
    list_runs,
    open_escalation,
    record_approval,
    record_check,
    record_drift,
    record_review,
    resolve_escalation,
    session_scope,
    start_run,
    verify_chain,
)

Cli = Callable[..., tuple[int, str, str]]
TI = {"dag_id": "invoices", "run_id": "manual__1", "task_id": "triage"}
ANSWER = {"try_number": 1, "responded_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC)}


def _event_types(url: str) -> list[str]:
    """The events after the use case's registration (see the ``use_case`` fixture)."""
    registration = ("use_case_registered", "lifecycle_transition")
    return [e["event_type"] for e in export_events(url) if e["event_type"] not in registration]


def test_run_lifecycle(db_url: str, use_case: str) -> None:
    run_id = start_run(db_url, use_case_id=use_case, policy_version=3, **TI, try_number=2, model_id="gpt-x")
    run = get_run(db_url, run_id)
    assert run is not None
    assert (run.status, run.policy_version, run.try_number, run.map_index, run.model_id) == (
        "running",
        3,
        2,
        -1,
        "gpt-x",
    )
    finished = finish_run(
        db_url,
        run_id,
        "success",
        output_hash="ab" * 32,
        latency_ms=12.5,
        tokens_in=10,
        tokens_out=5,
        cost=0.01,
    )
    assert finished.status == "success"
    assert finished.ended_at is not None
    assert finished.ended_at >= finished.started_at
    assert [r.id for r in list_runs(db_url, use_case)] == [run_id]
    assert get_run(db_url, "missing") is None
    events = [e for e in export_events(db_url) if e["governed_run_id"]]
    assert [e["event_type"] for e in events] == ["run_started", "run_finished"]
    assert {e["governed_run_id"] for e in events} == {run_id}
    assert events[1]["payload"]["status"] == "success"
    assert events[1]["payload"]["previous_status"] == "running"


def test_run_errors(sqlite_url: str) -> None:
    with pytest.raises(TypeError, match="unknown governed_run field"):
        start_run(sqlite_url, use_case_id="uc", policy_version=1, **TI, colour="red")
    with pytest.raises(LookupError, match="no governed run 'nope'"):
        finish_run(sqlite_url, "nope", "failed")
    assert _event_types(sqlite_url) == []


def test_checks_drift_reviews_escalations(db_url: str, use_case: str) -> None:
    run_id = start_run(db_url, use_case_id=use_case, policy_version=1, **TI)
    check = record_check(
        db_url,
        use_case_id=use_case,
        governed_run_id=run_id,
        check="data_boundary",
        outcome="redacted",
        details={"n": 2},
    )
    assert check.id is not None
    start = datetime(2024, 1, 1, tzinfo=UTC)
    drift = record_drift(
        db_url,
        use_case_id=use_case,
        feature="amount",
        statistic="psi",
        value=0.31,
        threshold=0.2,
        drifted=True,
        window_start=start,
        window_end=start + timedelta(days=7),
    )
    assert drift.drifted
    review = record_review(db_url, use_case_id=use_case, reviewer="rita", outcome="tune", metric_value=0.93)
    assert review.outcome == "tune"
    with pytest.raises(ValueError, match="outcome must be one of keep, tune, strengthen, retire"):
        record_review(db_url, use_case_id=use_case, reviewer="rita", outcome="maybe")  # type: ignore[arg-type]

    escalation = open_escalation(
        db_url,
        use_case_id=use_case,
        **TI,
        level=1,
        contact="ops@example.com",
        channel="email",
        reason="timeout",
    )
    assert escalation.status == "open"
    resolved = resolve_escalation(db_url, escalation.id, resolved_by="olga", note="handled")
    again = resolve_escalation(db_url, escalation.id, resolved_by="someone else")
    assert (resolved.status, again.resolved_by) == ("resolved", "olga")
    with pytest.raises(LookupError):
        resolve_escalation(db_url, 999, resolved_by="x")

    assert _event_types(db_url) == [
        "run_started",
        "check_recorded",
        "drift_recorded",
        "review_recorded",
        "escalation_opened",
        "escalation_resolved",
    ]
    with session_scope(db_url, readonly=True) as session:
        stored = session.get(CheckResult, check.id)
        assert stored is not None
        assert stored.details == {"n": 2}
    assert verify_chain(db_url).ok


def test_record_approval_is_idempotent(db_url: str, use_case: str) -> None:
    first = record_approval(
        db_url, use_case_id=use_case, **TI, reviewer="rita", choice="approve", output_hash="h1", comment="ok"
    )
    retry = record_approval(
        db_url, use_case_id=use_case, **TI, reviewer="rita", choice="reject", output_hash="h1"
    )
    record_approval(
        db_url, use_case_id=use_case, **TI, reviewer="raj", choice="reject", output_hash="h1", edits={"x": 1}
    )
    assert retry.id == first.id
    assert retry.choice == "approve"
    assert [(a.reviewer, a.choice) for a in list_approvals(db_url, **TI)] == [
        ("rita", "approve"),
        ("raj", "reject"),
    ]
    assert list_approvals(db_url, **TI, map_index=0) == []
    # a changed output needs a new decision, and the same reviewer can give it
    again = record_approval(
        db_url, use_case_id=use_case, **TI, reviewer="rita", choice="reject", output_hash="h2"
    )
    assert again.id != first.id
    assert [(a.reviewer, a.output_hash) for a in list_approvals(db_url, **TI)][-1] == ("rita", "h2")
    assert _event_types(db_url) == ["approval_recorded"] * 3
    with pytest.raises(ValueError, match="choice must be one of"):
        record_approval(db_url, use_case_id=use_case, **TI, reviewer="x", choice="approved", output_hash="h1")  # type: ignore[arg-type]


def test_concurrent_duplicate_approvals_count_once(db_url: str, use_case: str) -> None:
    barrier, ids, errors = threading.Barrier(4), [], []

    def decide() -> None:
        barrier.wait()
        try:
            ids.append(
                record_approval(
                    db_url,
                    use_case_id=use_case,
                    **TI,
                    reviewer="rita",
                    choice="approve",
                    output_hash="h1",
                    **ANSWER,  # one answer Airflow delivered, recorded by concurrent duplicates
                ).id
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(ids)) == 1
    assert len(list_approvals(db_url, **TI)) == 1
    assert _event_types(db_url) == ["approval_recorded"]


def test_a_row_written_beforehand_never_hides_a_delivered_answer(db_url: str, use_case: str) -> None:
    """A forged row (or one from an earlier try) with the same reviewer and output hash: the real
    answer (its try and Airflow's time) is still recorded as its own row (fails before 0007)."""
    forged = record_approval(
        db_url, use_case_id=use_case, **TI, reviewer="rita", choice="approve", output_hash="h1"
    )
    real = record_approval(
        db_url, use_case_id=use_case, **TI, reviewer="rita", choice="reject", output_hash="h1", **ANSWER
    )
    assert real.id != forged.id
    assert (real.choice, real.try_number, real.responded_at) == ("reject", 1, ANSWER["responded_at"])
    assert [(a.choice, a.try_number) for a in list_approvals(db_url, **TI)] == [
        ("approve", None),
        ("reject", 1),
    ]


def test_approval_request_opens_updates_and_closes(db_url: str, use_case: str) -> None:
    from airflow_ai_governance.store import get_approval_request, save_approval_request

    common = {"use_case_id": use_case, "policy_version": 1, **TI, "approvals_needed": 2}
    opened = save_approval_request(db_url, **common, output_hash="h1", output=[{"a": 1}])
    assert (opened.status, opened.approvers, opened.closed_at, opened.try_number) == ("open", [], None, 1)
    save_approval_request(db_url, **common, output_hash="h2", output=[{"a": 2}], approvers=["rita"], level=1)
    updated = get_approval_request(db_url, **TI)
    assert updated is not None and updated.id == opened.id
    assert (updated.output_hash, updated.output, updated.approvers, updated.level) == (
        "h2",
        [{"a": 2}],
        ["rita"],
        1,
    )
    save_approval_request(db_url, **common, output_hash="h2", output=[{"a": 2}], status="approved")
    closed = get_approval_request(db_url, **TI, try_number=1)
    assert closed is not None and closed.status == "approved" and closed.closed_at is not None
    retry = save_approval_request(db_url, **common, try_number=2, output_hash="h1", output=[{"a": 1}])
    assert retry.id != opened.id
    latest = get_approval_request(db_url, **TI)
    assert latest is not None and latest.try_number == 2
    assert _event_types(db_url) == [
        "approval_request_opened",
        "approval_request_updated",
        "approval_request_closed",
        "approval_request_opened",
    ]
    with pytest.raises(ValueError, match="status must be one of"):
        save_approval_request(db_url, **common, output_hash="h1", output=[], status="done")


def test_close_approval_request_closes_an_open_request_once(db_url: str, use_case: str) -> None:
    from airflow_ai_governance.store import close_approval_request, save_approval_request

    common = {"use_case_id": use_case, "policy_version": 1, **TI, "approvals_needed": 1}
    save_approval_request(db_url, **common, output_hash="h1", output=[])
    assert close_approval_request(db_url, **TI, try_number=2) is None  # no such try
    closed = close_approval_request(db_url, **TI, try_number=1)
    assert closed is not None and (closed.status, closed.closed_at is not None) == ("closed", True)
    assert close_approval_request(db_url, **TI, try_number=1, status="timeout") is None  # already closed
    assert _event_types(db_url) == ["approval_request_opened", "approval_request_closed"]
