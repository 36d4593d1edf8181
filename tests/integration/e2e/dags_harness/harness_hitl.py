"""A plain Human-in-the-loop DAG for the e2e harness test (no governance): rita approves or rejects."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, task

with DAG(
    dag_id="aigov_e2e_harness_hitl",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["aigov-e2e"],
):
    approve = ApprovalOperator(
        task_id="approve",
        subject="Publish the harness report?",
        body="A plain HITL approval used by the harness test.",
        assigned_users=[{"id": "rita", "name": "rita"}],
    )

    @task
    def publish() -> str:
        return "published"

    approve >> publish()
