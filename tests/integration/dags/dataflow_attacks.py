"""DAGs that smuggle data into a governed AI step past its use case's data boundary (issue 8.3).

Defined only when ``AIGOV_TEST_DATAFLOW_ATTACKS=1``: the cluster policy refuses most of them at
parse time (tests/integration/test_data_flow.py checks that), so the run-time guard is tested with
the policy switched off, as if it had been walked around. Every AI step writes a marker file
``<conf["markers"]>/<task_id>`` with what it received, so a test can prove a refused run never
reached the AI call.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, get_current_context, task
from airflow.sdk.definitions.param import Param

from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator
from airflow_ai_governance.operators.boundary import DataBoundaryOperator
from airflow_ai_governance.operators.llm import GovernedLLMOperator

CARD = "card 4111 1111 1111 1111 exp 12/29"
UC = "meeting-summaries"


def _mark(received: Any) -> dict[str, Any]:
    """Stands in for the model: records what it got under the task's id."""
    ctx = get_current_context()
    folder = Path(ctx["dag_run"].conf["markers"])
    (folder / ctx["ti"].task_id).write_text(json.dumps(received, default=str))
    return {"meeting_id": "MTG-1", "summary": "Nothing to report this week.", "action_items": 0}


def model(*args: Any, clean: Any = None, notes: Any = None) -> dict[str, Any]:
    return _mark({"args": list(args), "clean": clean, "notes": notes})


def model_with_templates(text: Any, templates_dict: dict[str, Any] | None = None) -> dict[str, Any]:
    return _mark({"text": text, "templates_dict": templates_dict})


def model_with_context(text: Any, dag_run: Any = None) -> dict[str, Any]:
    return _mark({"text": text, "conf": dag_run.conf if dag_run else None})


def _recording_model() -> Any:
    """The offline summariser; also writes the prompt and instructions it was given."""
    from pydantic_ai.models.function import FunctionModel

    from airflow_ai_governance.examples.offline_models import summariser_model

    summarise = summariser_model().function

    def record(messages: list[Any], info: Any) -> Any:
        seen = [getattr(m, "instructions", None) for m in messages] + [
            p.content for m in messages for p in getattr(m, "parts", []) if isinstance(p.content, str)
        ]
        _mark([s for s in seen if s])
        return summarise(messages, info)

    return FunctionModel(record, model_name="offline-summariser-1")


if os.environ.get("AIGOV_TEST_DATAFLOW_ATTACKS") == "1":
    with DAG(
        "aigov_test_dataflow_attacks",
        schedule=None,
        tags=["ai-governance"],
        params={"card": Param(CARD, type="string")},
        render_template_as_native_obj=True,
    ):
        boundary = DataBoundaryOperator(task_id="boundary", use_case=UC, data="clean text")

        # The attack of issue 8.3, exactly: a clean boundary, the card handed to the AI directly.
        boundary >> GovernedAITaskOperator(
            task_id="literal_op_args", use_case=UC, python_callable=model, op_args=[CARD]
        )
        GovernedAITaskOperator(
            task_id="conf_op_kwargs",
            use_case=UC,
            python_callable=model,
            op_kwargs={"clean": boundary.output, "notes": "{{ dag_run.conf['card'] }}"},
        )
        GovernedAITaskOperator(
            task_id="params_templates_dict",
            use_case=UC,
            python_callable=model_with_templates,
            op_args=[boundary.output],
            templates_dict={"notes": "{{ params.card }}"},
        )
        GovernedAITaskOperator(
            task_id="context_parameter",
            use_case=UC,
            python_callable=model_with_context,
            op_args=[boundary.output],
        )

        @task
        def leak() -> str:
            return CARD

        GovernedAITaskOperator(
            task_id="other_task_xcom", use_case=UC, python_callable=model, op_args=[leak()]
        )
        boundary >> GovernedAITaskOperator.partial(
            task_id="mapped_literals", use_case=UC, python_callable=model
        ).expand(op_args=[["fine"], [CARD]])

        @task.governed(use_case=UC)
        def governed_literal(text: str) -> dict[str, Any]:
            return model(text)

        boundary >> governed_literal(CARD)

        @task.governed(use_case=UC, task_id="governed_mapped")
        def governed_mapped(text: str) -> dict[str, Any]:
            return model(text)

        boundary >> governed_mapped.expand(text=["fine", CARD])

        # Redacted, not blocked: the e-mail reaches the AI only as its mask.
        GovernedAITaskOperator(
            task_id="conf_email_redacted",
            use_case=UC,
            python_callable=model,
            op_args=[boundary.output, "{{ dag_run.conf['email'] }}"],
        )

        # Passes the parse-time check (the function gets the boundary's output), but the prompt it
        # returns is a template, which common-ai renders before the call: dag_run.conf at run time.
        @task.governed_llm(
            use_case=UC,
            llm_conn_id="aigov_llm",
            system_prompt="Summarise the meeting.",
            model=_recording_model(),
        )
        def llm_prompt_template(text: str) -> str:
            return "Summarise: " + text + " {{ dag_run.conf['card'] }}"

        llm_prompt_template(boundary.output)

        GovernedLLMOperator(
            task_id="llm_system_prompt",
            use_case=UC,
            llm_conn_id="aigov_llm",
            prompt="Summarise: {{ ti.xcom_pull(task_ids='boundary') }}",
            system_prompt="Bill {{ dag_run.conf['card'] }} for the summary.",
            model=_recording_model(),
        ).set_upstream(boundary)
