"""The example governed DAGs on a real Airflow: REST triggers, REST approvals by real users.

api-server, scheduler, dag-processor, triggerer and LocalExecutor workers (see conftest.py); tasks
reach the sidecar (PostgreSQL) only through its URL, as real workers must.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_ai_governance.testing import AirflowClient

pytestmark = [pytest.mark.integration, pytest.mark.airflow_e2e, pytest.mark.timeout(600)]


def _start(client: AirflowClient, dag_id: str) -> str:
    client.wait_for_dag(dag_id, timeout=120)
    client.unpause(dag_id)
    return client.trigger(dag_id)


def _decisions(url: str, dag_id: str, run_id: str) -> list[tuple[str, str]]:
    from airflow_ai_governance.store import ApprovalDecision, session_scope

    with session_scope(url, readonly=True) as session:
        rows = session.scalars(
            sa.select(ApprovalDecision).filter_by(dag_id=dag_id, run_id=run_id).order_by(ApprovalDecision.id)
        )
        return [(r.reviewer, r.choice) for r in rows]


def _events(url: str, event_type: str) -> list[Any]:
    from airflow_ai_governance.store import AuditEvent, session_scope

    with session_scope(url, readonly=True) as session:
        return list(session.scalars(sa.select(AuditEvent).filter_by(event_type=event_type)))


def _wait_reparked(
    client: AirflowClient, dag_id: str, run_id: str, task_id: str, timeout: float = 90
) -> None:
    """After an answer that did not complete the gate, wait for the next open request."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = client.hitl_detail(dag_id, run_id, task_id)
        if detail is not None and detail["response_received"] is False:
            client.wait_until_parked(dag_id, run_id, task_id, settle=3.0)
            return
        time.sleep(0.5)
    raise AssertionError(f"{dag_id}.{task_id} did not ask again within {timeout} s")


def _audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_ai_governance", "--db-url", url, "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tier1_runs_without_approval(airflow_client: AirflowClient, e2e_sidecar_db_url: str) -> None:
    run_id = _start(airflow_client, "meeting_summaries")
    assert airflow_client.wait_for_run("meeting_summaries", run_id, timeout=240) == "success"
    from airflow_ai_governance.store import GovernedRun, session_scope

    with session_scope(e2e_sidecar_db_url, readonly=True) as session:
        runs = session.scalars(
            sa.select(GovernedRun).filter_by(dag_id="meeting_summaries", run_id=run_id)
        ).all()
        assert sorted((r.task_id, r.status) for r in runs) == [
            ("meeting_summaries.data_boundary", "success"),
            ("meeting_summaries.output_standard", "success"),
            ("meeting_summaries.summarise", "success"),
        ]


INLINE_TASK = "meeting_summaries.ai_task"
SUMMARY = {"meeting_id": "MTG-3001", "summary": "The team agreed to freeze exports.", "action_items": 1}


def _inline_run(client: AirflowClient, url: str, conf: dict[str, Any]) -> tuple[str, list[Any], list[Any]]:
    from airflow_ai_governance.store import CheckResult, GovernedRun, session_scope

    client.wait_for_dag("aigov_e2e_inline", timeout=120)
    client.unpause("aigov_e2e_inline")
    run_id = client.trigger("aigov_e2e_inline", conf)
    state = client.wait_for_run("aigov_e2e_inline", run_id, timeout=240)
    with session_scope(url, readonly=True) as session:
        runs = session.scalars(
            sa.select(GovernedRun).filter_by(dag_id="aigov_e2e_inline", run_id=run_id)
        ).all()
        checks = session.scalars(
            sa.select(CheckResult)
            .where(CheckResult.governed_run_id.in_([r.id for r in runs]))
            .order_by(CheckResult.id)
        ).all()
        return state, [(r.task_id, r.status) for r in runs], [(c.check, c.outcome) for c in checks]


def test_inline_gates_on_a_real_worker(airflow_client: AirflowClient, e2e_sidecar_db_url: str) -> None:
    notes = "Weekly sync; questions to alina.berg@example.com."
    state, runs, checks = _inline_run(
        airflow_client, e2e_sidecar_db_url, {"notes": notes, "summary": SUMMARY}
    )
    assert state == "success"
    assert runs == [(INLINE_TASK, "success")]  # one task, one run record
    assert checks == [("data_boundary", "redacted"), ("output_standard", "pass")]

    blocked = "Refund card 4111 1111 1111 1111 today."
    state, runs, checks = _inline_run(
        airflow_client, e2e_sidecar_db_url, {"notes": blocked, "summary": SUMMARY}
    )
    assert state == "failed"
    assert runs == [(INLINE_TASK, "blocked")]
    assert checks == [("data_boundary", "fail")]

    bad = {**SUMMARY, "meeting_id": "meeting 7"}
    state, runs, checks = _inline_run(
        airflow_client, e2e_sidecar_db_url, {"notes": "Short sync.", "summary": bad}
    )
    assert state == "failed"
    assert runs == [(INLINE_TASK, "blocked")]
    assert checks == [("data_boundary", "pass"), ("output_standard", "fail")]


def test_tier2_only_a_reviewer_who_is_not_the_owner_can_approve(
    airflow_client: AirflowClient, e2e_sidecar_db_url: str
) -> None:
    dag_id, task_id = "invoice_triage", "invoice_triage.approval"
    run_id = _start(airflow_client, dag_id)
    detail = airflow_client.wait_until_parked(dag_id, run_id, task_id, timeout=240)
    assert {u["id"] for u in detail["assigned_users"]} == {"rachel", "roger", "fiona"}  # never the owner
    assert "cannot approve" in detail["body"]

    for user in ("olivia", "viewer1", "oscar"):  # not a reviewer, a viewer, the owner
        refused = airflow_client.respond(user, dag_id, run_id, task_id, ["Approve"])
        assert refused.status_code == 403, (user, refused.text)
    assert airflow_client.task_state(dag_id, run_id, task_id) == "awaiting_input"

    accepted = airflow_client.respond(
        "rachel", dag_id, run_id, task_id, ["Approve"], {"comment": "queues checked"}, wait_parked=True
    )
    assert accepted.status_code == 200, accepted.text
    assert airflow_client.wait_for_run(dag_id, run_id, timeout=180) == "success"
    assert _decisions(e2e_sidecar_db_url, dag_id, run_id) == [("rachel", "approve")]


def test_tier3_needs_two_distinct_reviewers(airflow_client: AirflowClient, e2e_sidecar_db_url: str) -> None:
    dag_id, task_id = "product_claims", "product_claims.approval"
    run_id = _start(airflow_client, dag_id)
    airflow_client.wait_until_parked(dag_id, run_id, task_id, timeout=240)

    first = airflow_client.respond("lena", dag_id, run_id, task_id, ["Approve"], wait_parked=True)
    assert first.status_code == 200, first.text
    _wait_reparked(airflow_client, dag_id, run_id, task_id)  # one approval is not enough
    assert airflow_client.task_state(dag_id, run_id, task_id) == "awaiting_input"

    again = airflow_client.respond("lena", dag_id, run_id, task_id, ["Approve"])
    assert again.status_code == 200, again.text  # Airflow accepts her; the gate does not count her twice
    _wait_reparked(airflow_client, dag_id, run_id, task_id)

    second = airflow_client.respond("eric", dag_id, run_id, task_id, ["Approve"])
    assert second.status_code == 200, second.text
    assert airflow_client.wait_for_run(dag_id, run_id, timeout=180) == "success"
    # every answer is recorded; lena's second one was not counted twice
    assert _decisions(e2e_sidecar_db_url, dag_id, run_id) == [
        ("lena", "approve"),
        ("lena", "approve"),
        ("eric", "approve"),
    ]


def test_rejection_stops_the_run_and_escalates(
    airflow_client: AirflowClient, e2e_sidecar_db_url: str
) -> None:
    dag_id, task_id = "product_claims", "product_claims.approval"
    run_id = _start(airflow_client, dag_id)
    airflow_client.wait_until_parked(dag_id, run_id, task_id, timeout=240)
    rejected = airflow_client.respond(
        "eric", dag_id, run_id, task_id, ["Reject"], {"comment": "BM-102 is not comparable"}, wait_parked=True
    )
    assert rejected.status_code == 200, rejected.text
    assert airflow_client.wait_for_run(dag_id, run_id, timeout=180) == "failed"
    states = airflow_client.task_instances(dag_id, run_id)
    assert states[task_id] == "failed"
    assert states["publish"] in ("upstream_failed", "skipped")
    assert _decisions(e2e_sidecar_db_url, dag_id, run_id) == [("eric", "reject")]
    # listeners: the task failure (worker) and the failed tier-3 run (scheduler) are recorded
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [
        e for e in _events(e2e_sidecar_db_url, "dag_run_failed") if run_id in e.payload
    ]:
        time.sleep(1)
    assert [e for e in _events(e2e_sidecar_db_url, "task_failed") if run_id in e.payload]
    assert [e for e in _events(e2e_sidecar_db_url, "dag_run_failed") if run_id in e.payload]
    escalations = [e for e in _events(e2e_sidecar_db_url, "escalation_opened") if run_id in e.payload]
    assert escalations
    assert '"contact":"lena"' in escalations[-1].payload


def test_timeout_escalates_then_the_escalation_contact_decides(
    airflow_client: AirflowClient, e2e_sidecar_db_url: str
) -> None:
    dag_id, task_id = "aigov_e2e_escalation", "e2e_escalation.approval"
    run_id = _start(airflow_client, dag_id)
    airflow_client.wait_until_parked(dag_id, run_id, task_id, timeout=240)
    early = airflow_client.respond("gina", dag_id, run_id, task_id, ["Approve"], wait_parked=True)
    assert early.status_code == 200, early.text  # assigned, but not yet escalated to: refused by the gate
    _wait_reparked(airflow_client, dag_id, run_id, task_id)

    from airflow_ai_governance.store import Escalation, session_scope

    deadline = time.monotonic() + 90  # step timeout 8 s: the scheduler's sweep escalates to gina
    levels: list[int] = []
    while time.monotonic() < deadline and not levels:
        with session_scope(e2e_sidecar_db_url, readonly=True) as session:
            levels = [e.level for e in session.scalars(sa.select(Escalation).filter_by(run_id=run_id))]
        time.sleep(1)
    assert levels[:1] == [1]
    _wait_reparked(airflow_client, dag_id, run_id, task_id)
    approved = airflow_client.respond("gina", dag_id, run_id, task_id, ["Approve"])
    assert approved.status_code == 200, approved.text
    assert airflow_client.wait_for_run(dag_id, run_id, timeout=120) == "success"
    assert _decisions(e2e_sidecar_db_url, dag_id, run_id) == [("gina", "approve")]
    refused = [e for e in _events(e2e_sidecar_db_url, "approval_refused") if run_id in e.payload]
    assert [e.actor for e in refused] == ["gina"]


def test_unanswered_approval_ends_rejected_never_approved(
    airflow_client: AirflowClient, e2e_sidecar_db_url: str
) -> None:
    dag_id, task_id = "aigov_e2e_escalation", "e2e_escalation.approval"
    run_id = _start(airflow_client, dag_id)
    assert airflow_client.wait_for_run(dag_id, run_id, timeout=240) == "failed"
    assert airflow_client.task_instances(dag_id, run_id)[task_id] == "failed"
    assert _decisions(e2e_sidecar_db_url, dag_id, run_id) == [("(timeout)", "timeout")]


def test_sidecar_and_audit_chain_agree(airflow_client: AirflowClient, e2e_sidecar_db_url: str) -> None:
    result = _audit_verify(e2e_sidecar_db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout or "ok" in result.stdout.lower()


def test_governance_api_is_served_by_the_plugin_and_guarded(airflow_client: AirflowClient) -> None:
    import httpx

    listed = airflow_client.request("GET", "/ai-governance/api/v1/use-cases", user="admin")
    assert listed.status_code == 200, listed.text
    assert {"invoice-triage", "meeting-summaries", "product-claims"} <= {
        u["id"] for u in listed.json()["items"]
    }
    anonymous = httpx.get(f"{airflow_client.base_url}/ai-governance/api/v1/use-cases", timeout=30)
    assert anonymous.status_code in (401, 403)
