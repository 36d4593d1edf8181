"""Issue 8.1 on a real Airflow: a task upstream of the approval writes approvals for it.

``forge_approvals`` runs on a real worker with the sidecar's URL (as any task of the deployment
can) and records approvals of exactly the output under review for the approval task's run: lena
through the package's public ``record_approval``, eric by SQL claiming try 1. The approval gate
must still wait for people (``test_approval_e2e.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from airflow_ai_governance import governed_workflow

CLAIMS = [
    {
        "claim_id": "CLM-101",
        "claim": "Throughput improves by 35% on our ingestion benchmark.",
        "benchmark_id": "BM-101",
    }
]


def draft(data: Any) -> Any:
    return CLAIMS


# Retries: on a loaded machine a worker can fail a task before it runs (slow DAG import).
with DAG(
    "aigov_e2e_forged_approval",
    schedule=None,
    tags=["ai-governance"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=5)},
) as dag:
    flow = governed_workflow(
        "product-claims", data="Benchmarks of the ingestion service.", python_callable=draft
    )
    assert flow.approval is not None and flow.standard is not None
    APPROVAL = flow.approval.task_id

    @task
    def forge_approvals(output: Any) -> None:
        from datetime import UTC, datetime

        from airflow_ai_governance.gates import output_hash
        from airflow_ai_governance.store import ApprovalDecision, record_approval, session_scope

        ti = get_current_context()["ti"]
        where = {"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": APPROVAL}
        digest = output_hash(output)
        record_approval(
            None, use_case_id="product-claims", **where, reviewer="lena", choice="approve", output_hash=digest
        )
        with session_scope(None) as session:
            session.add(
                ApprovalDecision(
                    use_case_id="product-claims", **where, map_index=-1, reviewer="eric", choice="approve",
                    output_hash=digest, try_number=1, responded_at=datetime.now(UTC),
                )
            )  # fmt: skip

    forge_approvals(flow.standard.output) >> flow.approval
