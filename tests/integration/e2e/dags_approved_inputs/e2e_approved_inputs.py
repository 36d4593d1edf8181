"""A tier-1 governed workflow whose input file comes from the run's conf (the DAG author's attack).

The shipped ``meeting-summaries`` policy approves ``**/example_data/meetings/*.txt``; the e2e test
passes approved files, ``..`` escapes and symlinks pointing outside, and checks which runs read them.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG

from airflow_ai_governance import governed_workflow


def summarise(notes: Any) -> dict[str, Any]:
    """Stands in for the model: records what it received (the boundary-checked text) in the summary."""
    text = notes if isinstance(notes, str) else str(notes)
    return {
        "meeting_id": "MTG-4001",
        "summary": f"Summary of: {text[:200]}".ljust(20, "."),
        "action_items": 0,
    }


with DAG("aigov_e2e_approved_inputs", schedule=None, tags=["ai-governance", "production"]):
    governed_workflow(
        "meeting-summaries",
        files=["{{ dag_run.conf['file'] }}"],
        python_callable=summarise,
    )
