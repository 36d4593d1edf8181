"""The result of validating an output against its standard: small, frozen, JSON-safe.

Outputs may hold sensitive data, so by default a report carries **counts and row indexes only**:
no unexpected values, no non-numeric observed values, and GX error messages only when they cannot
quote data. ``validate_output(..., include_samples=True)`` adds up to a few unexpected values per
failed expectation, for debugging on non-sensitive data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from airflow_ai_governance.exceptions import OutputStandardFailed

MAX_SAMPLE_CHARS = 120
"""Sample values are cut to this many characters."""

DEFAULT_MAX_INDEXES = 1000
"""``to_dict()`` lists at most this many row indexes per failed expectation (XCom size)."""


def json_safe(value: Any, *, max_chars: int | None = None) -> Any:
    """``value`` as plain JSON types: numpy scalars unwrapped, NaN/inf -> None, dates ISO, others str."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and max_chars is not None and len(value) > max_chars:
            return value[:max_chars] + "..."
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return json_safe(float(value)) if value.is_finite() else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v, max_chars=max_chars) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, max_chars=max_chars) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return json_safe(item(), max_chars=max_chars)
        except (TypeError, ValueError):  # pragma: no cover - exotic numpy scalar
            pass
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp subclasses datetime, NaT does not
    if callable(isoformat) and str(value) != "NaT":
        return str(isoformat())
    if str(value) in ("NaT", "<NA>", "nan"):
        return None
    text = str(value)
    return text if max_chars is None or len(text) <= max_chars else text[:max_chars] + "..."


def is_numeric(value: Any) -> bool:
    """A plain number (not a bool): safe to report as an aggregate statistic."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation the output did not meet.

    ``unexpected_index_list`` holds the 0-based positions of the offending rows for row-level
    (map) expectations; it is ``None`` for table-level ones (row count, column exists, mean, ...)
    and for expectations that could not be evaluated (``error`` set), which concern every row.
    """

    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    source: str | None = None
    description: str | None = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    missing_count: int | None = None
    unexpected_index_list: tuple[int, ...] | None = None
    observed_value: Any = None
    unexpected_samples: tuple[Any, ...] | None = None
    error: str | None = None

    @property
    def table_level(self) -> bool:
        """True when the failure cannot be pinned to rows (so it concerns the whole output)."""
        return self.unexpected_index_list is None

    @property
    def label(self) -> str:
        """``expectation_type(column)``, the short name used in messages."""
        return f"{self.expectation_type}({self.column})" if self.column else self.expectation_type

    def describe(self) -> str:
        """One line: what failed and how badly, without data values."""
        parts = [self.label]
        if self.error:
            parts.append(f"could not be evaluated: {self.error}")
        elif self.unexpected_count is not None and self.element_count is not None:
            parts.append(f"{self.unexpected_count} of {self.element_count} rows")
        elif is_numeric(self.observed_value):
            parts.append(f"observed {self.observed_value}")
        if self.source:
            parts.append(f"[policy: output_standard.{self.source}]")
        return " ".join(parts)

    def to_dict(self, *, max_indexes: int | None = DEFAULT_MAX_INDEXES) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expectation_type": self.expectation_type,
            "column": self.column,
            "kwargs": json_safe(self.kwargs),
            "source": self.source,
            "description": self.description,
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": json_safe(self.unexpected_percent),
            "missing_count": self.missing_count,
            "observed_value": json_safe(self.observed_value, max_chars=MAX_SAMPLE_CHARS),
            "error": self.error,
        }
        indexes = self.unexpected_index_list
        if indexes is not None and max_indexes is not None and len(indexes) > max_indexes:
            data["unexpected_index_list"] = list(indexes[:max_indexes])
            data["unexpected_index_truncated"] = True
        else:
            data["unexpected_index_list"] = list(indexes) if indexes is not None else None
        if self.unexpected_samples is not None:
            data["unexpected_samples"] = json_safe(self.unexpected_samples, max_chars=MAX_SAMPLE_CHARS)
        return data


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`~airflow_ai_governance.quality.validate_output`."""

    name: str
    success: bool
    evaluated: int
    failed: int
    rows: int
    statistics: dict[str, Any] = field(default_factory=dict)
    failures: tuple[FailedExpectation, ...] = ()
    on_failure: str = "block"
    columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    include_samples: bool = False
    duration_ms: float = 0.0

    @property
    def table_level_failures(self) -> tuple[FailedExpectation, ...]:
        return tuple(f for f in self.failures if f.table_level)

    def bad_row_indexes(self) -> frozenset[int] | None:
        """Positions of rows that failed a row-level expectation; ``None`` means every row is bad
        (a table-level failure); empty when the output passed."""
        if self.success:
            return frozenset()
        if self.table_level_failures:
            return None
        bad: set[int] = set()
        for failure in self.failures:
            bad.update(failure.unexpected_index_list or ())
        return frozenset(bad)

    def failures_by_row(self) -> dict[int, list[str]]:
        """Row position -> labels of the row-level expectations it failed (quarantine reasons)."""
        reasons: dict[int, list[str]] = {}
        for failure in self.failures:
            for index in failure.unexpected_index_list or ():
                reasons.setdefault(index, []).append(failure.label)
        return dict(sorted(reasons.items()))

    @property
    def message(self) -> str:
        """A human summary: which expectations failed on which columns, and what to do."""
        if self.success:
            return (
                f"Output of {self.name!r} meets its output standard: {self.evaluated} expectations "
                f"on {self.rows} rows."
            )
        lines = [
            f"Output of {self.name!r} failed its output standard: {self.failed} of {self.evaluated} "
            f"expectations failed on {self.rows} rows (on_failure: {self.on_failure}):"
        ]
        lines.extend(f"  - {f.describe()}" for f in self.failures)
        lines.append(
            "Fix the AI task's output (or, if the standard is wrong, the policy's output_standard); "
            "row indexes and counts are in the exception's details."
        )
        return "\n".join(lines)

    def raise_for_failure(self) -> None:
        """Raise :class:`OutputStandardFailed` (details: :meth:`to_dict`) unless the output passed."""
        if not self.success:
            raise OutputStandardFailed(self.message, details=self.to_dict())

    def to_dict(self, *, max_indexes: int | None = DEFAULT_MAX_INDEXES) -> dict[str, Any]:
        """JSON-safe dict for XCom and the sidecar (``json.dumps(..., allow_nan=False)`` works)."""
        return {
            "name": self.name,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed": self.failed,
            "rows": self.rows,
            "statistics": json_safe(self.statistics),
            "on_failure": self.on_failure,
            "columns": list(self.columns),
            "extra_columns": list(self.extra_columns),
            "include_samples": self.include_samples,
            "duration_ms": round(self.duration_ms, 3),
            "failed_expectations": sorted({f.expectation_type for f in self.failures}),
            "failures": [f.to_dict(max_indexes=max_indexes) for f in self.failures],
        }
