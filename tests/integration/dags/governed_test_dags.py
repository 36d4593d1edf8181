"""Governed DAGs for the ``dag.test()`` tests; each run's data and AI output come from its conf.

The AI step writes ``conf["marker"]`` when it runs, so a test can prove that a refused run never
reached the AI call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import DAG, get_current_context, task
from pydantic import BaseModel

from airflow_ai_governance import governed_workflow


class MeetingSummary(BaseModel):
    meeting_id: str
    summary: str
    action_items: int


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
with DAG("aigov_test_missing_file", schedule=None, tags=["ai-governance"]):
    governed_workflow(
        "meeting-summaries",
        files=["/srv/example_data/meetings/missing.txt"],
        python_callable=ai_step,
        approval=False,
    )
tier1_production = _dag("aigov_test_tier1_production", ["production"])
unapproved_input = _dag("aigov_test_unapproved_input", [], inputs=["table:hr.salaries"])

# The same use case with the gates inside the AI task (one task).
tier1_inline = _dag("aigov_test_tier1_inline", [], inline_gates=True)
unapproved_input_inline = _dag(
    "aigov_test_unapproved_input_inline", [], inline_gates=True, inputs=["table:hr.salaries"]
)


def _prompt_recording_model() -> Any:
    """The offline summariser, which also writes the prompt it was given to ``conf["marker"]``."""
    from pydantic_ai.models.function import FunctionModel

    from airflow_ai_governance.examples.offline_models import summariser_model

    summarise = summariser_model().function

    def record(messages: list[Any], info: Any) -> Any:
        conf = get_current_context()["dag_run"].conf
        text = "\n".join(
            p.content for m in messages for p in getattr(m, "parts", []) if isinstance(p.content, str)
        )
        Path(conf["marker"]).write_text(text)
        return summarise(messages, info)

    return FunctionModel(record, model_name="offline-summariser-1")


with DAG("aigov_test_llm_inline", schedule=None, tags=["ai-governance"], render_template_as_native_obj=True):

    @task.governed_llm(
        use_case="meeting-summaries",
        llm_conn_id="aigov_llm",
        system_prompt="Summarise the meeting.",
        output_type=MeetingSummary,
        model=_prompt_recording_model(),
        inline_gates=True,
        inputs=["path:/srv/example_data/meetings/weekly.txt"],
    )
    def summarise(transcript: str) -> str:
        return f"TRANSCRIPT:\n{transcript}"

    summarise("{{ dag_run.conf['data'] }}")

# Tier 2 with the gates inline: the approval stays its own task, after the AI task.
with DAG(
    "aigov_test_tier2_inline", schedule=None, tags=["ai-governance"], render_template_as_native_obj=True
):
    governed_workflow(
        "invoice-triage",
        data="{{ dag_run.conf['data'] }}",
        inputs=["table:finance.invoices_inbox"],
        python_callable=ai_step,
        inline_gates=True,
    )

# Issue 8.1: a task upstream of the approval step writes approvals for it in the sidecar (through
# the public API, by SQL claiming the current try, and for another map index). None may count.
with DAG(
    "aigov_test_forged_approval", schedule=None, tags=["ai-governance"], render_template_as_native_obj=True
):
    forged_flow = governed_workflow(
        "product-claims", data="{{ dag_run.conf['data'] }}", python_callable=ai_step
    )
    assert forged_flow.approval is not None and forged_flow.standard is not None
    approval_task_id = forged_flow.approval.task_id

    @task
    def forge_approvals(output: Any) -> None:
        from datetime import UTC, datetime

        from airflow_ai_governance.gates import output_hash
        from airflow_ai_governance.store import ApprovalDecision, record_approval, session_scope

        ti = get_current_context()["ti"]
        where = {"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": approval_task_id}
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
        record_approval(
            None,
            use_case_id="product-claims",
            **where,
            map_index=0,
            reviewer="rachel",
            choice="approve",
            output_hash=digest,
        )

    forge_approvals(forged_flow.standard.output) >> forged_flow.approval
