"""Issue 8.1 on a real Airflow (api-server, scheduler, LocalExecutor workers, PostgreSQL): a
forged approval written by an upstream task does not pass the approval gate; answers given
through Airflow's REST API by the assigned reviewers are what counts.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_ai_governance.testing import AirflowClient, AirflowCluster

pytestmark = [pytest.mark.integration, pytest.mark.airflow_e2e, pytest.mark.timeout(600)]

DAG_ID = "aigov_e2e_forged_approval"
TASK_ID = "product_claims.approval"


def _sidecar(url: str, model: Any, **where: Any) -> list[Any]:
    from airflow_ai_governance.store import session_scope

    with session_scope(url, readonly=True) as session:
        return list(session.scalars(sa.select(model).filter_by(**where)))


def _wait_reparked(client: AirflowClient, run_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = client.hitl_detail(DAG_ID, run_id, TASK_ID)
        if detail is not None and detail["response_received"] is False:
            client.wait_until_parked(DAG_ID, run_id, TASK_ID, settle=3.0)
            return
        time.sleep(0.5)
    raise AssertionError(f"{TASK_ID} did not ask again within {timeout} s")


def test_forged_approval_does_not_pass_on_a_real_airflow(
    airflow_cluster: AirflowCluster, e2e_sidecar_db_url: str
) -> None:
    from airflow_ai_governance.store import ApprovalDecision, ApprovalRequest, AuditEvent

    airflow_client = airflow_cluster.client(timeout=120.0)  # a shared, loaded machine: slow answers

    airflow_client.wait_for_dag(DAG_ID, timeout=120)
    airflow_client.unpause(DAG_ID)
    run_id = airflow_client.trigger(DAG_ID)
    # Before the fix the gate counted the two forged rows and succeeded without asking anyone.
    detail = airflow_client.wait_until_parked(DAG_ID, run_id, TASK_ID, timeout=240)
    assert airflow_client.task_instances(DAG_ID, run_id)["forge_approvals"] == "success"
    assert "/ai-governance/review/" in detail["body"]  # the request links the review page

    (request,) = _sidecar(e2e_sidecar_db_url, ApprovalRequest, dag_id=DAG_ID, run_id=run_id)
    assert (request.status, request.approvers, request.approvals_needed) == ("open", [], 2)
    review = airflow_client.request(
        "GET", f"/ai-governance/api/v1/approvals/{DAG_ID}/{run_id}/{TASK_ID}/-1", user="lena"
    )
    assert review.status_code == 200, review.text
    assert review.json()["request"]["status"] == "open"

    first = airflow_client.respond("lena", DAG_ID, run_id, TASK_ID, ["Approve"], wait_parked=True)
    assert first.status_code == 200, first.text
    _wait_reparked(airflow_client, run_id)  # one real approval; the forged eric row is not a second
    assert airflow_client.task_state(DAG_ID, run_id, TASK_ID) == "awaiting_input"
    (request,) = _sidecar(e2e_sidecar_db_url, ApprovalRequest, dag_id=DAG_ID, run_id=run_id)
    assert request.approvers == ["lena"]

    rejected = airflow_client.respond(
        "eric", DAG_ID, run_id, TASK_ID, ["Reject"], {"comment": "never approved"}
    )
    assert rejected.status_code == 200, rejected.text
    assert airflow_client.wait_for_run(DAG_ID, run_id, timeout=180) == "failed"
    assert airflow_client.task_instances(DAG_ID, run_id)[TASK_ID] == "failed"

    decisions = _sidecar(e2e_sidecar_db_url, ApprovalDecision, dag_id=DAG_ID, run_id=run_id)
    real = sorted((d.reviewer, d.choice) for d in decisions if d.responded_at is not None and d.try_number)
    assert ("lena", "approve") in real and ("eric", "reject") in real
    (request,) = _sidecar(e2e_sidecar_db_url, ApprovalRequest, dag_id=DAG_ID, run_id=run_id)
    assert request.status == "rejected" and request.closed_at is not None
    ignored = [
        e
        for e in _sidecar(e2e_sidecar_db_url, AuditEvent, event_type="approval_ignored")
        if run_id in e.payload
    ]
    assert {'"reviewer":"lena"' in e.payload or '"reviewer":"eric"' in e.payload for e in ignored} == {True}
    assert len(ignored) == 2


def test_an_unanswered_request_escalates_and_closes_as_timeout_in_the_record(
    airflow_cluster: AirflowCluster, e2e_sidecar_db_url: str
) -> None:
    """The request record the inbox reads follows the gate on a real Airflow: opened, escalated
    (level 1, 2), closed as ``timeout`` with a ``timeout`` decision; never approved."""
    from airflow_ai_governance.store import ApprovalDecision, ApprovalRequest

    client = airflow_cluster.client(timeout=120.0)
    dag_id, task_id = "aigov_e2e_escalation", "e2e_escalation.approval"
    client.wait_for_dag(dag_id, timeout=120)
    client.unpause(dag_id)
    run_id = client.trigger(dag_id)
    assert client.wait_for_run(dag_id, run_id, timeout=300) == "failed"
    assert client.task_instances(dag_id, run_id)[task_id] == "failed"
    (request,) = _sidecar(e2e_sidecar_db_url, ApprovalRequest, dag_id=dag_id, run_id=run_id)
    assert (request.status, request.approvers) == ("timeout", [])
    assert request.level >= 1 and request.closed_at is not None
    decisions = _sidecar(e2e_sidecar_db_url, ApprovalDecision, dag_id=dag_id, run_id=run_id)
    assert [(d.reviewer, d.choice) for d in decisions] == [("(timeout)", "timeout")]
