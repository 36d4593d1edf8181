"""What every governed operator shares: the use case, the gate it is, preflight, error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

from airflow.sdk.exceptions import AirflowFailException

from airflow_ai_governance.exceptions import GateFailure, PolicyError, UseCaseNotRunnable
from airflow_ai_governance.gates import GovernedRunContext, TaskRef, preflight, resume

if TYPE_CHECKING:
    from airflow.sdk import Context

#: The DAG tag that marks a production DAG: only use cases in ``production`` may run in it.
PRODUCTION_TAG = "production"


def task_ref(context: Context) -> TaskRef:
    """The Airflow task instance of ``context`` as a :class:`TaskRef`."""
    ti = context["ti"]
    dag = context["dag"]
    version = getattr(ti, "dag_version_id", None)
    return TaskRef(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        try_number=int(getattr(ti, "try_number", 1) or 1),
        map_index=-1 if getattr(ti, "map_index", None) is None else int(ti.map_index),
        dag_version=str(version) if version else None,
        production=PRODUCTION_TAG in (dag.tags or ()),
    )


@contextmanager
def gate_errors() -> Iterator[None]:
    """Map governance refusals to ``AirflowFailException`` (no retry); let retryable errors through.

    A sidecar that is down (:class:`SidecarUnavailable`) stays a normal exception, so the task's
    retries apply; a violation, an unknown use case or a run the lifecycle forbids cannot be
    fixed by retrying.
    """
    try:
        yield
    except (GateFailure, UseCaseNotRunnable, PolicyError) as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


class GovernedMixin:
    """Mixed into every governed operator; the cluster policy reads ``governance_gate``/``use_case``."""

    governance_gate: ClassVar[str]
    use_case: str

    def governance_preflight(self, context: Context) -> GovernedRunContext:
        with gate_errors():
            return preflight(self.use_case, task_ref(context), gate=self.governance_gate)

    def governance_resume(self, context: Context, governed_run_id: str) -> GovernedRunContext:
        with gate_errors():
            return resume(governed_run_id, task_ref(context), gate=self.governance_gate)
