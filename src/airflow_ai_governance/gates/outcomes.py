"""DAG-run outcomes of governed DAGs: an audit event per use case, an escalation when tier 2/3 fails."""

from __future__ import annotations

import sqlalchemy as sa

from airflow_ai_governance.gates.approval import escalate
from airflow_ai_governance.gates.preflight import GovernedRunContext, TaskRef
from airflow_ai_governance.policy import LifecycleState
from airflow_ai_governance.store import GovernedRun, append_event, session_scope
from airflow_ai_governance.store.registry import policy_version


def record_dag_run_outcome(dag_id: str, run_id: str, outcome: str, db: str | None = None) -> list[str]:
    """Record the outcome for each use case that ran governed tasks in this DAG run.

    Returns the use cases for which an escalation was opened. A DAG run without governed tasks
    leaves no trace.
    """
    stmt = (
        sa.select(GovernedRun.use_case_id, sa.func.max(GovernedRun.policy_version))
        .where(GovernedRun.dag_id == dag_id, GovernedRun.run_id == run_id)
        .group_by(GovernedRun.use_case_id)
        .order_by(GovernedRun.use_case_id)
    )
    with session_scope(db, readonly=True) as session:
        versions: list[tuple[str, int]] = [(u, int(v)) for u, v in session.execute(stmt).all()]
    escalated = []
    for use_case_id, version in versions:
        append_event(
            db,
            event_type=f"dag_run_{outcome}",
            actor="airflow",
            use_case_id=use_case_id,
            payload={"dag_id": dag_id, "run_id": run_id, "policy_version": version},
        )
        if outcome != "failed":
            continue
        with session_scope(db, readonly=True) as session:
            policy = policy_version(session, use_case_id, version)
        if int(policy.tier) >= 2:
            ctx = GovernedRunContext(
                use_case_id,
                policy,
                version,
                LifecycleState.PRODUCTION,
                "",
                TaskRef(dag_id, run_id, ""),
                "dag_run",
                db,
            )
            if escalate(ctx, 1, f"DAG run {dag_id}/{run_id} failed") is not None:
                escalated.append(use_case_id)
    return escalated
