"""What every governed operator shares: the use case, the gate it is, preflight, error mapping,
and the gates an AI task may run inside itself (``inline_gates``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk.exceptions import AirflowFailException

from airflow_ai_governance.exceptions import (
    GateFailure,
    OutputStandardFailed,
    PolicyError,
    UseCaseNotRunnable,
)
from airflow_ai_governance.gates import GovernedRunContext, TaskRef, finish, preflight, resume
from airflow_ai_governance.gates.boundary import (
    AI_INPUT_CHECK,
    CHECK,
    enforce_boundary,
    input_ref,
    refuse_ai_input,
)
from airflow_ai_governance.gates.output_standard import enforce_output_standard
from airflow_ai_governance.gates.structure import parse_inline_gates

if TYPE_CHECKING:
    from logging import Logger

    from airflow.sdk import Context

#: The DAG tag that marks a production DAG: only use cases in ``production`` may run in it.
PRODUCTION_TAG = "production"
#: XCom keys of the output-standard gate (its own task, or inline in the AI task).
REPORT_XCOM_KEY = "output_standard_report"
QUARANTINE_XCOM_KEY = "quarantined"


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


def closed_by_gate(exc: BaseException) -> bool:
    """Whether ``exc`` is a gate's refusal: the gate already closed the run record as ``blocked``."""
    return isinstance(exc, GateFailure) or isinstance(exc.__cause__, GateFailure)


class GovernedMixin:
    """Mixed into every governed operator; the cluster policy reads ``governance_gate``/``use_case``
    (and ``inline_gates`` of an AI task)."""

    governance_gate: ClassVar[str]
    use_case: str
    inline_gates: frozenset[str] = frozenset()
    inputs: list[Any]
    if TYPE_CHECKING:
        log: Logger

    def governance_preflight(self, context: Context) -> GovernedRunContext:
        with gate_errors():
            return preflight(self.use_case, task_ref(context), gate=self.governance_gate)

    def governance_resume(self, context: Context, governed_run_id: str) -> GovernedRunContext:
        with gate_errors():
            return resume(governed_run_id, task_ref(context), gate=self.governance_gate)

    # ----------------------------------------------------------------- gates inside the AI task
    def set_inline_gates(
        self, inline_gates: bool | str | Iterable[str] | None, inputs: Sequence[Any]
    ) -> None:
        """Run ``inline_gates`` inside this AI task; ``inputs`` are checked by the data-boundary gate."""
        self.inline_gates = parse_inline_gates(inline_gates)
        self.inputs = list(inputs)
        if self.inputs and "data_boundary" not in self.inline_gates:
            raise ValueError(
                f"{getattr(self, 'task_id', type(self).__name__)}: `inputs` are checked by the data-boundary "
                "gate; run it inline (inline_gates=['data_boundary']) or give the inputs to the "
                "DataBoundaryOperator upstream"
            )

    def check_boundary(
        self,
        run: GovernedRunContext,
        data: Any,
        inputs: list[str],
        *,
        close_run: bool,
        check: str = CHECK,
    ) -> Any:
        """The data-boundary gate: returns ``data`` as it may pass on (redacted where the policy says).

        The check is committed to the sidecar before this returns; a violation closes the run as
        ``blocked`` and fails the task without retry.
        """
        with gate_errors():
            outcome = enforce_boundary(run, data, inputs, close_run=close_run, check=check)
        self.log.info(
            "Data boundary (%s) of %s: %s (%d finding(s): %s)",
            check,
            self.use_case,
            outcome.outcome,
            outcome.findings,
            outcome.summary,
        )
        return outcome.data

    def check_inputs_inline(self, run: GovernedRunContext, data: Any) -> Any:
        """The data-boundary gate inside the AI task, on what the model will see (run left open)."""
        return self.check_boundary(run, data, [input_ref(i) for i in self.inputs], close_run=False)

    def guard_ai_input(self, run: GovernedRunContext, data: Any) -> Any:
        """The use case's boundary on exactly what the AI callable or model is about to receive.

        Always applied, after template rendering and XCom resolution: with the data-boundary gate
        inline this *is* that gate (``data_boundary``, approved ``inputs`` checked too); with the
        gate as its own task upstream it is applied again (``ai_input_boundary``: masks written
        upstream are not findings), so a value that reached the task another way (a template over
        ``params`` or ``dag_run.conf``, a literal, another task's XCom) is blocked, redacted or
        recorded as the policy says before the call. Returns what may be passed on.
        """
        if "data_boundary" in self.inline_gates:
            return self.check_inputs_inline(run, data)
        return self.check_boundary(run, data, [], close_run=False, check=AI_INPUT_CHECK)

    def refuse_ai_input(self, run: GovernedRunContext, message: str, details: dict[str, Any]) -> None:
        """Refuse an AI input outright (recorded as the failed boundary check, no retry)."""
        check = CHECK if "data_boundary" in self.inline_gates else AI_INPUT_CHECK
        with gate_errors():
            refuse_ai_input(run, message, details, check=check)

    def check_output_standard(
        self, context: Context, run: GovernedRunContext, output: Any, run_fields: dict[str, Any] | None = None
    ) -> Any:
        """The output-standard gate: validate, record, close the run; returns what passes on.

        The report goes to XCom (``output_standard_report``) when the output fails or is
        quarantined (quarantined rows under ``quarantined``); on a pass it is in the sidecar.
        """
        ti = context["ti"]
        with gate_errors():
            try:
                result = enforce_output_standard(run, output, run_fields=run_fields)
            except OutputStandardFailed as exc:
                ti.xcom_push(key=REPORT_XCOM_KEY, value=exc.details)
                raise
        if result.quarantined:
            ti.xcom_push(key=REPORT_XCOM_KEY, value=result.report)
            ti.xcom_push(key=QUARANTINE_XCOM_KEY, value=result.quarantined)
            self.log.warning(
                "%d row(s) quarantined by the output standard of %s", len(result.quarantined), self.use_case
            )
        return result.output

    def close_ai_run(
        self, context: Context, run: GovernedRunContext, output: Any, fields: dict[str, Any]
    ) -> Any:
        """Close the AI task's run record with the call's figures; with the output-standard gate
        inline, the output must pass it first. Returns what passes on."""
        if "output_standard" in self.inline_gates:
            return self.check_output_standard(context, run, output, run_fields=fields)
        finish(run, "success", **fields)
        return output

    def fail_run(self, run: GovernedRunContext, exc: BaseException, **fields: Any) -> None:
        """Close the step's run as ``failed`` (unless a gate already closed it as ``blocked``), so no
        run record is left ``running`` by an error between preflight and the gate's own record."""
        if not closed_by_gate(exc):
            finish(run, "failed", details={"gate": run.gate, "error": type(exc).__name__}, **fields)
