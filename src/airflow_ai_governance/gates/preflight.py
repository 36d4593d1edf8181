"""Preflight, shared by every governed task: may this use case run here, now, under which policy?

Fail closed: an unknown use case, a state that does not allow the run, or an unreachable sidecar
raise before any AI call; a refused attempt is itself written to the audit log when the sidecar
can be reached.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, NoReturn

from airflow_ai_governance.exceptions import GateFailure, RegistryTampered, UseCaseNotRunnable
from airflow_ai_governance.policy import RUNNABLE_STATES, LifecycleState, UseCasePolicy
from airflow_ai_governance.store import (
    DB,
    GovernedRun,
    append_event,
    finish_run,
    record_check,
    session_scope,
    start_run,
)
from airflow_ai_governance.store.integrity import check_use_case
from airflow_ai_governance.store.registry import current_policy, get_use_case, policy_version

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TaskRef:
    """Where a governed step runs: the Airflow task instance (no Airflow import needed)."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int = 1
    map_index: int = -1
    dag_version: str | None = None
    production: bool = False  # the DAG is tagged `production`: only production use cases may run

    def as_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
        }


@dataclass(frozen=True, slots=True)
class GovernedRunContext:
    """What preflight established; carried through one governed step."""

    use_case_id: str
    policy: UseCasePolicy
    policy_version: int
    state: LifecycleState
    governed_run_id: str
    task: TaskRef
    gate: str
    db: str | None = None


def runnable_problem(use_case_id: str, state: LifecycleState, production: bool) -> str | None:
    """Why a use case in ``state`` may not run (``None`` when it may)."""
    if state not in RUNNABLE_STATES:
        hint = {
            LifecycleState.RETIRED: "it is retired; retirement is final",
            LifecycleState.SUSPENDED: "it is suspended; resume it with `aigov promote ... --to production`",
        }.get(state, f"promote it to pilot or production first (`aigov promote {use_case_id} --to pilot`)")
        return f"use case {use_case_id!r} is {state}: governed tasks run only in pilot or production ({hint})"
    if production and state is not LifecycleState.PRODUCTION:
        return (
            f"use case {use_case_id!r} is {state}, but this DAG is tagged `production`: only use cases in "
            "production may run here; promote it after its go-live checklist passes"
        )
    return None


def preflight(use_case_id: str, task: TaskRef, *, gate: str, db: str | None = None) -> GovernedRunContext:
    """Resolve the use case and its current policy, check the lifecycle state, open the run record.

    Raises :class:`~airflow_ai_governance.exceptions.UseCaseNotFound`,
    :class:`~airflow_ai_governance.exceptions.UseCaseNotRunnable` or
    :class:`~airflow_ai_governance.exceptions.SidecarUnavailable`.
    """
    try:
        return _preflight(use_case_id, task, gate=gate, db=db)
    except RegistryTampered as exc:  # its transaction was rolled back: record the refusal on its own
        append_event(
            db,
            event_type="run_refused",
            actor="airflow",
            use_case_id=use_case_id,
            payload={**task.as_dict(), "gate": gate, "reason": str(exc)[:2000]},
        )
        raise


def _preflight(use_case_id: str, task: TaskRef, *, gate: str, db: str | None) -> GovernedRunContext:
    with session_scope(db) as session:  # one transaction: the check and the run record (or refusal)
        row, policy = current_policy(session, use_case_id)
        state, version = LifecycleState(row.state), row.current_version
        problem = runnable_problem(use_case_id, state, task.production)
        if problem:
            append_event(
                session,
                event_type="run_refused",
                actor="airflow",
                use_case_id=use_case_id,
                payload={**task.as_dict(), "gate": gate, "state": str(state), "reason": problem},
            )
        else:
            run_id = start_run(
                session,
                use_case_id=use_case_id,
                policy_version=version,
                dag_id=task.dag_id,
                run_id=task.run_id,
                task_id=task.task_id,
                try_number=task.try_number,
                map_index=task.map_index,
                dag_version=task.dag_version,
                details={"gate": gate, "tier": int(policy.tier), "state": str(state)},
            )
    if problem:
        raise UseCaseNotRunnable(f"{task.dag_id}.{task.task_id}: {problem}")
    return GovernedRunContext(use_case_id, policy, version, state, run_id, task, gate, db)


def resume(governed_run_id: str, task: TaskRef, *, gate: str, db: str | None = None) -> GovernedRunContext:
    """Rebuild the context of a run that waited (e.g. for a reviewer), under its pinned policy version.

    The lifecycle state is checked again: a use case retired or suspended while a run waited for
    its approval does not go on.
    """
    with session_scope(db) as session:
        run = session.get(GovernedRun, governed_run_id)
        if run is None:
            raise LookupError(f"no governed run {governed_run_id!r} in the sidecar")
        row = get_use_case(session, run.use_case_id)
        pinned = policy_version(session, run.use_case_id, run.policy_version)
        # The state and the pinned version must be the chain's (fail closed).
        check_use_case(session, row, pinned=(run.policy_version, pinned))
        state = LifecycleState(row.state)
        ctx = GovernedRunContext(
            run.use_case_id,
            pinned,
            run.policy_version,
            state,
            run.id,
            task,
            gate,
            db,
        )
    problem = runnable_problem(ctx.use_case_id, state, task.production)
    if problem:
        finish(ctx, "refused", details={"gate": gate, "reason": problem})
        raise UseCaseNotRunnable(f"{task.dag_id}.{task.task_id}: {problem}")
    return ctx


def record_gate_check(
    ctx: GovernedRunContext,
    outcome: str,
    details: dict[str, Any],
    db: DB = None,
    *,
    check: str,
) -> None:
    """A gate's check result (``check``: the gate's name) on the run record of ``ctx``'s step,
    which is the AI task's own when the gate runs inline."""
    record_check(
        db or ctx.db,
        use_case_id=ctx.use_case_id,
        check=check,
        outcome=outcome,
        governed_run_id=ctx.governed_run_id,
        details=details,
    )


def block(
    ctx: GovernedRunContext,
    error: type[GateFailure],
    message: str,
    details: dict[str, Any],
    *,
    check: str,
) -> NoReturn:
    """Record the failed ``check``, close the run as ``blocked`` (one transaction), raise ``error``."""
    with session_scope(ctx.db) as session:
        record_gate_check(ctx, "fail", details, session, check=check)
        finish(ctx, "blocked", session, details={"gate": ctx.gate, "check": check, "reason": message[:2000]})
    raise error(message, details)


def finish(ctx: GovernedRunContext, status: str, db: DB = None, **fields: Any) -> None:
    """Close the run record with its final status and figures (in ``db``'s transaction if a Session)."""
    finish_run(db or ctx.db, ctx.governed_run_id, status, **fields)


def _hash_default(value: Any) -> Any:
    if type(value).__name__ == "DataFrame":
        return value.to_dict(orient="records")
    for attr, kwargs in (("model_dump", {"mode": "json"}), ("item", {}), ("isoformat", {})):
        method = getattr(value, attr, None)
        if callable(method):
            return method(**kwargs)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return repr(value)


def output_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (records, DataFrames, pydantic models, scalars).

    This is what an approval is bound to: any change to the output changes the hash.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_hash_default)
    return hashlib.sha256(text.encode()).hexdigest()
