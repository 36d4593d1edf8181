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

from airflow_ai_governance.exceptions import SidecarUnavailable
from airflow_ai_governance.gates.structure import GovernedTask, registry, structure_problems


def governed_tasks(dag: Any) -> list[GovernedTask]:
    tasks = []
    for task in dag.tasks:
        gate = getattr(task, "governance_gate", None)
        use_case = getattr(task, "use_case", None)
        if gate and use_case:
            tasks.append(
                GovernedTask(
                    task_id=task.task_id,
                    gate=gate,
                    use_case=use_case,
                    upstream=frozenset(task.get_flat_relative_ids(upstream=True)),
                    downstream=frozenset(task.get_flat_relative_ids(upstream=False)),
                    inline=frozenset(getattr(task, "inline_gates", None) or ()),
                )
            )
    return tasks


def check_dag(dag: Any) -> None:
    """Raise ``AirflowClusterPolicyViolation`` listing every governance problem of ``dag``."""
    tasks = governed_tasks(dag)
    if not tasks:
        return
    try:
        problems = structure_problems(dag.dag_id, tasks, registry)
    except SidecarUnavailable as exc:
        raise AirflowClusterPolicyViolation(
            f"DAG {dag.dag_id!r} has governed tasks but their policies cannot be checked: {exc}"
        ) from exc
    if problems:
        raise AirflowClusterPolicyViolation("AI governance: " + "; ".join(problems))


@hookimpl
def dag_policy(dag: Any) -> None:
    check_dag(dag)
