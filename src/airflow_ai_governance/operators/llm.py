"""``GovernedLLMOperator``: common-ai's ``LLMOperator`` run under its use case's policy."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.ai.operators.llm import LLMOperator

from airflow_ai_governance.gates import GovernedRunContext, output_hash
from airflow_ai_governance.gates.ai_task import from_agent_result, text_hash
from airflow_ai_governance.gates.boundary import keyed_data_hash
from airflow_ai_governance.operators.base import GovernedMixin

if TYPE_CHECKING:
    from airflow.sdk import Context
    from pydantic_ai import Agent
    from pydantic_ai.models import Model


class LLMGovernanceMixin(GovernedMixin):
    """Preflight before the LLM call; model, prompt hash, usage and latency into the run record.

    ``model`` (a pydantic-ai ``Model``, e.g. a ``FunctionModel``) replaces the connection's model:
    for tests and offline demos. Without it the connection ``llm_conn_id`` is used unchanged.
    ``output_field`` passes on one field of a structured output (e.g. the list of records in
    ``{"claims": [...]}``), so the output-standard gate sees records. Right before the model call
    the use case's boundary is applied to the rendered user prompt, system prompt and model
    settings (check ``ai_input_boundary``; with ``inline_gates`` this is the data-boundary gate
    itself, approved ``inputs`` included), and the model gets them redacted where the policy says.
    With the output-standard gate inline the output must meet the standard before it passes on.
    """

    governance_gate = "ai_task"
    _governed: GovernedRunContext
    _llm_call: dict[str, Any]
    _checked_prompt: Any = None

    # Each operator class defines its own ``__init__`` (calling this): Airflow's BaseOperatorMeta
    # wraps ``__init__`` (default_args, XComArg dependencies) only where a class defines one.
    def _init_governance(
        self,
        use_case: str,
        model: Model | None,
        output_field: str | None,
        inline_gates: bool | str | Iterable[str],
        inputs: Sequence[Any],
    ) -> None:
        self.use_case = use_case
        self.model = model
        self.output_field = output_field
        self.set_inline_gates(inline_gates, inputs)

    def _create_agent(self, *, output_type: Any, instructions: str) -> Agent[object, Any]:
        instructions = self._guard_model_input(instructions)
        if self.model is None:
            return super()._create_agent(output_type=output_type, instructions=instructions)  # type: ignore[misc,no-any-return]
        from pydantic_ai import Agent

        return Agent(self.model, output_type=output_type, instructions=instructions or None)

    def _guard_model_input(self, instructions: str) -> str:
        """The use case's boundary on what the model is about to see, rendered and final: the user
        prompt (for ``@task.governed_llm`` the prompt the function built from its inputs), the
        system prompt/instructions and the model settings sent with the request. The prompt is
        replaced by what passed (redacted where the policy says); returns the instructions."""
        prompt = getattr(self, "prompt", None)
        settings = getattr(self, "model_settings", None)
        if not instructions and not settings:
            checked_prompt = self.guard_ai_input(self._governed, prompt)
        else:
            data: dict[str, Any] = {"prompt": prompt}
            if instructions:
                data["system_prompt"] = instructions
            if settings:
                data["model_settings"] = dict(settings)
            checked = self.guard_ai_input(self._governed, data)
            checked_prompt = checked["prompt"]
            instructions = checked.get("system_prompt", instructions)
            if settings:
                self.model_settings = checked["model_settings"]
        self.prompt = self._checked_prompt = checked_prompt
        return instructions

    def _run_llm(self, context: Context, agent: Any, user_prompt: Any, *, usage_limits: Any) -> Any:
        if user_prompt is not getattr(self, "_checked_prompt", None):  # not what the boundary saw
            user_prompt = self.guard_ai_input(self._governed, user_prompt)
        self._llm_call["input_hash"] = keyed_data_hash(user_prompt)  # keyed: see gates.ai_task
        started = time.perf_counter()
        result = super()._run_llm(context, agent, user_prompt, usage_limits=usage_limits)  # type: ignore[misc]
        self._llm_call.update(
            {
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "prompt_hash": text_hash(f"{getattr(self, 'system_prompt', '')}\n{user_prompt}"),
                **from_agent_result(result),
            }
        )
        return result

    def execute(self, context: Context) -> Any:
        run = self._governed = self.governance_preflight(context)
        self._llm_call = {}
        self._checked_prompt = None
        try:
            output = super().execute(context)  # type: ignore[misc]
            if self.output_field is not None:
                output = output[self.output_field]
            model_id = getattr(self, "model_id", None) or (
                getattr(self.model, "model_name", None) if self.model else None
            )
            fields = {**self._llm_call, "output_hash": output_hash(output)}
            if model_id:
                fields["model_id"] = model_id
            return self.close_ai_run(context, run, output, fields)
        except BaseException as exc:
            self.fail_run(run, exc, **self._llm_call)
            raise


class GovernedLLMOperator(LLMGovernanceMixin, LLMOperator):
    """``LLMOperator`` with governance: ``GovernedLLMOperator(use_case=..., prompt=..., llm_conn_id=...)``.

    Structured outputs are returned as dicts (``serialize_output=True``) so that the output-standard
    gate can validate them. Approval is the job of the ``HumanApprovalOperator`` gate, not of
    ``require_approval``. ``inline_gates``/``inputs`` as for ``GovernedAITaskOperator``.
    """

    template_fields: Sequence[str] = (*LLMOperator.template_fields, "inputs")

    def __init__(
        self,
        *,
        use_case: str,
        model: Model | None = None,
        output_field: str | None = None,
        inline_gates: bool | str | Iterable[str] = False,
        inputs: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("serialize_output", True)
        super().__init__(**kwargs)
        self._init_governance(use_case, model, output_field, inline_gates, inputs)
