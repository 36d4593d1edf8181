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

builds ``boundary_check >> ai_task >> output_standard [>> approval]`` in a TaskGroup named after
the use case. The tier (and so whether an approval gate is needed) comes from the registry, so the
DAG follows its policy: a policy moved to tier 2 adds the approval at the next parse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseOperator, TaskGroup

from airflow_ai_governance.exceptions import UseCaseNotFound
from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator
from airflow_ai_governance.operators.approval import GovernanceApprovalOperator
from airflow_ai_governance.operators.boundary import DataBoundaryCheckOperator
from airflow_ai_governance.operators.output_standard import OutputStandardOperator


@dataclass(frozen=True)
class GovernedWorkflow:
    group: TaskGroup
    boundary: DataBoundaryCheckOperator
    ai: BaseOperator
    standard: OutputStandardOperator
    approval: GovernanceApprovalOperator | None

    @property
    def last(self) -> BaseOperator:
        return self.approval or self.standard

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
    """
    if (python_callable is None) == (ai_task is None):
        raise ValueError("governed_workflow: give exactly one of python_callable or ai_task")
    if approval is None:
        approval = _tier_requires_approval(use_case)
    with TaskGroup(group_id or use_case.replace("-", "_")) as group:
        boundary = DataBoundaryCheckOperator(
            task_id="data_boundary", use_case=use_case, data=data, files=files, inputs=inputs
        )
        if ai_task is not None:
            made = ai_task(boundary.output)
            ai = getattr(made, "operator", made)  # a TaskFlow call returns an XComArg
            if getattr(ai, "use_case", None) != use_case:
                raise ValueError(
                    f"governed_workflow({use_case!r}): the AI task must be governed by the same use case"
                )
        else:
            assert python_callable is not None
            ai = GovernedAITaskOperator(
                task_id="ai_task",
                use_case=use_case,
                python_callable=python_callable,
                op_args=[boundary.output],
                **ai_kwargs,
            )
        standard = OutputStandardOperator(task_id="output_standard", use_case=use_case, ai_output=ai.output)
        boundary >> ai >> standard
        gate = None
        if approval:
            gate = GovernanceApprovalOperator(
                task_id="approval", use_case=use_case, ai_output=standard.output, **(approval_kwargs or {})
            )
            standard >> gate
    return GovernedWorkflow(group, boundary, ai, standard, gate)


def _tier_requires_approval(use_case: str) -> bool:
    from airflow_ai_governance.gates.structure import registry

    found = registry(use_case)
    if found is None:
        raise UseCaseNotFound(use_case)
    return found[1].effective_gates.human_approval
