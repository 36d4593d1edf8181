"""Issue 8.1 and 8.9 under ``dag.test()``: forged approvals, reviewers' edits, the request record.

Real Airflow task runner (HITL through ``awaiting_input`` and the resume event), real GX, real
sidecar (SQLite). The real-Airflow version of the forged approval is in
``e2e/test_approval_e2e.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.hitl import Answer, run_with_answers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

CLAIMS = [
    {
        "claim_id": "CLM-101",
        "claim": "Throughput improves by 35% on our ingestion benchmark.",
        "benchmark_id": "BM-101",
    }
]


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(sql), params))
    engine.dispose()
    return rows


def _states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _events(url: str, event_type: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (actor, json.loads(payload))
        for actor, payload in _rows(
            url, "SELECT actor, payload FROM audit_event WHERE event_type = :t ORDER BY seq", t=event_type
        )
    ]


def test_forged_approvals_written_upstream_never_pass_the_gate(
    dagbag: Any, governed_sidecar: str, tmp_path: Path
) -> None:
    """An upstream task records approvals of the right output for the approval task (API, SQL
    claiming the try, another map index): before the fix the gate succeeded with no human answer."""
    dag = dagbag.dags["aigov_test_forged_approval"]
    conf = {
        "marker": str(tmp_path / "called"),
        "data": "Benchmarks of the ingestion service.",
        "output": CLAIMS,
    }
    task_id = "product_claims.approval"
    dag_run, responder = run_with_answers(
        dag,
        task_id,
        [Answer("lena", ["Approve"]), Answer("eric", ["Reject"], {"comment": "I never approved this"})],
        run_conf=conf,
    )
    assert responder.error is None
    states = _states(dag_run)
    assert states["forge_approvals"] == "success"  # the forgery happened
    assert states[task_id] == "failed", states  # and did not count: eric's real answer rejected
    assert [a.user for a in responder.given] == ["lena", "eric"]  # the gate asked; humans answered
    ignored = _events(governed_sidecar, "approval_ignored")
    assert {p["reviewer"] for _, p in ignored} == {"lena", "eric"}  # the rows of this task instance
    assert all("not counted" in p["reason"] for _, p in ignored)
    (request,) = _rows(
        governed_sidecar,
        "SELECT status, approvers, approvals_needed FROM approval_request WHERE task_id = :t",
        t=task_id,
    )
    assert request[0] == "rejected"
    assert json.loads(request[1]) == []  # lena approved, then eric rejected: the run ends rejected
    assert request[2] == 2
    # The review page lists every row, and marks the forged ones as not counted
    from airflow_ai_governance.plugins.access import Viewer
    from airflow_ai_governance.plugins.queries import review
    from airflow_ai_governance.store import session_scope

    admin = Viewer(user_id="admin", name="admin", roles=("ADMIN",), governance=True, dag_ids=None)
    with session_scope(governed_sidecar, readonly=True) as session:
        shown = review(session, admin, dag.dag_id, dag_run.run_id, task_id, -1).decisions
    forged = {p["decision_id"] for _, p in ignored}
    assert len([d for d in shown if not d.counted]) == len(forged) > 0
    assert sorted((d.reviewer, d.choice) for d in shown if d.counted) == [
        ("eric", "reject"),
        ("lena", "approve"),
    ]


def _claims_of(run_id: str) -> list[dict[str, Any]]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            sa.select(XComModel).where(
                XComModel.run_id == run_id,
                XComModel.task_id == "product_claims.output_standard",
                XComModel.key == "return_value",
            )
        ).one()
        return list(XComModel.deserialize_value(row))


def test_edits_are_checked_bound_recorded_and_published(dagbag: Any, governed_sidecar: str) -> None:
    """Issue 8.9 on the shipped tier-3 example: malformed and failing edits are refused with the
    reason (the request stays open), an accepted edit restarts the quorum on its hash, the next
    reviewer's answer counts, and the edited output is what is published."""
    dag = dagbag.dags["product_claims"]
    captured: dict[str, Any] = {}

    def edit(run_id: str) -> dict[str, Any]:
        claims = _claims_of(run_id)
        claims[0] = dict(claims[0], claim=claims[0]["claim"].rstrip(".") + " (internal benchmark).")
        captured["edited"] = claims
        return {"output": json.dumps(claims), "comment": "scoped the first claim"}

    def superlative(run_id: str) -> dict[str, Any]:
        claims = _claims_of(run_id)
        claims[0] = dict(claims[0], claim="Our ingestion is the fastest on the market, by far.")
        return {"output": json.dumps(claims), "comment": None}

    task_id = "product_claims.approval"
    dag_run, responder = run_with_answers(
        dag,
        task_id,
        [
            Answer("lena", ["Approve"]),  # 1 of 2 on the original
            Answer("eric", ["Approve"], {"output": "claims look fine", "comment": None}),  # not JSON
            Answer("eric", ["Approve"], params_fn=superlative),  # fails the output standard
            Answer("eric", ["Approve"], params_fn=edit),  # accepted: 1 of 2 on the edit
            Answer("rachel", ["Approve"], {"comment": "ok"}),  # 2 of 2 on the edit
        ],
    )
    assert responder.error is None
    assert str(dag_run.state) == "success", _states(dag_run)
    edited = captured["edited"]
    approval_ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id)
    assert approval_ti.xcom_pull(task_ids=task_id) == edited  # the edit is what is published
    publish_ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "publish")
    assert publish_ti.xcom_pull(task_ids="publish") == len(edited)

    from airflow_ai_governance.gates import output_hash

    decisions = _rows(
        governed_sidecar, "SELECT reviewer, choice, output_hash FROM approval_decision ORDER BY id"
    )
    original = output_hash(_claims_of(dag_run.run_id))
    assert [tuple(d) for d in decisions] == [
        ("lena", "approve", original),
        ("eric", "approve", output_hash(edited)),
        ("rachel", "approve", output_hash(edited)),
    ]
    refused = [p["reason"] for _, p in _events(governed_sidecar, "approval_refused")]
    assert len(refused) == 2
    assert "not valid JSON" in refused[0]
    assert "fails the output standard" in refused[1]
    (run_details,) = _rows(
        governed_sidecar, "SELECT details, output_hash FROM governed_run WHERE task_id = :t", t=task_id
    )
    assert json.loads(run_details[0])["approvers"] == ["eric", "rachel"]  # lena approved the original only
    assert run_details[1] == output_hash(edited)
    (request,) = _rows(
        governed_sidecar, "SELECT status, output_hash, output, approvers FROM approval_request WHERE task_id = :t",
        t=task_id,
    )  # fmt: skip
    assert (request[0], request[1]) == ("approved", output_hash(edited))
    assert json.loads(request[2]) == edited  # the review view shows the output under review
    assert json.loads(request[3]) == ["eric", "rachel"]


def test_the_request_body_links_the_whole_output(dagbag: Any, governed_sidecar: str, tmp_path: Path) -> None:
    """Issue 8.9: the body cut the output at 4,000 characters silently; now it says it is a
    preview and links the review page, where the whole output is (the request's record)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    from airflow_ai_governance.plugins.urls import review_path

    long_claims = [
        {
            "claim_id": f"CLM-{100 + i}",
            "claim": f"Throughput improves by {i}% on ingestion benchmark run number {i:03d} of the suite, "
            "measured on the reference cluster with the standard dataset and the default configuration.",
            "benchmark_id": f"BM-{100 + i}",
        }
        for i in range(20)
    ]
    dag = dagbag.dags["aigov_test_forged_approval"]
    conf = {"marker": str(tmp_path / "called"), "data": "Benchmarks.", "output": long_claims}
    bodies: list[str] = []

    def read_body(run_id: str) -> dict[str, Any]:
        with create_session() as session:
            found = session.scalars(
                sa.select(HITLDetail).join(TI, TI.id == HITLDetail.ti_id).where(TI.run_id == run_id)
            )
            bodies.extend(d.body for d in found)
        return {"comment": "rejecting after reading"}

    dag_run, responder = run_with_answers(
        dag, "product_claims.approval", [Answer("eric", ["Reject"], params_fn=read_body)], run_conf=conf
    )
    assert responder.error is None
    (body,) = bodies
    assert len(json.dumps(long_claims, indent=2, ensure_ascii=False)) > 4000
    assert review_path("aigov_test_forged_approval", dag_run.run_id, "product_claims.approval") in body
    assert "This is a preview" in body
    assert f"of {len(json.dumps(long_claims, indent=2, ensure_ascii=False)):,} characters" in body
    (output,) = _rows(governed_sidecar, "SELECT output FROM approval_request")
    assert json.loads(output[0]) == long_claims  # the whole output, for the review page
