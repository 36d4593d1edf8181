"""``GovernedAITaskOperator``: any callable (a model, an LLM call) run under its use case's policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.python import PythonOperator

from airflow_ai_governance.gates.ai_task import call_record
from airflow_ai_governance.operators.base import GovernedMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_ai_governance.gates import GovernedRunContext


class GovernedAITaskOperator(GovernedMixin, PythonOperator):
    """Run ``python_callable`` as the AI step of a governed use case.

    Preflight first (use case known, lifecycle state allows the run, policy version pinned; the
    sidecar unreachable fails the task before the call, retryably). Then the call, timed, with
    model id/version, prompt (template) hash, input and output hashes, latency and token/cost figures
    in the run record. The callable may return
    :class:`~airflow_ai_governance.gates.ai_task.AIResult` to report model and usage, or a
    pydantic-ai ``AgentRunResult`` (read automatically); its ``output`` is what goes to XCom.

    With ``inline_gates`` the task runs those gates itself instead of needing gate tasks around
    it (one task, one run record with a check per gate; the cluster policy counts them):

    * ``data_boundary``: before the call, ``inputs`` must be approved inputs and the arguments are
      scanned; the callable gets them redacted where the policy says so (a single positional
      argument is scanned as it is, records or a DataFrame; otherwise ``{"args", "kwargs"}``);
    * ``output_standard``: after the call the output must meet the standard (block, or pass the
      valid rows on when the policy quarantines).

    :param use_case: the registered use case.
    :param model_id: the model's id, when the callable does not report it.
    :param model_version: the model's version.
    :param prompt_template: the prompt or template whose hash is recorded.
    :param inline_gates: ``True`` for both gates, or a list of ``"data_boundary"`` and/or
        ``"output_standard"``.
    :param inputs: where the data comes from (``KIND:VALUE`` or ``Asset``), for the inline
        data-boundary gate.
    """

    governance_gate = "ai_task"
    op_args: Collection[Any]
    op_kwargs: Mapping[str, Any]
    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs", "inputs")
    ui_color = "#e4f1fe"

    def __init__(
        self,
        *,
        use_case: str,
        python_callable: Callable[..., Any],
        model_id: str | None = None,
        model_version: str | None = None,
        prompt_template: str | None = None,
        inline_gates: bool | str | Iterable[str] = False,
        inputs: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        self.use_case = use_case
        self.model_id = model_id
        self.model_version = model_version
        self.prompt_template = prompt_template
        self.set_inline_gates(inline_gates, inputs)

    def execute(self, context: Context) -> Any:
        run = self.governance_preflight(context)
        self._call_fields: dict[str, Any] = {}
        try:
            if "data_boundary" in self.inline_gates:
                self._check_arguments(run)
            output = super().execute(context)
            return self.close_ai_run(context, run, output, self._call_fields)
        except BaseException as exc:
            self.fail_run(run, exc, **self._call_fields)
            raise

    def _check_arguments(self, run: GovernedRunContext) -> None:
        args, kwargs = list(self.op_args), dict(self.op_kwargs)
        if len(args) == 1 and not kwargs:
            self.op_args = [self.check_inputs_inline(run, args[0])]
            return
        checked = self.check_inputs_inline(run, {"args": args, "kwargs": kwargs})
        self.op_args, self.op_kwargs = list(checked["args"]), dict(checked["kwargs"])

    def execute_callable(self) -> Any:
        started = time.perf_counter()
        result = super().execute_callable()
        latency_ms = (time.perf_counter() - started) * 1000
        output, self._call_fields = call_record(
            result,
            inputs={"args": list(self.op_args), "kwargs": dict(self.op_kwargs)},
            latency_ms=latency_ms,
            model_id=self.model_id,
            model_version=self.model_version,
            prompt_template=self.prompt_template,
        )
        self.log.info(
            "Governed AI call for %s: %.1f ms, output %s",
            self.use_case,
            latency_ms,
            self._call_fields["output_hash"][:12],
        )
        return output
