"""The lifecycle state machine of a use case (DESIGN.md section 1).

``proposed -> approved -> pilot -> production -> (suspended <-> production) -> retired``;
any state but ``retired`` may go to ``retired``, and ``retired`` is final.
"""

from __future__ import annotations

from enum import StrEnum

from airflow_ai_governance.exceptions import LifecycleError


class LifecycleState(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    PILOT = "pilot"
    PRODUCTION = "production"
    SUSPENDED = "suspended"
    RETIRED = "retired"


S = LifecycleState

TRANSITIONS: dict[LifecycleState, frozenset[LifecycleState]] = {
    S.PROPOSED: frozenset({S.APPROVED, S.RETIRED}),
    S.APPROVED: frozenset({S.PILOT, S.RETIRED}),
    S.PILOT: frozenset({S.PRODUCTION, S.APPROVED, S.RETIRED}),
    S.PRODUCTION: frozenset({S.SUSPENDED, S.RETIRED}),
    S.SUSPENDED: frozenset({S.PRODUCTION, S.RETIRED}),
    S.RETIRED: frozenset(),
}

#: States in which governed tasks may run at all; production-tagged DAGs need ``production``.
RUNNABLE_STATES: frozenset[LifecycleState] = frozenset({S.PILOT, S.PRODUCTION})

#: The order of states for "ready for" checks (suspended and retired are not targets of readiness).
READINESS_ORDER: tuple[LifecycleState, ...] = (S.PROPOSED, S.APPROVED, S.PILOT, S.PRODUCTION)


def check_transition(use_case_id: str, current: LifecycleState | str, target: LifecycleState | str) -> None:
    """Raise :class:`LifecycleError` unless ``current -> target`` is an allowed transition."""
    cur, tgt = LifecycleState(current), LifecycleState(target)
    if cur is S.RETIRED:
        raise LifecycleError(
            f"Use case {use_case_id!r} is retired; retirement is final and cannot be undone."
        )
    if tgt not in TRANSITIONS[cur]:
        allowed = ", ".join(sorted(TRANSITIONS[cur])) or "none"
        raise LifecycleError(
            f"Use case {use_case_id!r} cannot move from {cur} to {tgt}; allowed from {cur}: {allowed}."
        )


def readiness_target(state: LifecycleState | str) -> LifecycleState:
    """The state whose go-live checklist a use case in ``state`` must satisfy."""
    st = LifecycleState(state)
    if st is S.SUSPENDED:
        return S.PRODUCTION
    if st is S.RETIRED:
        return S.PROPOSED
    return st


def next_target(state: LifecycleState | str) -> LifecycleState:
    """The state whose checklist a registered use case is checked against next:
    proposed -> approved -> pilot -> production (production and suspended against production)."""
    return {S.PROPOSED: S.APPROVED, S.APPROVED: S.PILOT}.get(LifecycleState(state), S.PRODUCTION)
