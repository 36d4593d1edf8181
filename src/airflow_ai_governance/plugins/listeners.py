"""Listeners: task failures and DAG-run outcomes of governed DAGs into the audit log, and the
failure notifications along the escalation path (:mod:`airflow_ai_governance.notifications`).

Task hooks run in the task's process (worker), DAG-run hooks in the scheduler; both reach the
sidecar through its URL, never through Airflow's ORM. A failed run of a tier-2/3 use case opens
an escalation to the first contact of its escalation path. Listener errors are logged, never
raised: a listener must not change a task's outcome.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)


def _task_failed(task_instance: Any, error: Any) -> None:
    from airflow_ai_governance.store import append_event

    task = getattr(task_instance, "task", None)
    use_case = getattr(task, "use_case", None)
    if not use_case:
        return
    append_event(
        None,
        event_type="task_failed",
        actor="airflow",
        use_case_id=use_case,
        payload={
            "dag_id": task_instance.dag_id,
            "run_id": task_instance.run_id,
            "task_id": task_instance.task_id,
            "map_index": getattr(task_instance, "map_index", -1),
            "try_number": getattr(task_instance, "try_number", None),
            "gate": getattr(task, "governance_gate", None),
            "error": type(error).__name__ if isinstance(error, BaseException) else str(error)[:500],
        },
    )


def _notify_failure(task_instance: Any, error: Any) -> None:
    """Tell the owner and the first escalation contact that a governed task was blocked, rejected or
    failed (once: not for a try that will be retried)."""
    from airflow_ai_governance.notifications import notify, recipients, run_outcome_kind, run_outcome_subject
    from airflow_ai_governance.plugins.urls import absolute, review_url, task_instance_path
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import current_policy

    task = getattr(task_instance, "task", None)
    use_case = getattr(task, "use_case", None)
    if not use_case or str(getattr(task_instance, "state", "")) == "up_for_retry":
        return
    with session_scope(readonly=True) as session:
        _, policy = current_policy(session, use_case)
    kind = run_outcome_kind(error)
    ti = (
        task_instance.dag_id,
        task_instance.run_id,
        task_instance.task_id,
        getattr(task_instance, "map_index", -1),
    )
    gate = getattr(task, "governance_gate", None)
    link = review_url(*ti) if gate == "human_approval" else absolute(task_instance_path(*ti))
    cause = error.__cause__ if isinstance(error, BaseException) and error.__cause__ else error
    reason = (
        str(cause)[:500] if kind != "run_failed" else type(cause).__name__
    )  # gate messages carry no values
    notify(
        kind,
        policy=policy,
        contacts=recipients(kind, policy),
        subject=run_outcome_subject(policy, kind, ti[0], ti[2]),
        message=(
            f"Governed task {ti[2]} of DAG {ti[0]} (run {ti[1]}, gate {gate or '-'}) of use case {policy.id}: "
            f"{reason}.\nYou are on its escalation path: decide what happens next (fix and re-run, or escalate)."
        ),
        link=link,
    )


def _dag_run_finished(dag_run: Any, outcome: str) -> None:
    from airflow_ai_governance.gates.outcomes import record_dag_run_outcome

    record_dag_run_outcome(dag_run.dag_id, dag_run.run_id, outcome)


def _safely(what: str, fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("AI governance listener could not record %s", what)


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    _safely("a task failure", _task_failed, task_instance, error)
    _safely("a failure notification", _notify_failure, task_instance, error)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _safely("a DAG-run outcome", _dag_run_finished, dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _safely("a DAG-run outcome", _dag_run_finished, dag_run, "failed")
