"""Validate an AI output against its output standard with Great Expectations, and split it.

``validate_output`` accepts a list of records (mappings, pydantic models or dataclasses), a single
record, or a pandas DataFrame. The data is validated as one whole-dataframe batch of the process's
cached ephemeral GX context, in up to two GX runs:

1. the **verdict suite** (``build_verdict_suite``: one combined expectation for every built-in rule,
   plus the custom expectations), verdicts only (``BOOLEAN_ONLY``). Most outputs pass, and this is
   all they pay for;
2. only if that failed, the **itemised suite** (``build_suite``: one expectation per rule) with
   ``COMPLETE`` results, which the report is made from: each failed expectation, its policy source
   and its row indexes (for quarantine).

The two agree by construction (``combined.py``; a property test checks it). Should they ever
disagree, the output fails closed: the report keeps the verdict suite's failures, the combined one
with the rule sources that failed and their rows. Both suites for a (name, standard,
allow_extra_columns) are built once per process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import re
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_ai_governance.policy.models import OutputStandard
from airflow_ai_governance.quality._gx import gx_runtime
from airflow_ai_governance.quality.combined import (
    COMBINED_EXPECTATION,
    decode_rules,
    find_violations,
    violation_counts,
)
from airflow_ai_governance.quality.report import (
    MAX_SAMPLE_CHARS,
    FailedExpectation,
    ValidationReport,
    is_numeric,
    json_safe,
)
from airflow_ai_governance.quality.suite import build_suite, build_verdict_suite

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

DEFAULT_MAX_SAMPLES = 3
"""Unexpected values kept per failed expectation when ``include_samples=True``."""

_MISSING_COLUMN = re.compile(r'The column "(?P<column>[^"]*)" in BatchData does not exist')
_WITHHELD = "details withheld as they may quote output data; validate with include_samples=True to see them"


def _as_mapping(record: Any, position: int) -> Mapping[str, Any]:
    if isinstance(record, Mapping):
        return record
    model_dump = getattr(record, "model_dump", None)
    if callable(model_dump):
        dumped = model_dump()
        if isinstance(dumped, Mapping):
            return dumped
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    raise TypeError(
        f"output record {position} is a {type(record).__name__}; expected a mapping (dict), "
        "a pydantic model or a dataclass instance"
    )


def _records(data: Any) -> list[Any]:
    """The output as a list of records (a single record becomes a one-element list)."""
    if (
        isinstance(data, Mapping)
        or hasattr(data, "model_dump")
        or (dataclasses.is_dataclass(data) and not isinstance(data, type))
    ):
        return [data]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return list(data)
    raise TypeError(
        f"cannot validate an output of type {type(data).__name__}; give a list of records (dicts), "
        "a single record or a pandas DataFrame"
    )


def _is_frame(data: Any) -> bool:
    if type(data).__module__.split(".")[0] != "pandas":
        return False
    import pandas as pd

    return isinstance(data, pd.DataFrame)


def to_frame(data: Any, standard: OutputStandard | None = None) -> pd.DataFrame:
    """The output as the DataFrame GX validates: a fresh 0..n-1 index, string column names, and
    an all-null column for each optional field that is absent (so its checks pass vacuously)."""
    import pandas as pd

    if _is_frame(data):
        frame = data.reset_index(drop=True)
    else:
        records = [dict(_as_mapping(r, i)) for i, r in enumerate(_records(data))]
        if records:
            frame = pd.DataFrame.from_records(records)
        else:
            names = [f.name for f in standard.fields] if standard is not None else []
            frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in names})
    if any(not isinstance(c, str) for c in frame.columns):
        frame.columns = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise ValueError(f"the output has duplicate column names: {', '.join(duplicated)}")
    if standard is not None:
        absent = [f.name for f in standard.fields if not f.required and f.name not in frame.columns]
        if absent:
            frame = frame.assign(**{name: pd.Series([None] * len(frame), dtype=object) for name in absent})
    return frame


@functools.lru_cache(maxsize=64)
def _cached_suite(name: str, standard_json: str, allow_extra_columns: bool) -> Any:
    """The itemised suite: one expectation per rule."""
    standard = OutputStandard.model_validate_json(standard_json)
    return build_suite(standard, name, allow_extra_columns=allow_extra_columns)


@functools.lru_cache(maxsize=64)
def _cached_verdict_suite(name: str, standard_json: str, allow_extra_columns: bool) -> Any:
    """The verdict suite: the combined expectation and the custom expectations."""
    standard = OutputStandard.model_validate_json(standard_json)
    return build_verdict_suite(standard, name, allow_extra_columns=allow_extra_columns)


@contextlib.contextmanager
def _validator(frame: pd.DataFrame) -> Iterator[Any]:
    """A GX validator of ``frame`` (one whole-dataframe batch, fetched once for every run on it),
    holding the shared runtime's lock until the block ends."""
    from great_expectations.validator.v1_validator import Validator

    runtime = gx_runtime()
    with runtime.lock, warnings.catch_warnings():
        # pandas warns when a policy regex has groups (GX uses str.contains); harmless here.
        warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
        yield Validator(runtime.batch_definition, batch_parameters={"dataframe": frame})


def _run(validator: Any, suite: Any, result_format: str) -> Any:
    """Validate against ``suite`` (inside :func:`_validator`), what ``Batch.validate`` does."""
    validator.result_format = {"result_format": result_format}
    return validator.validate_expectation_suite(suite)


def _error_message(exception_info: Any, include_samples: bool) -> str | None:
    """The GX error of one result, if any; messages that may quote data are withheld by default."""
    if not isinstance(exception_info, dict):
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    messages = [
        str(info.get("exception_message") or "unknown error")
        for info in infos
        if isinstance(info, dict) and info.get("raised_exception")
    ]
    if not messages:
        return None
    message = messages[0]
    missing = _MISSING_COLUMN.search(message)
    if missing:
        return f"column {missing.group('column')!r} does not exist"
    if include_samples or not any(q in message for q in ("'", '"', "`")):
        return message[:300]
    return _WITHHELD


def _failure(res: Any, include_samples: bool, max_samples: int) -> FailedExpectation:
    config = res.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k not in ("column", "batch_id")}
    result: dict[str, Any] = dict(res.result or {})
    error = _error_message(res.exception_info, include_samples)
    indexes = result.get("unexpected_index_list")
    index_tuple: tuple[int, ...] | None = None
    if error is None and isinstance(indexes, list) and all(not isinstance(i, dict) for i in indexes):
        index_tuple = tuple(int(i) for i in indexes)
    observed = result.get("observed_value")
    if not (include_samples or is_numeric(json_safe(observed))):
        observed = None
    samples: tuple[Any, ...] | None = None
    if include_samples and index_tuple is not None:
        samples = tuple(
            json_safe(v, max_chars=MAX_SAMPLE_CHARS) for v in (result.get("partial_unexpected_list") or [])
        )[:max_samples]
    meta = dict(config.meta or {})
    column = config.kwargs.get("column")
    return FailedExpectation(
        expectation_type=str(config.type),
        column=column if isinstance(column, str) else None,
        kwargs=json_safe(kwargs),
        source=meta.get("aigov_source"),
        description=getattr(config, "description", None),
        element_count=result.get("element_count"),
        unexpected_count=result.get("unexpected_count"),
        unexpected_percent=json_safe(result.get("unexpected_percent")),
        missing_count=result.get("missing_count"),
        unexpected_index_list=index_tuple,
        observed_value=json_safe(observed, max_chars=MAX_SAMPLE_CHARS),
        unexpected_samples=samples,
        error=error,
    )


def _combined_failure(res: Any, frame: pd.DataFrame, include_samples: bool) -> FailedExpectation:
    """The failed combined expectation, with the rule sources that failed and their rows."""
    violations = find_violations(frame, decode_rules(res.expectation_config.kwargs["rules"]))
    rows: set[int] = set()
    for indexes in violations.values():
        rows.update(indexes or ())
    table_level = not violations or any(indexes is None for indexes in violations.values())
    return FailedExpectation(
        expectation_type=COMBINED_EXPECTATION,
        column=None,
        kwargs={"failed_sources": list(violations)},
        source=", ".join(violations) or None,
        description="the verdict suite failed where the itemised suite did not; failing closed",
        element_count=len(frame),
        unexpected_count=None if table_level else len(rows),
        unexpected_index_list=None if table_level else tuple(sorted(rows)),
        observed_value=violation_counts(violations),
        error=_error_message(res.exception_info, include_samples),
    )


def _verdict_failures(
    verdict: Any, frame: pd.DataFrame, include_samples: bool, max_samples: int
) -> tuple[FailedExpectation, ...]:
    """The verdict suite's failures, for when the itemised suite found none (fail closed)."""
    return tuple(
        _combined_failure(res, frame, include_samples)
        if str(res.expectation_config.type) == COMBINED_EXPECTATION
        else _failure(res, include_samples, max_samples)
        for res in verdict.results
        if not bool(res.success)
    )


def validate_output(
    data: Any,
    standard: OutputStandard,
    *,
    name: str,
    include_samples: bool = False,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    allow_extra_columns: bool = True,
) -> ValidationReport:
    """Validate ``data`` against ``standard`` and return a :class:`ValidationReport`.

    ``data``: a list of records, a single record, or a pandas DataFrame. ``name`` names the suite
    (the use case id, say). Unexpected values are left out of the report unless
    ``include_samples=True`` (at most ``max_samples`` per failed expectation). Columns that are not
    output fields are allowed unless ``allow_extra_columns=False``.

    The report's ``evaluated`` is the number of expectations the standard stands for (one per rule
    and custom expectation: the itemised suite's size), whichever suite ran; ``statistics`` are
    GX's for the suite that ran last (the verdict suite's, for a passing output).

    Never raises for bad data (see :meth:`ValidationReport.raise_for_failure`); raises
    :class:`~airflow_ai_governance.exceptions.PolicyError` if the standard cannot be built and
    ``TypeError``/``ValueError`` if ``data`` is not tabular.
    """
    started = time.perf_counter()
    frame = to_frame(data, standard)
    key = (name, standard.model_dump_json(), allow_extra_columns)
    suite = _cached_suite(*key)
    verdict_suite = _cached_verdict_suite(*key)
    with _validator(frame) as validator:
        verdict = _run(validator, verdict_suite, "BOOLEAN_ONLY")
        result = verdict if verdict.success else _run(validator, suite, "COMPLETE")
    results = list(result.results)
    samples = max(0, max_samples)
    failures = tuple(_failure(res, include_samples, samples) for res in results if not bool(res.success))
    if not verdict.success and not failures:
        log.error(
            "output standard %r: the verdict suite failed but the itemised suite found no failure; "
            "failing closed (please report this as a bug)",
            name,
        )
        failures = _verdict_failures(verdict, frame, include_samples, samples)
    # Belt and braces: the run fails if GX says so or if any single expectation failed.
    success = bool(verdict.success) and bool(result.success) and not failures and bool(results)
    declared = {f.name for f in standard.fields}
    columns = tuple(str(c) for c in frame.columns)
    report = ValidationReport(
        name=name,
        success=success,
        evaluated=len(suite.expectations),
        failed=len(failures),
        rows=len(frame),
        statistics=json_safe(dict(result.statistics or {})),
        failures=failures,
        on_failure=standard.on_failure,
        columns=columns,
        extra_columns=tuple(c for c in columns if c not in declared),
        include_samples=include_samples,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    log.info(
        "output standard %r: %s, %d/%d expectations failed on %d rows in %.0f ms",
        name,
        "passed" if success else "FAILED",
        report.failed,
        report.evaluated,
        report.rows,
        report.duration_ms,
    )
    return report


def split_valid_rows(data: Any, report: ValidationReport) -> tuple[Any, Any]:
    """``(good_rows, bad_rows)`` of the output ``report`` was made for, for quarantine.

    Rows named by a failed row-level expectation are bad; a table-level failure (row count,
    missing column, column mean, an expectation that could not be evaluated) makes every row bad.
    Records come back as lists of the original record objects, a DataFrame as two DataFrames
    with the original index. Raises ``ValueError`` if ``data`` does not have ``report.rows`` rows.
    """
    if _is_frame(data):
        rows = len(data)
    else:
        records = _records(data)
        rows = len(records)
    if rows != report.rows:
        raise ValueError(
            f"the report for {report.name!r} covers {report.rows} rows but the data has {rows}; "
            "split the same output that was validated"
        )
    bad = report.bad_row_indexes()
    bad_mask = [bad is None or i in bad for i in range(rows)]
    if _is_frame(data):
        good_positions = [i for i, is_bad in enumerate(bad_mask) if not is_bad]
        bad_positions = [i for i, is_bad in enumerate(bad_mask) if is_bad]
        return data.iloc[good_positions], data.iloc[bad_positions]
    good_records = [r for r, is_bad in zip(records, bad_mask, strict=True) if not is_bad]
    bad_records = [r for r, is_bad in zip(records, bad_mask, strict=True) if is_bad]
    return good_records, bad_records
