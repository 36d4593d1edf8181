"""Governed DAGs under ``dag.test()``: real Airflow task runner, real GX, real sidecar (SQLite).

The real-Airflow (api-server, scheduler, workers) versions of the approval scenarios are in
``tests/integration/e2e``; these cover every gate's behaviour quickly and in-process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.hitl import Answer, run_with_answers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(sql), params))
    engine.dispose()
    return rows


def _task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _verify(url: str) -> None:
    from airflow_ai_governance.store import verify_chain

    result = verify_chain(url)
    assert result.ok, result
    assert result.checked > 0


def test_example_dags_load_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {"meeting_summaries", "invoice_triage", "product_claims"} <= set(dagbag.dags)


def test_tier1_meeting_summary_runs_governed_end_to_end(dagbag: Any, governed_sidecar: str) -> None:
    dag_run = dagbag.dags["meeting_summaries"].test()
    assert str(dag_run.state) == "success", _task_states(dag_run)
    runs = _rows(
        governed_sidecar, "SELECT task_id, status, model_id, output_hash, tokens_in FROM governed_run"
    )
    by_task = {r.task_id.split(".")[-1]: r for r in runs}
    assert {t: r.status for t, r in by_task.items()} == {
        "data_boundary": "success",
        "summarise": "success",
        "output_standard": "success",
    }
    assert by_task["summarise"].model_id == "offline-summariser-1"
    assert by_task["summarise"].tokens_in > 0
    checks = dict(_rows(governed_sidecar, 'SELECT "check", outcome FROM check_result'))
    # the AI task scans what the model got again: the boundary's masks are not findings
    assert checks == {"data_boundary": "redacted", "ai_input_boundary": "pass", "output_standard": "pass"}
    details = json.loads(
        _rows(governed_sidecar, "SELECT details FROM check_result WHERE \"check\"='data_boundary'")[0][0]
    )
    assert details["found"] == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    # the redacted transcript, not the original, reached the model: the sidecar keeps no raw values
    dump = json.dumps([list(r) for r in _rows(governed_sidecar, "SELECT payload FROM audit_event")])
    assert "alina.berg@example.com" not in dump
    assert "555 0132" not in dump
    _verify(governed_sidecar)


def test_tier2_owner_is_refused_and_reviewer_approves(dagbag: Any, governed_sidecar: str) -> None:
    dag = dagbag.dags["invoice_triage"]
    dag_run, responder = run_with_answers(
        dag,
        "invoice_triage.approval",
        [
            Answer("oscar", ["Approve"]),
            Answer("mallory", ["Approve"]),
            Answer("rachel", ["Approve"], {"comment": "ok"}),
        ],
    )
    assert responder.error is None
    assert [a.user for a in responder.given] == ["oscar", "mallory", "rachel"]
    assert str(dag_run.state) == "success", _task_states(dag_run)
    decisions = _rows(
        governed_sidecar, "SELECT reviewer, choice, comment, output_hash FROM approval_decision"
    )
    assert [(d.reviewer, d.choice, d.comment) for d in decisions] == [("rachel", "approve", "ok")]
    approved_hash = decisions[0].output_hash
    standard_hash = _rows(
        governed_sidecar,
        "SELECT output_hash FROM governed_run WHERE task_id = 'invoice_triage.output_standard'",
    )[0][0]
    assert approved_hash == standard_hash  # the approval is bound to exactly the validated output
    refused = _rows(
        governed_sidecar, "SELECT actor, payload FROM audit_event WHERE event_type = 'approval_refused'"
    )
    assert [r.actor for r in refused] == ["oscar", "mallory"]
    assert "cannot approve" in refused[0].payload
    assert "not a reviewer" in refused[1].payload
    _verify(governed_sidecar)


def test_tier3_needs_two_distinct_reviewers(dagbag: Any, governed_sidecar: str) -> None:
    dag = dagbag.dags["product_claims"]
    dag_run, responder = run_with_answers(
        dag,
        "product_claims.approval",
        [Answer("lena", ["Approve"]), Answer("lena", ["Approve"]), Answer("eric", ["Approve"])],
    )
    assert responder.error is None
    assert str(dag_run.state) == "success", _task_states(dag_run)
    decisions = _rows(governed_sidecar, "SELECT reviewer, choice FROM approval_decision ORDER BY id")
    # every answer is recorded; lena's second one is not counted twice
    assert [tuple(d) for d in decisions] == [("lena", "approve"), ("lena", "approve"), ("eric", "approve")]
    finished = _rows(
        governed_sidecar, "SELECT details FROM governed_run WHERE task_id = 'product_claims.approval'"
    )
    assert json.loads(finished[0][0])["approvers"] == ["eric", "lena"]


def test_tier3_rejection_stops_the_run(dagbag: Any, governed_sidecar: str) -> None:
    dag = dagbag.dags["product_claims"]
    dag_run, _ = run_with_answers(
        dag, "product_claims.approval", [Answer("lena", ["Reject"], {"comment": "claim 2 overstates"})]
    )
    states = _task_states(dag_run)
    assert states["product_claims.approval"] == "failed"
    assert states["publish"] == "upstream_failed"
    decision = _rows(governed_sidecar, "SELECT reviewer, choice, comment FROM approval_decision")
    assert [tuple(d) for d in decision] == [("lena", "reject", "claim 2 overstates")]
    status = _rows(
        governed_sidecar, "SELECT status FROM governed_run WHERE task_id = 'product_claims.approval'"
    )
    assert [s[0] for s in status] == ["rejected"]


def test_reviewer_edit_is_kept_as_diff_and_passed_on(dagbag: Any, governed_sidecar: str) -> None:
    dag = dagbag.dags["invoice_triage"]
    captured: dict[str, Any] = {}

    def edit_first_queue(run_id: str) -> dict[str, Any]:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = session.scalars(
                sa.select(XComModel).where(
                    XComModel.run_id == run_id,
                    XComModel.task_id == "invoice_triage.output_standard",
                    XComModel.key == "return_value",
                )
            ).one()
            decisions = XComModel.deserialize_value(row)
        decisions[0]["queue"] = "auto_pay" if decisions[0]["queue"] == "dispute" else "dispute"
        captured["edited"] = decisions
        return {"output": json.dumps(decisions), "comment": "first one is disputed"}

    answer = Answer("roger", ["Approve"], params_fn=edit_first_queue)
    dag_run, responder = run_with_answers(dag, "invoice_triage.approval", [answer])
    assert responder.error is None
    assert str(dag_run.state) == "success", _task_states(dag_run)
    edits, out_hash = _rows(governed_sidecar, "SELECT edits, output_hash FROM approval_decision")[0]
    edits = json.loads(edits)
    assert '-    "queue": ' in edits["diff"]
    assert f'+    "queue": "{captured["edited"][0]["queue"]}"' in edits["diff"]
    from airflow_ai_governance.gates import output_hash

    assert out_hash == output_hash(captured["edited"])
    approval_ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "invoice_triage.approval")
    assert approval_ti.xcom_pull(task_ids="invoice_triage.approval") == captured["edited"]


# ------------------------------------------------------------------------------ failing gates
GOOD_SUMMARY = {"meeting_id": "MTG-2001", "summary": "The team agreed to freeze exports.", "action_items": 2}


def _run(dagbag: Any, dag_id: str, marker: Path, data: str, output: Any = None) -> Any:
    conf = {"marker": str(marker), "data": data, "output": output or GOOD_SUMMARY}
    return dagbag.dags[dag_id].test(run_conf=conf)


def test_failing_output_fails_the_task_with_the_failed_expectations(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    bad = {"meeting_id": "meeting 7", "summary": "too short", "action_items": 99}
    dag_run = _run(dagbag, "aigov_test_tier1", tmp_path / "called", "Notes of the weekly sync.", bad)
    states = _task_states(dag_run)
    assert states["meeting_summaries.ai_task"] == "success"
    assert states["meeting_summaries.output_standard"] == "failed"
    assert str(dag_run.state) == "failed"
    ((outcome, details),) = _rows(
        governed_sidecar, "SELECT outcome, details FROM check_result WHERE \"check\" = 'output_standard'"
    )
    assert outcome == "fail"
    failed = {(f["expectation_type"], f["column"]) for f in json.loads(details)["failures"]}
    assert ("expect_column_values_to_match_regex", "meeting_id") in failed
    assert ("expect_column_value_lengths_to_be_between", "summary") in failed
    assert ("expect_column_values_to_be_between", "action_items") in failed
    ti = next(t for t in dag_run.get_task_instances() if t.task_id.endswith("output_standard"))
    report = ti.xcom_pull(task_ids=ti.task_id, key="output_standard_report")
    assert report["success"] is False
    assert report["failed"] == len(failed)
    status = _rows(governed_sidecar, "SELECT status FROM governed_run WHERE task_id LIKE '%output_standard'")
    assert [s[0] for s in status] == ["blocked"]


def test_blocked_entity_stops_the_run_before_the_ai_call(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    marker = tmp_path / "called"
    text = "Refund approved for card 4111 1111 1111 1111 by the finance team."
    dag_run = _run(dagbag, "aigov_test_tier1", marker, text)
    states = _task_states(dag_run)
    assert states["meeting_summaries.data_boundary"] == "failed"
    assert states["meeting_summaries.ai_task"] == "upstream_failed"
    assert not marker.exists()
    (details,) = _rows(
        governed_sidecar, "SELECT details FROM check_result WHERE \"check\" = 'data_boundary'"
    )[0]
    assert json.loads(details)["blocked_types"] == ["CREDIT_CARD"]
    dump = json.dumps([list(r) for r in _rows(governed_sidecar, "SELECT payload FROM audit_event")])
    assert "4111" not in dump


def test_unapproved_input_is_refused(dagbag: Any, governed_sidecar: str, tmp_path: Path) -> None:
    marker = tmp_path / "called"
    dag_run = _run(dagbag, "aigov_test_unapproved_input", marker, "Notes.")
    assert _task_states(dag_run)["meeting_summaries.data_boundary"] == "failed"
    assert not marker.exists()
    (details,) = _rows(governed_sidecar, "SELECT details FROM check_result")[0]
    assert json.loads(details)["unapproved_inputs"] == ["table:hr.salaries"]


@pytest.mark.parametrize(
    ("dag_id", "state", "expected"),
    [
        ("aigov_test_tier1", "suspended", "is suspended"),
        ("aigov_test_tier1", "approved", "is approved"),
        ("aigov_test_tier1_production", "pilot", "tagged `production`"),
    ],
)
def test_preflight_refuses_use_cases_that_may_not_run_here(
    dagbag: Any, governed_sidecar: str, tmp_path: Path, dag_id: str, state: str, expected: str
) -> None:
    from airflow_ai_governance.store import dispose_engines, session_scope
    from airflow_ai_governance.store.engine import sqlite_path
    from airflow_ai_governance.store.registry import transition
    from helpers.setup import register_and_promote

    # Through the registry (a row changed by SQL is refused as RegistryTampered: see the store tests).
    if state == "suspended":
        with session_scope(governed_sidecar) as session:
            transition(session, "meeting-summaries", "suspended", actor="gina", reason="paused")
    else:  # a sidecar where the use cases went live only up to `state`
        dispose_engines()
        path = sqlite_path(governed_sidecar)
        assert path is not None
        path.unlink()
        register_and_promote(
            governed_sidecar, [Path(__file__).parents[2] / "dags" / "governance"], "gina", to=state
        )
    marker = tmp_path / "called"
    dag_run = _run(dagbag, dag_id, marker, "Notes.")
    assert _task_states(dag_run)["meeting_summaries.data_boundary"] == "failed"
    assert not marker.exists()
    refused = _rows(governed_sidecar, "SELECT payload FROM audit_event WHERE event_type = 'run_refused'")
    assert len(refused) == 1
    assert expected in json.loads(refused[0][0])["reason"]
    assert _rows(governed_sidecar, "SELECT count(*) FROM governed_run")[0][0] == 0


def test_unreachable_sidecar_fails_before_the_ai_call(
    dagbag: Any, governed_sidecar: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_ai_governance.gates.structure import registry

    registry("meeting-summaries")  # the DAG was parsed while the sidecar was up
    marker = tmp_path / "called"
    monkeypatch.setenv(
        "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", "postgresql+psycopg://postgres@127.0.0.1:1/nope"
    )
    dag_run = _run(dagbag, "aigov_test_tier1", marker, "Notes.")
    assert _task_states(dag_run)["meeting_summaries.data_boundary"] == "failed"
    assert not marker.exists()


# ---------------------------------------------------------------------- gates inside the AI task
INLINE = "meeting_summaries.ai_task"
NOTES_WITH_CONTACTS = "Weekly sync. Alina (alina.berg@example.com, +1 212 555 0132) will freeze exports."


def test_inline_gates_run_in_one_task_with_one_record(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    marker = tmp_path / "called"
    dag_run = _run(dagbag, "aigov_test_tier1_inline", marker, NOTES_WITH_CONTACTS)
    assert _task_states(dag_run) == {INLINE: "success"}
    assert marker.read_text() == "called"
    ((task_id, status, output_hash, input_hash),) = _rows(
        governed_sidecar, "SELECT task_id, status, output_hash, input_hash FROM governed_run"
    )
    assert (task_id, status) == (INLINE, "success")
    from airflow_ai_governance.gates import output_hash as hash_of

    assert output_hash == hash_of(GOOD_SUMMARY)
    checks = _rows(governed_sidecar, 'SELECT "check", outcome, details FROM check_result ORDER BY id')
    assert [(c, o) for c, o, _ in checks] == [("data_boundary", "redacted"), ("output_standard", "pass")]
    assert json.loads(checks[0][2])["found"] == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    # the callable was given the redacted text: its input hash is not the hash of the original
    assert input_hash != hash_of({"args": [NOTES_WITH_CONTACTS], "kwargs": {}})
    # and it is keyed (HMAC under the redaction key), not a SHA-256 anyone could recompute by guessing
    from airflow_ai_governance.boundary import apply_boundary
    from airflow_ai_governance.gates.boundary import keyed_data_hash

    seen = apply_boundary(NOTES_WITH_CONTACTS, {"EMAIL_ADDRESS": "redact", "PHONE_NUMBER": "redact"}).data
    assert input_hash == keyed_data_hash({"args": [seen], "kwargs": {}})
    assert input_hash != hash_of({"args": [seen], "kwargs": {}})
    dump = json.dumps([list(r) for r in _rows(governed_sidecar, "SELECT payload FROM audit_event")])
    assert "alina.berg@example.com" not in dump
    _verify(governed_sidecar)


def test_inline_failing_output_fails_the_ai_task(dagbag: Any, governed_sidecar: str, tmp_path: Path) -> None:
    bad = {"meeting_id": "meeting 7", "summary": "too short", "action_items": 99}
    dag_run = _run(dagbag, "aigov_test_tier1_inline", tmp_path / "called", "Notes of the weekly sync.", bad)
    assert _task_states(dag_run) == {INLINE: "failed"}
    assert str(dag_run.state) == "failed"
    ((status, details),) = _rows(governed_sidecar, "SELECT status, details FROM governed_run")
    assert status == "blocked"
    assert json.loads(details)["check"] == "output_standard"
    ((outcome, check_details),) = _rows(
        governed_sidecar, "SELECT outcome, details FROM check_result WHERE \"check\" = 'output_standard'"
    )
    assert outcome == "fail"
    failed = {(f["expectation_type"], f["column"]) for f in json.loads(check_details)["failures"]}
    assert ("expect_column_values_to_match_regex", "meeting_id") in failed
    (ti,) = dag_run.get_task_instances()
    report = ti.xcom_pull(task_ids=INLINE, key="output_standard_report")
    assert report["success"] is False and report["failed"] == len(failed)
    assert ti.xcom_pull(task_ids=INLINE) is None  # nothing passed on


def test_inline_blocked_entity_stops_before_the_call(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    marker = tmp_path / "called"
    text = "Refund approved for card 4111 1111 1111 1111 by the finance team."
    dag_run = _run(dagbag, "aigov_test_tier1_inline", marker, text)
    assert _task_states(dag_run) == {INLINE: "failed"}
    assert not marker.exists()
    ((status,),) = _rows(governed_sidecar, "SELECT status FROM governed_run")
    assert status == "blocked"  # closed by the gate, not overwritten as "failed"
    ((check, outcome, details),) = _rows(
        governed_sidecar, 'SELECT "check", outcome, details FROM check_result'
    )
    assert (check, outcome) == ("data_boundary", "fail")
    assert json.loads(details)["blocked_types"] == ["CREDIT_CARD"]
    dump = json.dumps([list(r) for r in _rows(governed_sidecar, "SELECT payload FROM audit_event")])
    assert "4111" not in dump
    _verify(governed_sidecar)


def test_inline_unapproved_input_is_refused(dagbag: Any, governed_sidecar: str, tmp_path: Path) -> None:
    marker = tmp_path / "called"
    dag_run = _run(dagbag, "aigov_test_unapproved_input_inline", marker, "Notes.")
    assert _task_states(dag_run) == {INLINE: "failed"}
    assert not marker.exists()
    (details,) = _rows(governed_sidecar, "SELECT details FROM check_result")[0]
    assert json.loads(details)["unapproved_inputs"] == ["table:hr.salaries"]


def test_inline_gates_on_an_llm_task_redact_the_prompt_the_model_sees(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    marker = tmp_path / "prompt"
    notes = (
        "MTG-4242 weekly sync. Call Alina on +1 212 555 0132.\nDecision: freeze exports\nACTION: mail legal"
    )
    dag_run = dagbag.dags["aigov_test_llm_inline"].test(run_conf={"marker": str(marker), "data": notes})
    assert _task_states(dag_run) == {"summarise": "success"}
    seen = marker.read_text()
    assert "MTG-4242" in seen and "555 0132" not in seen  # the model got the redacted prompt
    ((status, model_id, tokens_in),) = _rows(
        governed_sidecar, "SELECT status, model_id, tokens_in FROM governed_run"
    )
    assert (status, model_id) == ("success", "offline-summariser-1") and tokens_in > 0
    checks = dict(_rows(governed_sidecar, 'SELECT "check", outcome FROM check_result'))
    assert checks == {"data_boundary": "redacted", "output_standard": "pass"}
    (ti,) = dag_run.get_task_instances()
    assert ti.xcom_pull(task_ids="summarise")["meeting_id"] == "MTG-4242"


def test_inline_tier2_quarantines_then_the_reviewer_approves_the_valid_rows(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    good = [
        {"invoice_id": "INV-000101", "queue": "auto_pay", "confidence": 0.9},
        {"invoice_id": "INV-000102", "queue": "manager_review", "confidence": 0.8},
    ]
    bad = {"invoice_id": "INV-000103", "queue": "shred", "confidence": 0.7}
    conf = {"marker": str(tmp_path / "called"), "data": [{"invoice": "INV-000101"}], "output": [*good, bad]}
    dag = dagbag.dags["aigov_test_tier2_inline"]
    assert sorted(dag.task_ids) == ["invoice_triage.ai_task", "invoice_triage.approval"]
    dag_run, responder = run_with_answers(
        dag, "invoice_triage.approval", [Answer("rachel", ["Approve"])], run_conf=conf
    )
    assert responder.error is None
    assert str(dag_run.state) == "success", _task_states(dag_run)
    ai = next(t for t in dag_run.get_task_instances() if t.task_id == "invoice_triage.ai_task")
    assert ai.xcom_pull(task_ids=ai.task_id) == good
    assert ai.xcom_pull(task_ids=ai.task_id, key="quarantined") == [bad]
    ((outcome,),) = _rows(
        governed_sidecar, "SELECT outcome FROM check_result WHERE \"check\" = 'output_standard'"
    )
    assert outcome == "quarantined"
    from airflow_ai_governance.gates import output_hash

    ((run_hash, details),) = _rows(
        governed_sidecar,
        "SELECT output_hash, details FROM governed_run WHERE task_id = 'invoice_triage.ai_task'",
    )
    assert run_hash == output_hash(good)
    assert json.loads(details)["ai_output_hash"] == output_hash([*good, bad])
    ((approved_hash,),) = _rows(governed_sidecar, "SELECT output_hash FROM approval_decision")
    assert approved_hash == run_hash  # the reviewer approved exactly the rows that passed
    _verify(governed_sidecar)


def test_an_error_between_preflight_and_the_gate_closes_the_run_as_failed(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    marker = tmp_path / "called"
    dag_run = dagbag.dags["aigov_test_missing_file"].test(run_conf={"marker": str(marker)})
    assert _task_states(dag_run)["meeting_summaries.data_boundary"] == "failed"
    assert not marker.exists()
    ((status, details),) = _rows(governed_sidecar, "SELECT status, details FROM governed_run")
    assert status == "failed"  # not left "running"
    assert json.loads(details)["error"] == "FileNotFoundError"
