"""validate_output with real Great Expectations: every expectation kind passes good data and fails bad."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest
from pydantic import BaseModel

from airflow_ai_governance.exceptions import OutputStandardFailed
from airflow_ai_governance.policy.models import CustomExpectation, OutputStandard
from airflow_ai_governance.quality import (
    FIELD_TYPE_EXPECTATION,
    ValidationReport,
    split_valid_rows,
    validate_output,
)

StandardFactory = Callable[..., OutputStandard]


def _col(values: list[Any], name: str = "v") -> list[dict[str, Any]]:
    return [{name: value} for value in values]


def _only_failure(report: ValidationReport) -> tuple[str, str | None, tuple[int, ...] | None]:
    assert not report.success
    assert report.failed == len(report.failures) == 1, [f.describe() for f in report.failures]
    failure = report.failures[0]
    return failure.expectation_type, failure.column, failure.unexpected_index_list


# (field settings, good values, bad values, failing expectation, bad row indexes or None = table-level)
KINDS: list[tuple[str, dict[str, Any], list[Any], list[Any], str, list[int] | None]] = [
    ("not_null", {}, ["a", "b"], ["a", None, "c"], "expect_column_values_to_not_be_null", [1]),
    ("string_type", {}, ["a", "b"], ["a", 5, "c"], FIELD_TYPE_EXPECTATION, [1]),
    ("integer_type", {"type": "integer"}, [1, 2, 30], [1, 2.5, 3], FIELD_TYPE_EXPECTATION, [1]),
    ("integer_text", {"type": "integer"}, [1, 2], [1, "abc", 3], FIELD_TYPE_EXPECTATION, [1]),
    ("integer_bool", {"type": "integer"}, [1, 2], [1, True], FIELD_TYPE_EXPECTATION, [1]),
    ("number_type", {"type": "number"}, [0.5, 1, 2.25], [0.5, "abc"], FIELD_TYPE_EXPECTATION, [1]),
    ("boolean_type", {"type": "boolean"}, [True, False], [True, "yes", False], FIELD_TYPE_EXPECTATION, [1]),
    (
        "datetime_type",
        {"type": "datetime"},
        ["2024-05-01T10:00:00Z", "2024-05-02T11:30:00+02:00"],
        ["2024-05-01T10:00:00Z", "next tuesday"],
        FIELD_TYPE_EXPECTATION,
        [1],
    ),
    (
        "date_type",
        {"type": "date"},
        [date(2024, 5, 1), "2024-05-02"],
        ["2024-05-01", "2024-05-32"],
        FIELD_TYPE_EXPECTATION,
        [1],
    ),
    (
        "range_max",
        {"type": "number", "min": 0, "max": 1},
        [0, 0.5, 1],
        [0.2, 1.5, 0.3],
        "expect_column_values_to_be_between",
        [1],
    ),
    (
        "range_min",
        {"type": "integer", "min": 0, "max": 20},
        [0, 20],
        [-1, 3],
        "expect_column_values_to_be_between",
        [0],
    ),
    (
        "min_length",
        {"min_length": 3},
        ["abc", "abcd"],
        ["abc", "ab"],
        "expect_column_value_lengths_to_be_between",
        [1],
    ),
    (
        "max_length",
        {"max_length": 5},
        ["abc", "abcde"],
        ["abcdef", "ab"],
        "expect_column_value_lengths_to_be_between",
        [0],
    ),
    (
        "pattern",
        {"pattern": "^INV-[0-9]{6}$"},
        ["INV-000001"],
        ["INV-000001", "inv-1", "INV-1234567"],
        "expect_column_values_to_match_regex",
        [1, 2],
    ),
    (
        "allowed",
        {"allowed_values": ["a", "b"]},
        ["a", "b", "a"],
        ["a", "c"],
        "expect_column_values_to_be_in_set",
        [1],
    ),
    ("unique", {"unique": True}, ["a", "b"], ["a", "b", "a"], "expect_column_values_to_be_unique", [0, 2]),
]


@pytest.mark.parametrize(
    ("field", "good", "bad", "expectation", "indexes"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS]
)
def test_each_expectation_kind_passes_good_and_fails_bad(
    standard_factory: StandardFactory,
    field: dict[str, Any],
    good: list[Any],
    bad: list[Any],
    expectation: str,
    indexes: list[int] | None,
) -> None:
    standard = standard_factory({"name": "v", **field})
    ok = validate_output(_col(good), standard, name="kinds")
    assert ok.success, [f.describe() for f in ok.failures]
    assert ok.failed == 0 and ok.failures == () and ok.rows == len(good)

    report = validate_output(_col(bad), standard, name="kinds")
    assert _only_failure(report) == (expectation, "v", tuple(indexes) if indexes is not None else None)
    with pytest.raises(OutputStandardFailed) as err:
        report.raise_for_failure()
    assert f"{expectation}(v)" in str(err.value)
    details = err.value.details
    assert details["success"] is False
    assert [(f["expectation_type"], f["column"]) for f in details["failures"]] == [(expectation, "v")]


def test_a_missing_column_fails(standard_factory: StandardFactory) -> None:
    standard = standard_factory({"name": "v"}, {"name": "w", "type": "integer"})
    report = validate_output([{"v": "a"}], standard, name="missing")
    assert not report.success
    exist = [f for f in report.failures if f.expectation_type == "expect_column_to_exist"]
    assert [f.column for f in exist] == ["w"]
    assert exist[0].table_level
    # The column's other checks cannot run; they say so without quoting data.
    others = [f for f in report.failures if f.expectation_type != "expect_column_to_exist"]
    assert others and all(f.column == "w" and f.error == "column 'w' does not exist" for f in others)
    with pytest.raises(OutputStandardFailed, match=r"expect_column_to_exist\(w\)"):
        report.raise_for_failure()


def test_nullable_and_optional_fields(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "v"},
        {"name": "note", "nullable": True},
        {"name": "score", "type": "number", "required": False, "max": 1},
    )
    # Optional column absent altogether, nullable column with nulls: fine.
    assert validate_output([{"v": "a", "note": None}, {"v": "b", "note": "x"}], standard, name="opt").success
    # Optional column present in some records only: fine; when present it is still checked.
    assert validate_output(
        [{"v": "a", "note": "x", "score": 0.5}, {"v": "b", "note": "y"}], standard, name="opt"
    ).success
    report = validate_output(
        [{"v": "a", "note": "x", "score": 2}, {"v": "b", "note": "y", "score": "high"}], standard, name="opt"
    )
    failed = {(f.expectation_type, f.column) for f in report.failures}
    assert (FIELD_TYPE_EXPECTATION, "score") in failed


@pytest.mark.parametrize(
    ("rows", "ok"), [(0, False), (1, True), (3, True), (4, False)], ids=["empty", "min", "max", "too_many"]
)
def test_row_count(standard_factory: StandardFactory, rows: int, ok: bool) -> None:
    standard = standard_factory({"name": "v"}, min_rows=1, max_rows=3)
    report = validate_output(_col(["a"] * rows), standard, name="rows")
    assert report.success is ok
    if not ok:
        assert _only_failure(report) == ("expect_table_row_count_to_be_between", None, None)
        assert report.failures[0].observed_value == rows  # a count: reported by default
        with pytest.raises(OutputStandardFailed, match="expect_table_row_count_to_be_between"):
            report.raise_for_failure()


def test_custom_expectations(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "score", "type": "number"},
        {"name": "text"},
        custom_expectations=[
            CustomExpectation(
                type="expect_column_mean_to_be_between", kwargs={"column": "score", "min_value": 0.5}
            ),
            CustomExpectation(
                type="expect_column_values_to_not_match_regex",
                kwargs={"column": "text", "regex": "(?i)\\bbest\\b"},
            ),
        ],
    )
    good = [{"score": 0.9, "text": "fast"}, {"score": 0.7, "text": "bestseller"}]
    assert validate_output(good, standard, name="custom").success
    bad = [{"score": 0.1, "text": "the BEST"}, {"score": 0.2, "text": "fine"}]
    report = validate_output(bad, standard, name="custom")
    by_type = {f.expectation_type: f for f in report.failures}
    assert set(by_type) == {"expect_column_mean_to_be_between", "expect_column_values_to_not_match_regex"}
    assert by_type["expect_column_mean_to_be_between"].table_level
    assert by_type["expect_column_mean_to_be_between"].observed_value == pytest.approx(0.15)
    assert by_type["expect_column_values_to_not_match_regex"].unexpected_index_list == (0,)
    assert by_type["expect_column_values_to_not_match_regex"].source == "custom_expectations[1]"


def test_extra_columns_are_allowed_unless_refused(standard_factory: StandardFactory) -> None:
    standard = standard_factory({"name": "v"})
    rows = [{"v": "a", "debug": 1}]
    report = validate_output(rows, standard, name="extra")
    assert report.success and report.extra_columns == ("debug",)
    strict = validate_output(rows, standard, name="extra", allow_extra_columns=False)
    assert _only_failure(strict)[0] == "expect_table_columns_to_match_set"
    assert validate_output([{"v": "a"}], standard, name="extra", allow_extra_columns=False).success


@dataclasses.dataclass
class _Row:
    v: str
    n: int


class _Model(BaseModel):
    v: str
    n: int


def test_records_dataframe_single_record_models_and_dataclasses(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "v", "pattern": "^[a-z]+$"}, {"name": "n", "type": "integer", "min": 0}
    )
    records = [{"v": "a", "n": 1}, {"v": "B", "n": -1}, {"v": "c", "n": 3}]
    inputs: dict[str, Any] = {
        "records": records,
        "dataframe": pd.DataFrame(records, index=[10, 20, 30]),
        "models": [_Model(**r) for r in records],
        "dataclasses": [_Row(**r) for r in records],
    }
    for kind, data in inputs.items():
        report = validate_output(data, standard, name="inputs")
        assert report.rows == 3, kind
        failed = {(f.expectation_type, f.unexpected_index_list) for f in report.failures}
        assert failed == {
            ("expect_column_values_to_match_regex", (1,)),
            ("expect_column_values_to_be_between", (1,)),
        }, kind
    assert validate_output({"v": "a", "n": 1}, standard, name="inputs").success
    assert validate_output(_Model(v="a", n=2), standard, name="inputs").success


def test_dataframe_dtypes(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "i", "type": "integer"},
        {"name": "x", "type": "number", "nullable": True},
        {"name": "s", "pattern": "^[a-z]$"},
        {"name": "t", "type": "datetime"},
        {"name": "d", "type": "date"},
        {"name": "b", "type": "boolean"},
    )
    frame = pd.DataFrame(
        {
            "i": pd.array([1, 2, 3], dtype="Int64"),
            "x": [0.5, None, 2.0],
            "s": pd.Series(["a", "b", "c"], dtype="string"),
            "t": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00", "2024-01-03 08:15"], utc=True),
            "d": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "b": [True, False, True],
        }
    )
    report = validate_output(frame, standard, name="dtypes")
    assert report.success, [f.describe() for f in report.failures]
    frame.loc[1, "d"] = pd.Timestamp("2024-01-02 13:00")
    assert _only_failure(validate_output(frame, standard, name="dtypes")) == (
        FIELD_TYPE_EXPECTATION,
        "d",
        (1,),
    )


def test_not_tabular_data_is_a_type_error(standard_factory: StandardFactory) -> None:
    standard = standard_factory({"name": "v"})
    with pytest.raises(TypeError, match="cannot validate an output of type str"):
        validate_output("just text", standard, name="bad")
    with pytest.raises(TypeError, match="output record 1 is a int"):
        validate_output([{"v": "a"}, 3], standard, name="bad")


def test_empty_output_only_fails_the_row_count(standard_factory: StandardFactory) -> None:
    assert validate_output([], standard_factory({"name": "v"}), name="empty").success
    report = validate_output([], standard_factory({"name": "v"}, min_rows=1), name="empty")
    assert _only_failure(report) == ("expect_table_row_count_to_be_between", None, None)


SECRET = "jane.doe@example.com"


def test_default_report_has_counts_and_indexes_but_no_values(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "queue", "allowed_values": ["auto_pay", "dispute"]},
        {"name": "score", "type": "number"},
        custom_expectations=[
            CustomExpectation(
                type="expect_column_mean_to_be_between", kwargs={"column": "score", "min_value": 0}
            )
        ],
    )
    rows = [{"queue": "auto_pay", "score": 1}, {"queue": SECRET, "score": SECRET}]
    report = validate_output(rows, standard, name="sensitive")
    dumped = json.dumps(report.to_dict(), allow_nan=False)
    assert SECRET not in dumped and SECRET not in report.message
    assert "unexpected_samples" not in dumped
    in_set = next(f for f in report.failures if f.expectation_type == "expect_column_values_to_be_in_set")
    assert (in_set.unexpected_count, in_set.element_count, in_set.unexpected_index_list) == (1, 2, (1,))
    assert in_set.unexpected_samples is None
    # GX's error for the mean over text may quote the data: withheld unless samples are asked for.
    mean = next(f for f in report.failures if f.expectation_type == "expect_column_mean_to_be_between")
    assert mean.error is not None and "withheld" in mean.error

    with_samples = validate_output(rows, standard, name="sensitive", include_samples=True, max_samples=1)
    in_set = next(
        f for f in with_samples.failures if f.expectation_type == "expect_column_values_to_be_in_set"
    )
    assert in_set.unexpected_samples == (SECRET,)
    assert with_samples.to_dict()["include_samples"] is True
    assert SECRET in json.dumps(with_samples.to_dict(), allow_nan=False)


def test_report_to_dict_is_json_safe_and_caps_indexes(standard_factory: StandardFactory) -> None:
    standard = standard_factory({"name": "v", "type": "number", "max": 1})
    report = validate_output(_col([5.0] * 30 + [float("nan")]), standard, name="json")
    data = json.loads(json.dumps(report.to_dict(max_indexes=10), allow_nan=False))
    by_type = {f["expectation_type"]: f for f in data["failures"]}
    assert by_type["expect_column_values_to_not_be_null"]["unexpected_index_list"] == [30]  # NaN is null
    between = by_type["expect_column_values_to_be_between"]
    assert between["unexpected_index_list"] == list(range(10))
    assert between["unexpected_index_truncated"] is True and between["unexpected_count"] == 30
    assert data["failed_expectations"] == [
        "expect_column_values_to_be_between",
        "expect_column_values_to_not_be_null",
    ]
    assert data["statistics"]["evaluated_expectations"] == report.evaluated == 4
    full = next(f for f in report.failures if f.expectation_type == "expect_column_values_to_be_between")
    assert full.unexpected_index_list == tuple(range(30))  # the report itself keeps them all


def test_no_progress_bars_or_noise_on_the_terminal(
    standard_factory: StandardFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    standard = standard_factory({"name": "v", "pattern": "^a"})
    capfd.readouterr()
    validate_output(_col(["a", "b"] * 50), standard, name="quiet")
    validate_output(_col(["a"] * 100), standard, name="quiet")
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in err + out
    assert "it/s" not in err and err == "" and out == ""


def test_quarantine_split(invoice_standard: OutputStandard, invoices: list[dict[str, Any]]) -> None:
    invoices[3]["queue"] = "pay_now"
    invoices[7]["invoice_id"] = invoices[8]["invoice_id"]
    report = validate_output(invoices, invoice_standard, name="invoice-triage")
    assert report.on_failure == "quarantine" and not report.success
    good, bad = split_valid_rows(invoices, report)
    assert bad == [invoices[3], invoices[7], invoices[8]]
    assert all(
        g is r for g, r in zip(good, [r for i, r in enumerate(invoices) if i not in (3, 7, 8)], strict=True)
    )
    assert report.failures_by_row() == {
        3: ["expect_column_values_to_be_in_set(queue)"],
        7: ["expect_column_values_to_be_unique(invoice_id)"],
        8: ["expect_column_values_to_be_unique(invoice_id)"],
    }
    # The good rows pass on their own.
    assert validate_output(good, invoice_standard, name="invoice-triage").success

    frame = pd.DataFrame(invoices, index=[f"r{i}" for i in range(len(invoices))])
    good_df, bad_df = split_valid_rows(frame, validate_output(frame, invoice_standard, name="invoice-triage"))
    assert list(bad_df.index) == ["r3", "r7", "r8"] and len(good_df) == len(invoices) - 3


def test_quarantine_table_level_failure_quarantines_everything(
    invoice_standard: OutputStandard, invoices: list[dict[str, Any]]
) -> None:
    for row in invoices:
        row["confidence"] = 0.2  # in range row by row, but the batch mean is below 0.5
    report = validate_output(invoices, invoice_standard, name="invoice-triage")
    assert _only_failure(report) == ("expect_column_mean_to_be_between", "confidence", None)
    assert report.bad_row_indexes() is None
    good, bad = split_valid_rows(invoices, report)
    assert good == [] and bad == invoices


def test_quarantine_of_a_passing_output_keeps_everything(
    invoice_standard: OutputStandard, invoices: list[dict[str, Any]]
) -> None:
    report = validate_output(invoices, invoice_standard, name="invoice-triage")
    assert report.success
    report.raise_for_failure()  # does not raise
    assert split_valid_rows(invoices, report) == (invoices, [])
    with pytest.raises(ValueError, match="covers 50 rows but the data has 49"):
        split_valid_rows(invoices[1:], report)


def test_datetime_values_in_samples_are_json_safe(standard_factory: StandardFactory) -> None:
    standard = standard_factory({"name": "v", "type": "string"})
    report = validate_output(_col([datetime(2024, 1, 1, 9, 0)]), standard, name="dt", include_samples=True)
    assert report.failures[0].unexpected_samples == ("2024-01-01T09:00:00",)
    json.dumps(report.to_dict(), allow_nan=False)
