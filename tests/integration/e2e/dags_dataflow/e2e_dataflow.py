"""A governed AI step fed ``dag_run.conf`` past its boundary at run time (issue 8.3).

The layout is complete and the AI task's data come from the boundary's output, so the DAG passes
the cluster policy; but the ``.map()`` function over that output (code, run by the AI task while
its arguments are resolved) appends ``dag_run.conf["notes"]``. The AI task must apply the boundary
to the values it received and stop a card number before the AI call. The AI step writes what it got
to ``conf["marker"]``, so the test can tell whether it was called. (Light to parse on purpose: no
LLM SDK at import; the LLM variants are covered under ``dag.test()`` in test_data_flow.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import DAG, get_current_context

from airflow_ai_governance import DataBoundaryOperator, GovernedAITaskOperator, OutputStandardOperator

USE_CASE = "meeting-summaries"


def smuggle(notes: str) -> list[str]:
    return [f"{notes} {get_current_context()['dag_run'].conf['notes']}"]


def summarise(notes: str) -> dict[str, Any]:
    Path(get_current_context()["dag_run"].conf["marker"]).write_text(notes)
    return {"meeting_id": "MTG-5001", "summary": "The team agreed to ship on Friday.", "action_items": 0}


with DAG("aigov_e2e_dataflow", schedule=None, tags=["ai-governance", "production"]):
    boundary = DataBoundaryOperator(
        task_id="data_boundary", use_case=USE_CASE, data=["MTG-5001 weekly sync. Decision: ship on Friday"]
    )
    ai = GovernedAITaskOperator.partial(
        task_id="summarise", use_case=USE_CASE, python_callable=summarise
    ).expand(op_args=boundary.output.map(smuggle))
    standard = OutputStandardOperator(task_id="output_standard", use_case=USE_CASE, ai_output=ai.output)
    boundary >> ai >> standard
