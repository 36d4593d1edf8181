"""``OutputStandardOperator``: the AI output must meet the policy's output standard (GX 1.x)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_ai_governance.exceptions import OutputStandardFailed
from airflow_ai_governance.gates.output_standard import enforce_output_standard
from airflow_ai_governance.operators.base import GovernedMixin, gate_errors

if TYPE_CHECKING:
    from airflow.sdk import Context

REPORT_XCOM_KEY = "output_standard_report"
QUARANTINE_XCOM_KEY = "quarantined"


class OutputStandardOperator(GovernedMixin, BaseOperator):
    """Validate ``output`` (records, a record or a DataFrame) against the use case's output standard.

    The suite is built from the policy (schema, types, ranges, lengths, patterns, allowed values,
    custom expectations). On success the output passes on unchanged. On failure the task fails
    without retry, after pushing the report (failed expectations, counts, row indexes) to XCom under
    ``output_standard_report``; with ``on_failure: quarantine`` the valid rows pass on and the
    others go to XCom under ``quarantined``.
    """

    governance_gate = "output_standard"
    template_fields: Sequence[str] = ("ai_output",)
    template_fields_renderers = {"ai_output": "json"}
    ui_color = "#e6fcf5"

    def __init__(self, *, use_case: str, ai_output: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_case = use_case
        self.ai_output = ai_output

    def execute(self, context: Context) -> Any:
        ctx = self.governance_preflight(context)
        ti = context["ti"]
        with gate_errors():
            try:
                result = enforce_output_standard(ctx, self.ai_output)
            except OutputStandardFailed as exc:
                ti.xcom_push(key=REPORT_XCOM_KEY, value=exc.details)
                raise
        ti.xcom_push(key=REPORT_XCOM_KEY, value=result.report)
        if result.quarantined:
            ti.xcom_push(key=QUARANTINE_XCOM_KEY, value=result.quarantined)
            self.log.warning(
                "%d row(s) quarantined by the output standard of %s", len(result.quarantined), self.use_case
            )
        return result.output
