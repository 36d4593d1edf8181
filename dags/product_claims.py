"""Tier 3: draft public product-performance claims from benchmark results with an LLM.

data boundary -> LLM draft (common-ai) -> output standard (no superlatives, <= 280 chars, cites a
benchmark) -> two distinct reviewers, never the owner, approve exactly this output -> publish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import dag, task
from pydantic import BaseModel

from airflow_ai_governance import GovernedLLMOperator, governed_workflow
from airflow_ai_governance.examples.offline_models import claims_model, offline

RESULTS = str(Path(__file__).parent / "example_data" / "benchmarks" / "results.csv")


class Claim(BaseModel):
    claim_id: str
    claim: str
    benchmark_id: str


class ClaimSet(BaseModel):
    claims: list[Claim]


def draft_claims(rows: Any) -> GovernedLLMOperator:
    return GovernedLLMOperator(
        task_id="draft_claims",
        use_case="product-claims",
        llm_conn_id="aigov_llm",
        system_prompt="Write one factual, sober claim per benchmark row. No superlatives.",
        prompt="Benchmarks:\n{% for r in ti.xcom_pull(task_ids='product_claims.data_boundary') %}"
        "{{ r.benchmark_id }} | {{ r.workload }} | {{ r.metric }} | ours {{ r.ours }} | previous {{ r.previous }}"
        " | {{ r.unit }}\n{% endfor %}",
        output_type=ClaimSet,
        output_field="claims",
        model=claims_model() if offline() else None,
    )


@dag(schedule=None, catchup=False, tags=["ai-governance", "production", "tier-3"], doc_md=__doc__)
def product_claims() -> None:
    flow = governed_workflow("product-claims", files=[RESULTS], ai_task=draft_claims)

    @task
    def publish(claims: list[dict[str, Any]]) -> int:
        for claim in claims:
            print(f"Publishing {claim['claim_id']}: {claim['claim']}")
        return len(claims)

    publish(flow.output)


product_claims()
