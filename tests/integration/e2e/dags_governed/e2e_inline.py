"""A tier-1 governed task with its gates inline, on real workers; data and output from the run's conf."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, get_current_context

from airflow_ai_governance import governed_workflow


def summarise(notes: str) -> dict[str, Any]:
    """Stands in for the model: the summary the run's conf asks for (the checked notes are ignored)."""
    return dict(get_current_context()["dag_run"].conf["summary"])


with DAG(
    "aigov_e2e_inline",
    schedule=None,
    tags=["ai-governance", "production"],
    render_template_as_native_obj=True,
):
    governed_workflow(
        "meeting-summaries",
        data="{{ dag_run.conf['notes'] }}",
        inputs=["path:/srv/example_data/meetings/weekly.txt"],
        python_callable=summarise,
        inline_gates=True,
    )
