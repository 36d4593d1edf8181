"""A tier-2 governed DAG whose approval escalates quickly (policy: tests/integration/e2e/policies)."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_ai_governance import governed_workflow


def score(items: list[str]) -> list[dict[str, object]]:
    return [{"item": item, "score": 0.5 + i / 10} for i, item in enumerate(items)]


with DAG("aigov_e2e_escalation", schedule=None, tags=["ai-governance", "production"]):
    governed_workflow(
        "e2e-escalation",
        data=["a-1", "a-2", "a-3"],
        inputs=["table:e2e.source"],
        python_callable=score,
        approval_kwargs={"retries": 0},
    )
