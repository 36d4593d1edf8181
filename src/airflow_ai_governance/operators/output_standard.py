"""``OutputStandardOperator``: the AI output must meet the policy's output standard (GX 1.x)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_ai_governance.operators.base import QUARANTINE_XCOM_KEY, REPORT_XCOM_KEY, GovernedMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["QUARANTINE_XCOM_KEY", "REPORT_XCOM_KEY", "OutputStandardOperator"]


class OutputStandardOperator(GovernedMixin, BaseOperator):
    """Validate ``output`` (records, a record or a DataFrame) against the use case's output standard.

    The suite is built from the policy (schema, types, ranges, lengths, patterns, allowed values,
    custom expectations). On success the output passes on unchanged (the report is in the
    sidecar). On failure the task fails without retry, after pushing the report (failed
    expectations, counts, row indexes) to XCom under ``output_standard_report``; with
    ``on_failure: quarantine`` the valid rows pass on and the others go to XCom under
    ``quarantined`` (the report too).
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
        run = self.governance_preflight(context)
        try:
            return self.check_output_standard(context, run, self.ai_output)
        except BaseException as exc:
            self.fail_run(run, exc)
            raise
