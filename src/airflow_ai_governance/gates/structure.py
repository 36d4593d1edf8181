"""Does a DAG contain every gate its governed tasks' tiers require? (Checked at parse time.)"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from airflow_ai_governance.exceptions import UseCaseNotFound
from airflow_ai_governance.gates.dataflow import Source, flow_problems
from airflow_ai_governance.policy import LifecycleState, UseCasePolicy
from airflow_ai_governance.store import session_scope
from airflow_ai_governance.store.registry import current_policy

GATE_OPERATORS = {
    "data_boundary": "DataBoundaryOperator",
    "output_standard": "OutputStandardOperator",
    "human_approval": "HumanApprovalOperator",
}

#: Gates an AI task can run inside itself (``inline_gates=``). Human approval waits for a person
#: and is always its own task.
INLINE_GATES: tuple[str, ...] = ("data_boundary", "output_standard")


def parse_inline_gates(value: bool | str | Iterable[str] | None) -> frozenset[str]:
    """``True`` -> every inline-able gate, ``False``/``None`` -> none, else the named gates.

    Raises ``ValueError`` naming what is wrong (an unknown gate, or one that cannot run inline).
    """
    if value is None or value is False:
        return frozenset()
    if value is True:
        return frozenset(INLINE_GATES)
    names = [value] if isinstance(value, str) else list(value)
    wrong = [n for n in names if n not in INLINE_GATES]
    if wrong:
        why = (
            "human_approval waits for a reviewer and is always its own HumanApprovalOperator task"
            if "human_approval" in wrong
            else f"unknown gate(s) {', '.join(map(repr, wrong))}"
        )
        raise ValueError(
            f"inline_gates: {why}; gates that can run inside the AI task: {', '.join(INLINE_GATES)} "
            "(or True for both)"
        )
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class GovernedTask:
    """What the check needs of a task: its gate, use case and relatives (all, transitively)."""

    task_id: str
    gate: str
    use_case: str
    upstream: frozenset[str]
    downstream: frozenset[str]
    inline: frozenset[str] = field(default_factory=frozenset)  # gates the task runs inside itself
    #: where an AI task's data arguments come from (see :mod:`.dataflow`)
    sources: tuple[Source, ...] = ()


Lookup = Callable[[str], tuple[LifecycleState, UseCasePolicy] | None]


def structure_problems(dag_id: str, tasks: Iterable[GovernedTask], lookup: Lookup) -> list[str]:
    """One message per missing gate, unknown or retired use case, and AI data argument that does not
    come from the use case's data boundary (empty: the DAG is compliant)."""
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
        problems += flow_problems(
            where,
            task.sources,
            use_case=task.use_case,
            boundaries={
                t.task_id for t in tasks if t.gate == "data_boundary" and t.use_case == task.use_case
            },
            upstream=task.upstream,
            inline_boundary="data_boundary" in task.inline,
        )
        gates = policy.effective_gates
        for gate, operator in GATE_OPERATORS.items():
            if not getattr(gates, gate) or gate in task.inline:
                continue
            relatives = task.upstream if gate == "data_boundary" else task.downstream
            side = "upstream" if gate == "data_boundary" else "downstream"
            if not any(
                (other := by_id.get(rel)) and other.gate == gate and other.use_case == task.use_case
                for rel in relatives
            ):
                inline = f", run it inside the task (inline_gates=[{gate!r}])" if gate in INLINE_GATES else ""
                problems.append(
                    f"{where}, tier {int(policy.tier)}: missing gate {gate}: add a "
                    f"{operator}(use_case={task.use_case!r}) {side} of it{inline}, or build the DAG with "
                    "governed_workflow()"
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
