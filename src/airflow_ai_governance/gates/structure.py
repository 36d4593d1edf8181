"""Does a DAG contain every gate its governed tasks' tiers require? (Checked at parse time.)"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from airflow_ai_governance.exceptions import UseCaseNotFound
from airflow_ai_governance.policy import LifecycleState, UseCasePolicy
from airflow_ai_governance.store import session_scope
from airflow_ai_governance.store.registry import current_policy

GATE_OPERATORS = {
    "data_boundary": "DataBoundaryCheckOperator",
    "output_standard": "OutputStandardOperator",
    "human_approval": "GovernanceApprovalOperator",
}


@dataclass(frozen=True, slots=True)
class GovernedTask:
    """What the check needs of a task: its gate, use case and relatives (all, transitively)."""

    task_id: str
    gate: str
    use_case: str
    upstream: frozenset[str]
    downstream: frozenset[str]


Lookup = Callable[[str], tuple[LifecycleState, UseCasePolicy] | None]


def structure_problems(dag_id: str, tasks: Iterable[GovernedTask], lookup: Lookup) -> list[str]:
    """One message per missing gate, unknown or retired use case (empty: the DAG is compliant)."""
    tasks = list(tasks)
    problems: list[str] = []
    by_id = {t.task_id: t for t in tasks}
    seen: dict[str, tuple[LifecycleState, UseCasePolicy] | None] = {}
    for task in tasks:
        if task.use_case not in seen:
            seen[task.use_case] = lookup(task.use_case)
        found = seen[task.use_case]
        where = f"DAG {dag_id!r}, task {task.task_id!r} (use case {task.use_case!r})"
        if found is None:
            problems.append(f"{where}: unknown use case; register its policy with `aigov policy sync`")
            continue
        state, policy = found
        if state is LifecycleState.RETIRED:
            problems.append(f"{where}: the use case is retired and can no longer run")
            continue
        if task.gate != "ai_task":
            continue
        gates = policy.effective_gates
        for gate, operator in GATE_OPERATORS.items():
            if not getattr(gates, gate):
                continue
            relatives = task.upstream if gate == "data_boundary" else task.downstream
            side = "upstream" if gate == "data_boundary" else "downstream"
            if not any(
                (other := by_id.get(rel)) and other.gate == gate and other.use_case == task.use_case
                for rel in relatives
            ):
                problems.append(
                    f"{where}, tier {int(policy.tier)}: missing gate {gate}: add a "
                    f"{operator}(use_case={task.use_case!r}) {side} of it, or build the DAG with governed_workflow()"
                )
    return problems


class CachedRegistry:
    """Registry look-ups for the parse-time check, cached for ``ttl`` seconds per process."""

    def __init__(self, ttl: float = 30.0, db: str | None = None) -> None:
        self.ttl = ttl
        self.db = db
        self._cache: dict[str, tuple[float, tuple[LifecycleState, UseCasePolicy] | None]] = {}

    def __call__(self, use_case_id: str) -> tuple[LifecycleState, UseCasePolicy] | None:
        now = time.monotonic()
        hit = self._cache.get(use_case_id)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        try:
            with session_scope(self.db, readonly=True) as session:
                row, policy = current_policy(session, use_case_id)
                value: tuple[LifecycleState, UseCasePolicy] | None = (LifecycleState(row.state), policy)
        except UseCaseNotFound:
            value = None
        self._cache[use_case_id] = (now, value)
        return value

    def clear(self) -> None:
        self._cache.clear()


#: The process-wide cache used by the cluster policy and ``governed_workflow()``.
registry = CachedRegistry(ttl=float(os.environ.get("AIRFLOW__AI_GOVERNANCE__POLICY_CACHE_SECONDS", "30")))
