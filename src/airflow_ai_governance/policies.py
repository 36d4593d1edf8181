"""Cluster policy (entry point ``airflow.policy``): reject governed DAGs that lack required gates.

Runs wherever Airflow parses DAGs. A DAG whose governed AI task lacks a gate its tier requires,
that names an unknown or retired use case, or whose AI task takes data from anywhere but its use
case's data boundary (a literal, another task's XCom, params/conf/Variables in a template, a
callable parameter filled from the context), fails to load with a message naming the DAG, the
task, the use case and what is wrong. If the governance sidecar cannot be reached the DAG is
rejected too (fail closed).

Only Airflow's policy loader should import this module: importing it before ``airflow`` would
make Airflow's initialisation register it half-imported (without its hooks).
"""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.policies import hookimpl
from airflow.sdk.definitions.context import KNOWN_CONTEXT_KEYS
from airflow.sdk.definitions.mappedoperator import MappedOperator

from airflow_ai_governance.exceptions import AuditChainBroken, SidecarUnavailable
from airflow_ai_governance.gates.dataflow import (
    DATA_FIELDS,
    TEXT_FIELDS,
    Source,
    callable_sources,
    field_sources,
)
from airflow_ai_governance.gates.structure import (
    GovernedTask,
    parse_inline_gates,
    registry,
    structure_problems,
)
from airflow_ai_governance.keys import KeyMissing


def _governance(task: Any) -> tuple[str | None, Any, Any]:
    """(gate, use case, inline gates) of a task; a mapped task keeps them in its ``partial()``."""
    if isinstance(task, MappedOperator):  # the operator's class and its partial() arguments
        kwargs = task.partial_kwargs
        gate = getattr(task.operator_class, "governance_gate", None)
        return gate, kwargs.get("use_case"), kwargs.get("inline_gates")
    return (
        getattr(task, "governance_gate", None),
        getattr(task, "use_case", None),
        getattr(task, "inline_gates", None),
    )


def _ai_fields(task: Any) -> tuple[list[tuple[str, str, Any]], Any, int, set[str]]:
    """An AI task's data and text fields as ``(field, label, value)`` (mapped values included),
    its callable, how many positional arguments it is given and the keyword names bound by the DAG."""
    wanted = [f for f in task.template_fields if f in DATA_FIELDS or f in TEXT_FIELDS]
    fields: list[tuple[str, str, Any]]
    bound: set[str] = set()
    if isinstance(task, MappedOperator):
        fields = [(f, f, task.partial_kwargs.get(f)) for f in wanted]
        func = task.partial_kwargs.get("python_callable") or getattr(task, "python_callable", None)
        expand = getattr(task, "op_kwargs_expand_input", None)  # @task.governed(...).expand(...)
        mapped = expand.value if expand is not None else task.expand_input.value
        if expand is not None:
            fields.append(("op_kwargs", "op_kwargs (expand)", mapped))
            bound |= set(mapped) if isinstance(mapped, dict) else set()
        elif isinstance(mapped, dict):
            fields += [(name, f"{name} (expand)", value) for name, value in mapped.items()]
        else:  # expand_kwargs(): every field may be mapped
            fields.append(("op_kwargs", "expand_kwargs", mapped))
    else:
        fields = [(f, f, getattr(task, f, None)) for f in wanted]
        func = getattr(task, "python_callable", None)
    positional = 0
    for name, _label, value in fields:
        if name == "op_kwargs" and isinstance(value, dict):
            bound |= {k for k in value if isinstance(k, str)}
        if name == "op_args" and isinstance(value, list | tuple):
            positional = max(positional, len(value))
    return [f for f in fields if f[2] is not None], func, positional, bound


def _sources(dag: Any, task: Any) -> tuple[Source, ...]:
    """Where an AI task's data arguments come from (see ``gates/dataflow.py``)."""
    fields, func, positional, bound = _ai_fields(task)
    found = list(field_sources(fields, env=dag.get_template_env()))
    found += callable_sources(func, positional=positional, bound=bound, context_keys=KNOWN_CONTEXT_KEYS)
    return tuple(found)


def governed_tasks(dag: Any) -> tuple[list[GovernedTask], list[str]]:
    """The DAG's governed tasks, and problems that make a task impossible to check."""
    tasks, problems = [], []
    for task in dag.tasks:
        gate, use_case, inline = _governance(task)
        if not gate:
            continue
        if not isinstance(use_case, str) or not use_case:
            problems.append(
                f"DAG {dag.dag_id!r}, task {task.task_id!r}: a governed task needs a literal use_case "
                "(give it to partial(), not expand(), when the task is mapped)"
            )
            continue
        tasks.append(
            GovernedTask(
                task_id=task.task_id,
                gate=gate,
                use_case=use_case,
                upstream=frozenset(task.get_flat_relative_ids(upstream=True)),
                downstream=frozenset(task.get_flat_relative_ids(upstream=False)),
                inline=parse_inline_gates(inline),
                sources=_sources(dag, task) if gate == "ai_task" else (),
            )
        )
    return tasks, problems


def check_dag(dag: Any) -> None:
    """Raise ``AirflowClusterPolicyViolation`` listing every governance problem of ``dag``."""
    tasks, problems = governed_tasks(dag)
    if not tasks and not problems:
        return
    try:
        problems += structure_problems(dag.dag_id, tasks, registry)
    except (SidecarUnavailable, AuditChainBroken, KeyMissing) as exc:  # down, tampered registry, no key
        raise AirflowClusterPolicyViolation(
            f"DAG {dag.dag_id!r} has governed tasks but their policies cannot be checked: {exc}"
        ) from exc
    if problems:
        raise AirflowClusterPolicyViolation("AI governance: " + "; ".join(problems))


@hookimpl
def dag_policy(dag: Any) -> None:
    check_dag(dag)
