"""Tier 2: route supplier invoices to approval queues with a scikit-learn classifier.

data boundary (IBANs and e-mails redacted) -> classifier -> output standard (quarantine on
failure) -> one reviewer who is not the owner approves -> queues updated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import dag, task

from airflow_ai_governance import AIResult, governed_workflow
from airflow_ai_governance.examples.offline_models import QUEUES, invoice_classifier

INBOX = str(Path(__file__).parent / "example_data" / "invoices" / "inbox-2026-11-27.jsonl")


def classify(invoices: list[dict[str, Any]]) -> AIResult:
    model = invoice_classifier()
    probabilities = model.predict_proba([inv["features"] for inv in invoices])
    decisions = [
        {
            "invoice_id": inv["invoice_id"],
            "queue": QUEUES[int(p.argmax())],
            "confidence": round(float(p.max()), 4),
        }
        for inv, p in zip(invoices, probabilities, strict=True)
    ]
    return AIResult(decisions, model_id="sklearn-logreg-wine", model_version="1.0")


@dag(schedule=None, catchup=False, tags=["ai-governance", "production", "tier-2"], doc_md=__doc__)
def invoice_triage() -> None:
    flow = governed_workflow(
        "invoice-triage",
        files=[INBOX],
        inputs=["table:finance.invoices_inbox"],
        python_callable=classify,
        model_id="sklearn-logreg-wine",
    )

    @task
    def update_queues(decisions: list[dict[str, Any]]) -> dict[str, int]:
        counts = {q: sum(d["queue"] == q for d in decisions) for q in QUEUES}
        print(f"Queued invoices: {counts}")
        return counts

    update_queues(flow.output)


invoice_triage()
