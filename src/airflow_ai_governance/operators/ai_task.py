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
      argument is scanned as it is, records or a DataFrame; otherwise
      ``{"args", "kwargs", "templates_dict"}``);
    * ``output_standard``: after the call the output must meet the standard (block, or pass the
      valid rows on when the policy quarantines).

    Without the inline gate, the use case's boundary is still applied to exactly what the callable
    receives (check ``ai_input_boundary``), and the cluster policy refuses data arguments that do
    not come from the use case's ``DataBoundaryOperator`` (docs/security.md, "Data flow into AI
    steps"). The callable cannot take values from the Airflow context (``params``, ``dag_run``,
    ``ti``, ``**kwargs``): its data arrive through its arguments only.

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
    _governed: GovernedRunContext
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
        run = self._governed = self.governance_preflight(context)
        self._call_fields: dict[str, Any] = {}
        self._context = context
        self._inputs_checked = False
        try:
            output = super().execute(context)
            return self.close_ai_run(context, run, output, self._call_fields)
        except BaseException as exc:
            self.fail_run(run, exc, **self._call_fields)
            raise

    def determine_kwargs(self, context: Mapping[str, Any]) -> Mapping[str, Any]:
        """The callable's keyword arguments, after the boundary: what the AI gets is what was checked.

        Runs inside ``PythonOperator.execute`` once templates are rendered and XComs resolved.
        A parameter that Airflow would fill from the task context (``params``, ``dag_run``,
        ``ti``, ``**kwargs``, ...) is refused: data reaches a governed AI callable only through its
        arguments. ``op_args``, ``op_kwargs`` and ``templates_dict`` then pass the use case's
        boundary (see :meth:`GovernedMixin.guard_ai_input`) and the callable gets the result.
        """
        given = set(self.op_kwargs)
        kwargs = dict(super().determine_kwargs(context))
        from_context = sorted(k for k in kwargs if k not in given and k != "templates_dict")
        if from_context:
            name = getattr(self.python_callable, "__name__", "the callable")
            self.refuse_ai_input(
                self._governed,
                f"task {self.task_id!r}: the AI callable {name}() takes {', '.join(from_context)} from the "
                f"Airflow context; a governed AI callable gets its data only through its arguments, which "
                f"pass the data boundary of {self.use_case!r}: give it the DataBoundaryOperator's output "
                "instead",
                {"context_arguments": from_context},
            )
        takes_templates = "templates_dict" in kwargs and "templates_dict" not in given
        if takes_templates:
            del kwargs["templates_dict"]
        args = list(self.op_args)
        rendered: Mapping[str, Any] | None = getattr(self, "templates_dict", None)
        templates = dict(rendered) if rendered else None
        if len(args) == 1 and not kwargs and templates is None:
            self.op_args = [self.guard_ai_input(self._governed, args[0])]
        else:
            data: dict[str, Any] = {"args": args, "kwargs": kwargs}
            if templates is not None:
                data["templates_dict"] = templates
            checked = self.guard_ai_input(self._governed, data)
            self.op_args, kwargs = list(checked["args"]), dict(checked["kwargs"])
            if templates is not None:
                self.templates_dict = checked["templates_dict"]
                self._context["templates_dict"] = self.templates_dict  # type: ignore[typeddict-unknown-key]
        if takes_templates:
            kwargs["templates_dict"] = self.templates_dict
        self._inputs_checked = True
        return kwargs

    def execute_callable(self) -> Any:
        if not getattr(self, "_inputs_checked", False):  # fail closed if a subclass skipped the guard
            self.refuse_ai_input(
                self._governed,
                f"task {self.task_id!r}: the AI callable's arguments did not pass the data boundary of "
                f"{self.use_case!r} (determine_kwargs was overridden without the governed check)",
                {"unchecked": True},
            )
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
