"""Output standards: validate AI outputs against the policy with Great Expectations 1.x core.

Importing this package is cheap: Great Expectations (and pandas) are imported on the first call
that needs them, and the GX context and suites are then cached for the process.

::

    from airflow_ai_governance.quality import validate_output, split_valid_rows

    report = validate_output(rows, policy.output_standard, name=policy.id)
    if report.success:
        ...
    elif report.on_failure == "quarantine":
        good, bad = split_valid_rows(rows, report)
    else:
        report.raise_for_failure()  # OutputStandardFailed, details=report.to_dict()
"""

from __future__ import annotations

from airflow_ai_governance.quality.combined import COMBINED_EXPECTATION, FIELD_TYPE_EXPECTATION
from airflow_ai_governance.quality.report import FailedExpectation, ValidationReport
from airflow_ai_governance.quality.suite import (
    ExpectationSpec,
    build_expectations,
    build_suite,
    build_verdict_suite,
    expectation_specs,
)
from airflow_ai_governance.quality.types import matches_field_type
from airflow_ai_governance.quality.validation import split_valid_rows, to_frame, validate_output

__all__ = [
    "COMBINED_EXPECTATION",
    "FIELD_TYPE_EXPECTATION",
    "ExpectationSpec",
    "FailedExpectation",
    "ValidationReport",
    "build_expectations",
    "build_suite",
    "build_verdict_suite",
    "expectation_specs",
    "matches_field_type",
    "split_valid_rows",
    "to_frame",
    "validate_output",
]
