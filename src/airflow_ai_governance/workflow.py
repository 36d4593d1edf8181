"""``governed_workflow()``: lay out the gates a use case's tier requires around its AI step.

::

    with DAG("invoice_triage", ...):
        flow = governed_workflow(
            "invoice-triage",
            data=load_invoices(),                   # an XComArg or literal records
            inputs=["table:finance.invoices_inbox"],
            python_callable=classify,               # gets the boundary-checked data
        )
        publish(flow.output)

builds ``data_boundary >> ai_task >> output_standard [>> approval]`` in a TaskGroup named after
the use case. The tier (and so whether an approval gate is needed) comes from the registry, so the
DAG follows its policy: a policy moved to tier 2 adds the approval at the next parse. With
``inline_gates=True`` the AI task runs the data-boundary and output-standard gates itself:
``ai_task [>> approval]``, one task where the tier needs no reviewer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseOperator, TaskGroup

from airflow_ai_governance.exceptions import UseCaseNotFound
from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator
from airflow_ai_governance.operators.approval import HumanApprovalOperator
from airflow_ai_governance.operators.boundary import DataBoundaryOperator
from airflow_ai_governance.operators.output_standard import OutputStandardOperator


@dataclass(frozen=True)
class GovernedWorkflow:
    """The tasks ``governed_workflow()`` laid out; ``boundary``/``standard`` are ``None`` when the
    AI task runs those gates inline."""

    group: TaskGroup
    boundary: DataBoundaryOperator | None
    ai: BaseOperator
    standard: OutputStandardOperator | None
    approval: HumanApprovalOperator | None

    @property
    def last(self) -> BaseOperator:
        return self.approval or self.standard or self.ai

    @property
    def output(self) -> Any:
        """The governed output (approved where the tier requires it), as an XComArg."""
        return self.last.output


def governed_workflow(
    use_case: str,
    *,
    data: Any = None,
    files: Sequence[str] = (),
    inputs: Sequence[Any] = (),
    python_callable: Callable[..., Any] | None = None,
    ai_task: Callable[[Any], Any] | None = None,
    group_id: str | None = None,
    approval: bool | None = None,
    approval_kwargs: dict[str, Any] | None = None,
    inline_gates: bool = False,
    **ai_kwargs: Any,
) -> GovernedWorkflow:
    """Build the governed TaskGroup for ``use_case``.

    :param python_callable: the AI step, called with the boundary-checked data as first argument
        (run by ``GovernedAITaskOperator``; ``ai_kwargs`` go to it: ``model_id``, ...).
    :param ai_task: instead, a factory that gets the checked data (XComArg) and returns the AI
        operator (e.g. a ``GovernedLLMOperator``) or the XComArg of a ``@task.governed_llm`` call;
        it must use the same ``use_case``.
    :param approval: force the approval gate on (or off, only where the tier allows it; the
        cluster policy rejects a DAG without a gate its tier requires). Default: from the registry.
    :param inline_gates: run the data-boundary and output-standard gates inside the AI task
        (one task instead of three: the fast layout for light tiers; the approval, where
        required, stays its own task). ``data`` then goes to the AI task directly (``files``
        need the separate boundary task, which reads them).
    """
    if (python_callable is None) == (ai_task is None):
        raise ValueError("governed_workflow: give exactly one of python_callable or ai_task")
    if inline_gates and files:
        raise ValueError(
            f"governed_workflow({use_case!r}): files= are read by the separate data_boundary task; "
            "with inline_gates=True pass the data (data=...) or read the files in the AI task"
        )
    if approval is None:
        approval = _tier_requires_approval(use_case)
    boundary: DataBoundaryOperator | None = None
    standard: OutputStandardOperator | None = None
    with TaskGroup(group_id or use_case.replace("-", "_")) as group:
        if not inline_gates:
            boundary = DataBoundaryOperator(
                task_id="data_boundary", use_case=use_case, data=data, files=files, inputs=inputs
            )
            data = boundary.output
        if ai_task is not None:
            made = ai_task(data)
            ai = getattr(made, "operator", made)  # a TaskFlow call returns an XComArg
            if getattr(ai, "use_case", None) != use_case or getattr(ai, "governance_gate", None) != "ai_task":
                raise ValueError(
                    f"governed_workflow({use_case!r}): ai_task must make a governed AI task (GovernedLLMOperator, "
                    "@task.governed_llm, @task.governed, ...) of the same use case"
                )
            if inline_gates:
                ai.set_inline_gates(True, inputs)
        else:
            assert python_callable is not None
            ai = GovernedAITaskOperator(
                task_id="ai_task",
                use_case=use_case,
                python_callable=python_callable,
                op_args=[data],
                inline_gates=inline_gates,
                inputs=inputs if inline_gates else (),
                **ai_kwargs,
            )
        last: BaseOperator = ai
        if boundary is not None:
            standard = OutputStandardOperator(
                task_id="output_standard", use_case=use_case, ai_output=ai.output
            )
            boundary >> ai >> standard
            last = standard
        gate = None
        if approval:
            gate = HumanApprovalOperator(
                task_id="approval", use_case=use_case, ai_output=last.output, **(approval_kwargs or {})
            )
            last >> gate
    return GovernedWorkflow(group, boundary, ai, standard, gate)


def _tier_requires_approval(use_case: str) -> bool:
    from airflow_ai_governance.gates.structure import registry

    found = registry(use_case)
    if found is None:
        raise UseCaseNotFound(use_case)
    return found[1].effective_gates.human_approval
