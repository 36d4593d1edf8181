"""Cluster policy (entry point ``airflow.policy``): reject governed DAGs that lack required gates.

Runs wherever Airflow parses DAGs. A DAG whose governed AI task lacks a gate its tier requires,
or that names an unknown or retired use case, fails to load with a message naming the DAG, the
task, the use case and the missing gate. If the governance sidecar cannot be reached the DAG is
rejected too (fail closed).

Only Airflow's policy loader should import this module: importing it before ``airflow`` would
make Airflow's initialisation register it half-imported (without its hooks).
"""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.policies import hookimpl
from airflow.sdk.definitions.mappedoperator import MappedOperator

from airflow_ai_governance.exceptions import AuditChainBroken, SidecarUnavailable
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
