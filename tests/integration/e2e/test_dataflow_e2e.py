"""Issue 8.3 on a real Airflow: a card number smuggled through ``dag_run.conf`` never reaches the AI step.

api-server, scheduler, dag-processor and LocalExecutor workers (conftest.py): the cluster policy runs
in the real dag-processor, the run-time guard in a real worker that reaches the sidecar by its URL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_ai_governance.testing import AirflowClient, AirflowCluster

pytestmark = [pytest.mark.integration, pytest.mark.airflow_e2e, pytest.mark.timeout(1200)]

DAG_ID = "aigov_e2e_dataflow"
AI_TASK = "summarise"
CARD_NOTES = "Refund card 4111 1111 1111 1111 today."
PARSE_ATTACK_FILE = "aigov_e2e_dataflow_parse_attack.py"
PARSE_ATTACK = """
from airflow.sdk import DAG
from airflow_ai_governance import DataBoundaryOperator, GovernedAITaskOperator, OutputStandardOperator

def model(notes):
    return {"meeting_id": "MTG-1", "summary": notes, "action_items": 0}

with DAG("aigov_e2e_dataflow_parse_attack", schedule=None, tags=["ai-governance"]):
    check = DataBoundaryOperator(task_id="check", use_case="meeting-summaries", data="clean text")
    ai = GovernedAITaskOperator(task_id="classify", use_case="meeting-summaries", python_callable=model,
                                op_kwargs={"notes": "{{ dag_run.conf['notes'] }}"})
    standard = OutputStandardOperator(task_id="standard", use_case="meeting-summaries", ai_output=ai.output)
    check >> ai >> standard
"""


def _records(url: str, run_id: str) -> tuple[dict[str, str], list[tuple[str, str, str, dict[str, Any]]]]:
    from airflow_ai_governance.store import CheckResult, GovernedRun, session_scope

    with session_scope(url, readonly=True) as session:
        runs = session.scalars(sa.select(GovernedRun).filter_by(dag_id=DAG_ID, run_id=run_id)).all()
        by_id = {r.id: r.task_id for r in runs}
        checks = session.scalars(
            sa.select(CheckResult).where(CheckResult.governed_run_id.in_(by_id)).order_by(CheckResult.id)
        ).all()
        return (
            {r.task_id: r.status for r in runs},
            [(by_id[c.governed_run_id], c.check, c.outcome, dict(c.details or {})) for c in checks],
        )


@pytest.fixture(scope="module")
def runs(airflow_cluster: AirflowCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs triggered together: a card in ``dag_run.conf``, and an e-mail (redacted by the policy)."""
    folder = tmp_path_factory.mktemp("dataflow-markers")
    airflow_client = airflow_cluster.client(timeout=120.0)  # a busy api-server answers slowly
    airflow_client.wait_for_dag(DAG_ID, timeout=300)
    airflow_client.unpause(DAG_ID)
    cases = {"card": CARD_NOTES, "email": "Questions to alina.berg@example.com"}
    triggered = {
        case: airflow_client.trigger(DAG_ID, {"notes": notes, "marker": str(folder / case)})
        for case, notes in cases.items()
    }
    states = {
        case: airflow_client.wait_for_run(DAG_ID, run_id, timeout=540) for case, run_id in triggered.items()
    }
    failed_boundary = {
        case: airflow_client.task_logs(DAG_ID, run_id, "data_boundary")[-3000:]
        for case, run_id in triggered.items()
        if airflow_client.task_instances(DAG_ID, run_id).get("data_boundary") != "success"
    }
    assert not failed_boundary, f"the boundary step itself failed: {failed_boundary}"
    return {"runs": triggered, "states": states, "markers": folder}


def test_card_in_dag_run_conf_is_stopped_before_the_model(
    airflow_client: AirflowClient, e2e_sidecar_db_url: str, runs: dict[str, Any]
) -> None:
    run_id = runs["runs"]["card"]
    tasks = airflow_client.task_instances(DAG_ID, run_id)
    assert runs["states"]["card"] == "failed", tasks
    assert tasks[f"{AI_TASK}[0]"] == "failed", tasks
    assert tasks["data_boundary"] == "success"  # the boundary saw only the clean text
    assert not (runs["markers"] / "card").exists(), "the model was called"
    statuses, checks = _records(e2e_sidecar_db_url, run_id)
    assert statuses[AI_TASK] == "blocked"
    ((_task, check, outcome, details),) = [c for c in checks if c[0] == AI_TASK]
    assert (check, outcome) == ("ai_input_boundary", "fail")
    assert details["blocked_types"] == ["CREDIT_CARD"]
    assert "4111" not in json.dumps(checks)


def test_clean_conf_passes_and_an_email_reaches_the_model_masked(
    airflow_client: AirflowClient, e2e_sidecar_db_url: str, runs: dict[str, Any]
) -> None:
    run_id = runs["runs"]["email"]
    tasks = airflow_client.task_instances(DAG_ID, run_id)
    assert tasks[f"{AI_TASK}[0]"] == "success", tasks  # the AI step ran, on the masked e-mail
    seen = (runs["markers"] / "email").read_text()
    assert seen.startswith("MTG-5001") and "<EMAIL_ADDRESS:" in seen
    assert "alina.berg@example.com" not in seen
    _statuses, checks = _records(e2e_sidecar_db_url, run_id)
    assert [(t, c, o) for t, c, o, _ in checks if t == AI_TASK] == [
        (AI_TASK, "ai_input_boundary", "redacted")
    ]


def test_the_same_smuggling_written_in_the_dag_is_refused_by_the_dag_processor(
    airflow_client: AirflowClient, e2e_scratch_dag_folder: Path
) -> None:
    (e2e_scratch_dag_folder / PARSE_ATTACK_FILE).write_text(PARSE_ATTACK)
    deadline = time.monotonic() + 120
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        found = [e for e in airflow_client.import_errors() if e["filename"].endswith(PARSE_ATTACK_FILE)]
        time.sleep(1)
    assert found, "the smuggling DAG was not refused"
    trace = found[0]["stack_trace"]
    assert "AirflowClusterPolicyViolation" in trace
    assert (
        "task 'classify' (use case 'meeting-summaries'): data argument op_kwargs['notes'] takes `dag_run`"
        in trace
    )
    assert airflow_client.dag("aigov_e2e_dataflow_parse_attack") is None
