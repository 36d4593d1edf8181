"""Offline stand-ins for the example DAGs' models, so the examples run without network access.

- LLM use cases get a pydantic-ai ``FunctionModel`` that reads the prompt and writes a structured
  answer deterministically. Set ``AIGOV_EXAMPLES_OFFLINE=0`` and configure the Airflow connection
  ``aigov_llm`` (a common-ai ``pydanticai`` connection) to use a real provider instead: the DAGs
  do not change.
- Invoice triage uses a real scikit-learn classifier trained on the wine dataset that ships inside
  scikit-learn (3 classes -> 3 approval queues), standing in for a model trained on historical
  accounts-payable decisions.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

QUEUES = ("auto_pay", "manager_review", "dispute")


def offline() -> bool:
    return os.environ.get("AIGOV_EXAMPLES_OFFLINE", "1") != "0"


def _prompt_text(messages: list[Any]) -> str:
    parts = [getattr(p, "content", "") for m in messages for p in getattr(m, "parts", [])]
    return "\n".join(p for p in parts if isinstance(p, str))


def summariser_model() -> Any:
    """Summarise a meeting transcript: id, decisions + first sentence, action-item count."""
    from pydantic_ai.messages import ModelResponse, ToolCallPart
    from pydantic_ai.models.function import FunctionModel

    def summarise(messages: list[Any], info: Any) -> Any:
        text = _prompt_text(messages)
        meeting = re.search(r"MTG-\d{4,}", text)
        decisions = re.findall(r"Decision: ([^\n]+)", text)
        actions = re.findall(r"ACTION: ([^\n]+)", text)
        title = text.split("TRANSCRIPT:", 1)[-1].strip().splitlines()[0] if "TRANSCRIPT:" in text else ""
        summary = f"{title} Decisions: {' '.join(decisions) or 'none'} Action items: {len(actions)}."
        args = {
            "meeting_id": meeting.group(0) if meeting else "MTG-0000",
            "summary": summary[:1200],
            "action_items": len(actions),
        }
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, args)])

    return FunctionModel(summarise, model_name="offline-summariser-1")


def claims_model() -> Any:
    """Draft one sober claim per benchmark row of the prompt."""
    from pydantic_ai.messages import ModelResponse, ToolCallPart
    from pydantic_ai.models.function import FunctionModel

    row = re.compile(r"(BM-\d+) \| ([^|]+) \| ([^|]+) \| ours ([\d.]+) \| previous ([\d.]+) \| (\S+)")

    def draft(messages: list[Any], info: Any) -> Any:
        claims = []
        for i, (bm, workload, metric, ours, prev, unit) in enumerate(row.findall(_prompt_text(messages)), 1):
            better = (
                float(ours) > float(prev) if metric.strip() == "throughput" else float(ours) < float(prev)
            )
            change = abs(float(ours) - float(prev)) / float(prev) * 100
            verb = "improves" if better else "changes"
            claims.append(
                {
                    "claim_id": f"CLM-{100 + i}",
                    "claim": f"In our {workload.strip()} benchmark, {metric.strip()} {verb} by {change:.0f}% "
                    f"({prev} to {ours} {unit}) compared with the previous release.",
                    "benchmark_id": bm,
                }
            )
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"claims": claims})])

    return FunctionModel(draft, model_name="offline-copywriter-1")


@lru_cache(maxsize=1)
def invoice_classifier() -> Any:
    """A logistic-regression pipeline trained on scikit-learn's bundled wine dataset."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_wine()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(data.data, data.target)
    return model
