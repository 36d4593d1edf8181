"""The verdict suite (one combined expectation) against the itemised suite (one per rule), on real GX.

validate_output runs the verdict suite first and the itemised suite only when it fails, so the two
must agree on every output: a property test throws random standards and outputs at both.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from airflow_ai_governance.policy.models import CustomExpectation, OutputField, OutputStandard
from airflow_ai_governance.quality import (
    COMBINED_EXPECTATION,
    build_suite,
    build_verdict_suite,
    expectation_specs,
    split_valid_rows,
    validate_output,
)
from airflow_ai_governance.quality import validation as validation_module
from airflow_ai_governance.quality.combined import RULE_TYPES, find_violations, violation_counts
from airflow_ai_governance.quality.suite import combined_rules
from airflow_ai_governance.quality.validation import _failure, _run, _validator, to_frame

StandardFactory = Callable[..., OutputStandard]
RowSets = dict[str, frozenset[int] | None]


def _row_sets(pairs: Iterator[tuple[str, tuple[int, ...] | None]]) -> RowSets:
    return {source: None if rows is None else frozenset(rows) for source, rows in pairs}


def _bad_rows(by_source: RowSets) -> frozenset[int] | None:
    """Rows to quarantine: ``None`` (all of them) when any failure is table-level."""
    if any(rows is None for rows in by_source.values()):
        return None
    return frozenset().union(*by_source.values())  # type: ignore[arg-type]


def _compare(standard: OutputStandard, data: Any, allow_extra_columns: bool = True) -> bool:
    """Run both suites on ``data`` and assert they agree, rule by rule; return the verdict."""
    frame = to_frame(data, standard)
    specs = expectation_specs(standard, allow_extra_columns=allow_extra_columns)
    itemised = build_suite(standard, "agree", allow_extra_columns=allow_extra_columns)
    verdict = build_verdict_suite(standard, "agree", allow_extra_columns=allow_extra_columns)
    with _validator(frame) as batch:
        verdict_ok = bool(_run(batch, verdict, "BOOLEAN_ONLY").success)
        observed = _run(batch, verdict, "SUMMARY").results[0].result["observed_value"]
        itemised_result = _run(batch, itemised, "COMPLETE")
        violations = find_violations(frame, combined_rules(specs))
    assert verdict_ok == bool(itemised_result.success)
    assert observed == violation_counts(violations)  # what GX's run of the metric reported
    combined = _row_sets(iter(violations.items()))
    missing = {f.name for f in standard.fields if f.name not in frame.columns}
    failures = [_failure(res, False, 0) for res in itemised_result.results if not res.success]
    itemised_rows = _row_sets(
        (str(f.source), f.unexpected_index_list)
        for f in failures
        # GX errors on every other rule of a missing column; the combined rule skips them.
        if not (f.column in missing and not str(f.source).endswith(".required"))
    )
    assert combined == itemised_rows
    if not verdict_ok:
        assert _bad_rows(combined) == _bad_rows(itemised_rows)
    return verdict_ok


# --- the property test -------------------------------------------------------------------------

FIELD_TYPES = ("string", "integer", "number", "boolean", "datetime", "date")
BOUNDS = (-1, 0, 0.5, 1, 2, 2.5, 10)
PATTERNS = ("^[a-c]+$", "b", "^2024-", "[0-9]$", "^(MTG|INV)-[0-9]+", "^$", r"\d{2}")
ALLOWED = ("a", "b", "abc", "2024-01-01", 0, 1, 2, 2.0, 0.5, True, False)
ODD_CELLS = (
    None,
    math.nan,
    pd.NaT,
    "",
    "a",
    "abc",
    "2024-01-01",
    "2024-02-30",
    "2024-01-01T10:00:00",
    "MTG-12",
    "3",
    0,
    1,
    2,
    -1,
    11,
    0.5,
    2.0,
    2.5,
    math.inf,
    True,
    False,
    np.int64(3),
    np.float64(1.5),
    np.bool_(False),
    Decimal("1.5"),
    Decimal(2),
    date(2024, 1, 1),
    datetime(2024, 1, 1, 10),
    datetime(2024, 1, 2),
    pd.Timestamp("2024-01-01"),
)
VALID_CELLS: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text("abcMTG-0129", max_size=6),
    "integer": st.integers(-2, 12),
    "number": st.one_of(st.integers(-2, 12), st.floats(-2, 12, allow_nan=False)),
    "boolean": st.booleans(),
    "datetime": st.sampled_from(["2024-01-01T10:00:00", "2024-05-02", datetime(2024, 1, 3, 8)]),
    "date": st.sampled_from(["2024-01-01", "2024-03-04", date(2024, 1, 5)]),
}


def _bounds(draw: st.DrawFn, values: tuple[Any, ...]) -> tuple[Any, Any]:
    low = draw(st.none() | st.sampled_from(values))
    high = draw(st.none() | st.sampled_from([v for v in values if low is None or v >= low]))
    return low, high


@st.composite
def output_fields(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(FIELD_TYPES))
    field: dict[str, Any] = {
        "name": name,
        "type": kind,
        "required": draw(st.booleans()),
        "nullable": draw(st.booleans()),
        "unique": draw(st.booleans()),
        "allowed_values": draw(st.none() | st.lists(st.sampled_from(ALLOWED), max_size=4)),
    }
    if kind in ("integer", "number"):
        field["min"], field["max"] = _bounds(draw, BOUNDS)
    if kind == "string":
        field["min_length"], field["max_length"] = _bounds(draw, (1, 2, 3, 6))
    if kind in ("string", "date", "datetime"):
        field["pattern"] = draw(st.none() | st.sampled_from(PATTERNS))
    return field


@st.composite
def standards(draw: st.DrawFn) -> OutputStandard:
    names = draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True))
    min_rows, max_rows = _bounds(draw, (0, 1, 2, 3, 5))
    return OutputStandard(
        description="drawn by hypothesis",
        fields=[OutputField(**draw(output_fields(name))) for name in names],
        min_rows=min_rows,
        max_rows=max_rows or None,
    )


@st.composite
def outputs(draw: st.DrawFn, standard: OutputStandard) -> Any:
    """Records or a DataFrame: valid-ish and odd values, nulls, absent keys and columns, extras."""
    fields = {f.name: f for f in standard.fields}
    columns = [*fields, "extra"]
    absent = draw(st.sets(st.sampled_from(columns)))
    noise = draw(st.sampled_from([0.0, 0.1, 0.5]))  # share of odd values
    records = []
    for _ in range(draw(st.integers(0, 6))):
        row: dict[str, Any] = {}
        for column in columns:
            if column in absent or draw(st.integers(0, 11)) == 0:
                continue  # a missing key: null in the frame
            field = fields.get(column)
            odd = field is None or draw(st.floats(0, 1)) < noise
            if odd:
                row[column] = draw(st.sampled_from(ODD_CELLS))
            elif field is not None and field.allowed_values and draw(st.booleans()):
                row[column] = draw(st.sampled_from(field.allowed_values))
            else:
                row[column] = draw(VALID_CELLS[field.type if field is not None else "string"])
        records.append(row)
    form = draw(st.sampled_from(["records", "frame", "nullable dtypes"]))
    event(f"form: {form}")
    if form == "records":
        return records
    frame = (
        pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=sorted(set(columns) - absent))
    )
    return frame.convert_dtypes() if form == "nullable dtypes" else frame


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_verdict_suite_agrees_with_the_itemised_suite(data: st.DataObject) -> None:
    standard = data.draw(standards(), label="standard")
    output = data.draw(outputs(standard), label="output")
    allow_extra_columns = data.draw(st.booleans(), label="allow_extra_columns")
    passed = _compare(standard, output, allow_extra_columns)
    event("passed" if passed else "failed")


# --- examples the property test might rarely draw ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ({"type": "number", "min": 0}, [1, "abc", 2]),  # GX's is_between raises: the rule fails as a whole
        ({"type": "integer", "max": 5}, [1, None, 9]),  # ints with a null: float64, vectorised
        ({"type": "integer", "min": 0, "max": 5}, [True, 3]),  # a bool column: per value
        ({"type": "number", "max": 1}, [datetime(2024, 1, 1)]),  # a datetime64 column against numbers
        ({"type": "string", "pattern": "^(a|b)$", "unique": True}, ["a", "b", "a", None, None]),
        ({"type": "string", "max_length": 2}, [12345, "ab"]),  # lengths of str(value)
        ({"type": "string", "allowed_values": [1, "a"]}, [1.0, True, "a", "b"]),  # Python equality
        ({"type": "date", "pattern": "^2024"}, [date(2024, 1, 1), pd.Timestamp("2023-01-01")]),
    ],
)
def test_edge_cases_agree(
    standard_factory: StandardFactory, field: dict[str, Any], values: list[Any]
) -> None:
    standard = standard_factory({"name": "v", **field})
    assert not _compare(standard, [{"v": v} for v in values])
    assert not _compare(standard, pd.DataFrame({"v": values}))


def test_a_missing_required_column_is_one_violation(standard_factory: StandardFactory) -> None:
    standard = standard_factory({"name": "v"}, {"name": "w", "type": "integer", "min": 0, "unique": True})
    frame = to_frame([{"v": "a"}], standard)
    rules = combined_rules(expectation_specs(standard))
    assert find_violations(frame, rules) == {"fields.w.required": None}
    assert not _compare(standard, [{"v": "a"}])


def test_every_built_in_rule_type_is_combined(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "id", "pattern": "^A", "unique": True, "min_length": 1, "allowed_values": ["A1"]},
        {"name": "n", "type": "integer", "min": 0},
        min_rows=1,
        custom_expectations=[
            CustomExpectation(type="expect_column_mean_to_be_between", kwargs={"column": "n"})
        ],
    )
    specs = expectation_specs(standard, allow_extra_columns=False)
    rules = combined_rules(specs)
    assert [r["source"] for r in rules] == [s.source for s in specs if not s.custom]
    assert {r["type"] for r in rules} == RULE_TYPES
    assert [s.source for s in specs if s.custom] == ["custom_expectations[0]"]


def test_an_unknown_or_broken_rule_fails_closed() -> None:
    frame = pd.DataFrame({"v": ["a"]})
    rules = [
        {"type": "expect_something_new", "source": "new", "kwargs": {"column": "v"}},
        {"type": "expect_column_values_to_match_regex", "source": "bad", "kwargs": {"column": "v"}},
        {
            "type": "expect_column_values_to_match_regex",
            "source": "ok",
            "kwargs": {"column": "v", "regex": "a"},
        },
    ]
    assert find_violations(frame, rules) == {"new": None, "bad": None}


SECRET = "jane.doe@example.com"


def test_the_combined_result_holds_counts_only(standard_factory: StandardFactory) -> None:
    standard = standard_factory({"name": "v", "pattern": "^[a-z]+$"}, min_rows=3)
    verdict = build_verdict_suite(standard, "counts")
    with _validator(to_frame([{"v": "ok"}, {"v": SECRET}], standard)) as batch:
        result = _run(batch, verdict, "COMPLETE").results[0]
    assert not result.success
    assert result.result["observed_value"] == {"fields.v.pattern": 1, "min_rows/max_rows": None}
    assert SECRET not in json.dumps(result.to_json_dict())


# --- validate_output's two runs -----------------------------------------------------------------


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """The GX runs validate_output makes: (result format, expectation types of the suite)."""
    calls: list[tuple[str, list[str]]] = []

    def spy(batch: Any, suite: Any, result_format: str) -> Any:
        calls.append((result_format, [e.expectation_type for e in suite.expectations]))
        return _run(batch, suite, result_format)

    monkeypatch.setattr(validation_module, "_run", spy)
    return calls


def test_a_passing_output_runs_only_the_verdict_suite(
    meeting_standard: OutputStandard, meetings: list[dict[str, Any]], runs: list[tuple[str, list[str]]]
) -> None:
    report = validate_output(meetings[:2], meeting_standard, name="meeting-summaries")
    assert report.success and report.failures == ()
    assert runs == [("BOOLEAN_ONLY", [COMBINED_EXPECTATION])]
    assert report.evaluated == len(expectation_specs(meeting_standard)) == 14
    assert report.statistics["evaluated_expectations"] == 1
    assert "14 expectations" in report.message


def test_a_failing_output_is_reported_as_the_itemised_suite_reports_it(
    invoice_standard: OutputStandard, invoices: list[dict[str, Any]], runs: list[tuple[str, list[str]]]
) -> None:
    invoices[3]["queue"] = "pay_now"
    invoices[7]["invoice_id"] = invoices[8]["invoice_id"]
    invoices[9]["confidence"] = "high"
    report = validate_output(invoices, invoice_standard, name="invoice-triage")
    itemised = build_suite(invoice_standard, "invoice-triage")
    assert [r[0] for r in runs] == ["BOOLEAN_ONLY", "COMPLETE"]
    assert runs[1][1] == [e.expectation_type for e in itemised.expectations]

    with _validator(to_frame(invoices, invoice_standard)) as batch:
        expected = _run(batch, itemised, "COMPLETE")
    assert report.failures == tuple(_failure(r, False, 3) for r in expected.results if not r.success)
    assert {f.source: f.unexpected_index_list for f in report.failures if not f.table_level} == {
        "fields.invoice_id.unique": (7, 8),
        "fields.queue.allowed_values": (3,),
        "fields.confidence.type": (9,),
    }
    assert report.evaluated == len(itemised.expectations) and report.failed == len(report.failures)


def test_passing_then_failing_then_passing_data(
    meeting_standard: OutputStandard, meetings: list[dict[str, Any]]
) -> None:
    """Batches share one id; GX must not carry metrics over from the previous output."""
    good = pd.DataFrame(meetings[:3])
    bad = good.copy()
    bad.loc[1, "action_items"] = 99
    verdicts = [
        validate_output(d, meeting_standard, name="meeting-summaries") for d in (good, bad, good, bad)
    ]
    assert [r.success for r in verdicts] == [True, False, True, False]
    assert [(f.source, f.unexpected_index_list) for f in verdicts[1].failures] == [
        ("fields.action_items.min/max", (1,))
    ]


def test_custom_expectations_are_enforced_by_the_verdict_suite(
    standard_factory: StandardFactory, runs: list[tuple[str, list[str]]]
) -> None:
    standard = standard_factory(
        {"name": "score", "type": "number", "min": 0, "max": 1},
        custom_expectations=[
            CustomExpectation(
                type="expect_column_mean_to_be_between", kwargs={"column": "score", "min_value": 0.5}
            )
        ],
    )
    rows = [{"score": 0.1}, {"score": 0.2}]  # every row meets the built-in rules; the mean does not
    verdict = build_verdict_suite(standard, "custom")
    with _validator(to_frame(rows, standard)) as batch:
        results = _run(batch, verdict, "BOOLEAN_ONLY").results
    assert [(r.expectation_config.type, r.success) for r in results] == [
        (COMBINED_EXPECTATION, True),
        ("expect_column_mean_to_be_between", False),
    ]
    runs.clear()
    report = validate_output(rows, standard, name="custom")
    assert [r[0] for r in runs] == ["BOOLEAN_ONLY", "COMPLETE"]
    assert [(f.expectation_type, f.source) for f in report.failures] == [
        ("expect_column_mean_to_be_between", "custom_expectations[0]")
    ]
    assert validate_output([{"score": 0.9}], standard, name="custom").success


# --- fail closed -------------------------------------------------------------------------------


def _verdict_suite_of(monkeypatch: pytest.MonkeyPatch, stricter: OutputStandard) -> None:
    """Give validate_output a verdict suite that is stricter than its itemised suite."""
    monkeypatch.setattr(
        validation_module,
        "_cached_verdict_suite",
        lambda name, standard_json, allow_extra_columns: build_verdict_suite(stricter, name),
    )


def test_a_disagreement_fails_closed_with_the_combined_rows(
    standard_factory: StandardFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    standard = standard_factory({"name": "v"}, {"name": "n", "type": "integer"})
    rows = [{"v": "a", "n": 1}, {"v": "bb", "n": 2}, {"v": "c", "n": 30}]
    assert validate_output(rows, standard, name="closed").success
    _verdict_suite_of(
        monkeypatch,
        standard_factory({"name": "v", "max_length": 1}, {"name": "n", "type": "integer", "max": 9}),
    )
    with caplog.at_level(logging.ERROR, logger=validation_module.__name__):
        report = validate_output(rows, standard, name="closed")
    assert "failing closed" in caplog.text
    assert not report.success and report.failed == 1
    (failure,) = report.failures
    assert failure.expectation_type == COMBINED_EXPECTATION
    assert failure.source == "fields.v.min_length/max_length, fields.n.min/max"
    assert failure.unexpected_index_list == (1, 2) and failure.unexpected_count == 2
    assert failure.observed_value == {"fields.v.min_length/max_length": 1, "fields.n.min/max": 1}
    assert split_valid_rows(rows, report) == ([rows[0]], rows[1:])
    with pytest.raises(Exception, match=COMBINED_EXPECTATION):
        report.raise_for_failure()
    json.dumps(report.to_dict(), allow_nan=False)


def test_a_table_level_disagreement_quarantines_everything(
    standard_factory: StandardFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    standard = standard_factory({"name": "v"})
    rows = [{"v": "a"}, {"v": "b"}]
    _verdict_suite_of(
        monkeypatch,
        standard_factory(
            {"name": "v"},
            min_rows=5,
            custom_expectations=[
                CustomExpectation(
                    type="expect_column_values_to_be_in_set", kwargs={"column": "v", "value_set": ["a"]}
                )
            ],
        ),
    )
    report = validate_output(rows, standard, name="closed-table")
    assert not report.success
    assert [(f.expectation_type, f.source, f.unexpected_index_list) for f in report.failures] == [
        (COMBINED_EXPECTATION, "min_rows/max_rows", None),
        ("expect_column_values_to_be_in_set", "custom_expectations[0]", None),
    ]
    assert report.bad_row_indexes() is None
    assert split_valid_rows(rows, report) == ([], rows)
