"""``GovernedAITaskOperator``: any callable (a model, an LLM call) run under its use case's policy."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.python import PythonOperator

from airflow_ai_governance.gates import finish
from airflow_ai_governance.gates.ai_task import call_record
from airflow_ai_governance.operators.base import GovernedMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class GovernedAITaskOperator(GovernedMixin, PythonOperator):
    """Run ``python_callable`` as the AI step of a governed use case.

    Preflight first (use case known, lifecycle state allows the run, policy version pinned; the
    sidecar unreachable fails the task before the call, retryably). Then the call, timed, with
    model id/version, prompt (template) hash, input and output hashes, latency and token/cost figures
    in the run record. The callable may return
    :class:`~airflow_ai_governance.gates.ai_task.AIResult` to report model and usage, or a
    pydantic-ai ``AgentRunResult`` (read automatically); its ``output`` is what goes to XCom.

    :param use_case: the registered use case.
    :param model_id: the model's id, when the callable does not report it.
    :param model_version: the model's version.
    :param prompt_template: the prompt or template whose hash is recorded.
    """

    governance_gate = "ai_task"
    ui_color = "#e4f1fe"

    def __init__(
        self,
        *,
        use_case: str,
        python_callable: Callable[..., Any],
        model_id: str | None = None,
        model_version: str | None = None,
        prompt_template: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        self.use_case = use_case
        self.model_id = model_id
        self.model_version = model_version
        self.prompt_template = prompt_template

    def execute(self, context: Context) -> Any:
        self._governed = self.governance_preflight(context)
        try:
            return super().execute(context)
        except BaseException as exc:
            finish(self._governed, "failed", details={"gate": "ai_task", "error": type(exc).__name__})
            raise

    def execute_callable(self) -> Any:
        started = time.perf_counter()
        result = super().execute_callable()
        latency_ms = (time.perf_counter() - started) * 1000
        output, fields = call_record(
            result,
            inputs={"args": list(self.op_args), "kwargs": dict(self.op_kwargs)},
            latency_ms=latency_ms,
            model_id=self.model_id,
            model_version=self.model_version,
            prompt_template=self.prompt_template,
        )
        finish(self._governed, "success", **fields)
        self.log.info(
            "Governed AI call for %s: %.1f ms, output %s",
            self.use_case,
            latency_ms,
            fields["output_hash"][:12],
        )
        return output
