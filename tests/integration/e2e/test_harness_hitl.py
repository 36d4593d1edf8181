"""The e2e harness, proven on a plain Human-in-the-loop DAG (no governance involved).

Real api-server, scheduler, dag-processor and triggerer; the DAG is triggered and answered
through the REST API by real ``SimpleAuthManager`` users: ``rita`` (assigned, role user),
``olivia`` (role user, not assigned), ``viewer1`` (role viewer).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_ai_governance.testing import AirflowClient, AirflowCluster

pytestmark = [pytest.mark.integration, pytest.mark.airflow_e2e]

DAG_ID = "aigov_e2e_harness_hitl"  # tests/integration/e2e/dags_harness/harness_hitl.py
BROKEN_DAG_FILE = "aigov_e2e_harness_broken.py"


@pytest.fixture(scope="module")
def runs(
    airflow_client: AirflowClient, e2e_scratch_dag_folder: Path, e2e_timings: dict[str, float]
) -> dict[str, str]:
    """Two runs of the HITL DAG, triggered together so that they park in parallel."""
    # A broken DAG file next to ours: the cluster must report it and keep working.
    (e2e_scratch_dag_folder / BROKEN_DAG_FILE).write_text(
        "from airflow.sdk import DAG\nraise RuntimeError('deliberately broken DAG file')\n"
    )
    airflow_client.wait_for_dag(DAG_ID)
    airflow_client.unpause(DAG_ID)
    started = time.monotonic()
    triggered = {case: airflow_client.trigger(DAG_ID, conf={"case": case}) for case in ("approve", "reject")}
    for run_id in triggered.values():
        airflow_client.wait_until_parked(DAG_ID, run_id, "approve")
    e2e_timings["2 runs trigger -> safely parked"] = time.monotonic() - started
    return triggered


def test_only_the_assigned_user_can_answer_and_only_once(
    airflow_client: AirflowClient, runs: dict[str, str], e2e_timings: dict[str, float]
) -> None:
    client, run_id = airflow_client, runs["approve"]

    detail = client.hitl_detail(DAG_ID, run_id, "approve")
    assert detail is not None
    assert detail["assigned_users"] == [{"id": "rita", "name": "rita"}]
    assert detail["options"] == ["Approve", "Reject"]
    assert detail["response_received"] is False
    pending = {
        (d["task_instance"]["dag_run_id"], d["task_instance"]["task_id"]) for d in client.pending_hitl()
    }
    assert (run_id, "approve") in pending

    refused_user = client.respond("olivia", DAG_ID, run_id, "approve", ["Approve"])
    assert refused_user.status_code == 403, refused_user.text
    refused_viewer = client.respond("viewer1", DAG_ID, run_id, "approve", ["Approve"])
    assert refused_viewer.status_code == 403, refused_viewer.text
    assert client.task_state(DAG_ID, run_id, "approve") == "awaiting_input"

    answered = time.monotonic()
    accepted = client.respond("rita", DAG_ID, run_id, "approve", ["Approve"], wait_parked=True)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["responded_by"] == {"id": "rita", "name": "rita"}

    again = client.respond("rita", DAG_ID, run_id, "approve", ["Reject"])
    assert again.status_code == 409, again.text

    client.wait_for_task_state(DAG_ID, run_id, "approve", "success", timeout=60)
    e2e_timings["HITL answer -> task success"] = time.monotonic() - answered
    assert client.wait_for_run(DAG_ID, run_id, timeout=90) == "success"
    e2e_timings["HITL answer -> run success"] = time.monotonic() - answered
    assert client.task_instances(DAG_ID, run_id) == {"approve": "success", "publish": "success"}

    final = client.hitl_detail(DAG_ID, run_id, "approve")
    assert final is not None
    assert final["response_received"] is True
    assert final["chosen_options"] == ["Approve"]
    assert final["responded_by_user"] == {"id": "rita", "name": "rita"}
    assert (run_id, "approve") not in {
        (d["task_instance"]["dag_run_id"], d["task_instance"]["task_id"]) for d in client.pending_hitl()
    }
    # Airflow's event log records the accepted answer with its author.
    answers = client.event_log(dag_id=DAG_ID, run_id=run_id, event="update_hitl_detail")
    assert any(entry["owner"] == "rita" for entry in answers), answers


def test_rejection_skips_downstream(airflow_client: AirflowClient, runs: dict[str, str]) -> None:
    client, run_id = airflow_client, runs["reject"]

    rejected = client.respond("rita", DAG_ID, run_id, "approve", ["Reject"], wait_parked=True)
    assert rejected.status_code == 200, rejected.text

    assert client.wait_for_run(DAG_ID, run_id, timeout=90) == "success"
    assert client.task_instances(DAG_ID, run_id) == {"approve": "success", "publish": "skipped"}
    assert "skip" in client.task_logs(DAG_ID, run_id, "approve").lower()


def test_a_broken_dag_file_is_reported_and_tolerated(
    airflow_cluster: AirflowCluster, airflow_client: AirflowClient, runs: dict[str, str]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        broken = [e for e in airflow_client.import_errors() if e["filename"].endswith(BROKEN_DAG_FILE)]
        if broken or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert broken, "the broken scratch DAG file never showed up in the import errors"
    assert broken[0]["bundle_name"] == "e2e-scratch"
    assert "deliberately broken DAG file" in broken[0]["stack_trace"]
    # Nothing else about the cluster suffered from it.
    airflow_cluster.check()
    assert airflow_client.dag(DAG_ID) is not None
    health = airflow_client.health()
    assert {health[k]["status"] for k in ("metadatabase", "scheduler", "dag_processor", "triggerer")} == {
        "healthy"
    }
