"""TaskFlow decorators: ``@task.governed(use_case=...)`` and ``@task.governed_llm(use_case=...)``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.ai.decorators.llm import _LLMDecoratedOperator
from airflow.providers.common.compat.sdk import DecoratedOperator, task_decorator_factory

from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator
from airflow_ai_governance.operators.llm import LLMGovernanceMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskDecorator
    from pydantic_ai.models import Model


class _GovernedDecoratedOperator(DecoratedOperator, GovernedAITaskOperator):
    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs", "inputs")
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    custom_operator_name: str = "@task.governed"

    def __init__(
        self, *, python_callable: Callable[..., Any], op_args: Any, op_kwargs: Any, **kwargs: Any
    ) -> None:
        kwargs_to_upstream = {"python_callable": python_callable, "op_args": op_args, "op_kwargs": op_kwargs}
        super().__init__(
            kwargs_to_upstream=kwargs_to_upstream,
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )

    def determine_kwargs(self, context: Mapping[str, Any]) -> Mapping[str, Any]:
        # DecoratedOperator defines its own (same as PythonOperator's) and comes first in the MRO:
        # the governed one must run, or the function would get its arguments unchecked.
        return GovernedAITaskOperator.determine_kwargs(self, context)


class _GovernedLLMDecoratedOperator(LLMGovernanceMixin, _LLMDecoratedOperator):
    custom_operator_name: str = "@task.governed_llm"
    template_fields: Sequence[str] = (*_LLMDecoratedOperator.template_fields, "inputs")

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


def governed_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Run a function as the governed AI step of ``use_case`` (see ``GovernedAITaskOperator``)."""
    return task_decorator_factory(
        python_callable=python_callable, decorated_operator_class=_GovernedDecoratedOperator, **kwargs
    )


def governed_llm_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Like ``@task.llm`` (the function returns the prompt), governed by ``use_case``."""
    return task_decorator_factory(
        python_callable=python_callable, decorated_operator_class=_GovernedLLMDecoratedOperator, **kwargs
    )
