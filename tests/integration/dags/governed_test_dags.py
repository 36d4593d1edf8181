"""Governed DAGs for the ``dag.test()`` tests; each run's data and AI output come from its conf.

The AI step writes ``conf["marker"]`` when it runs, so a test can prove that a refused run never
reached the AI call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import DAG, get_current_context

from airflow_ai_governance.workflow import governed_workflow


def ai_step(data: Any) -> Any:
    conf = get_current_context()["dag_run"].conf
    Path(conf["marker"]).write_text("called")
    return conf["output"]


def _dag(dag_id: str, tags: list[str], **flow: Any) -> DAG:
    with DAG(dag_id, schedule=None, tags=["ai-governance", *tags], render_template_as_native_obj=True) as dag:
        governed_workflow(
            "meeting-summaries",
            data="{{ dag_run.conf['data'] }}",
            python_callable=ai_step,
            approval=False,
            **flow,
        )
    return dag


tier1 = _dag("aigov_test_tier1", [])
tier1_production = _dag("aigov_test_tier1_production", ["production"])
unapproved_input = _dag("aigov_test_unapproved_input", [], inputs=["table:hr.salaries"])
