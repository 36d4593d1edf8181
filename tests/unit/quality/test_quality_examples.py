"""The example policies' output standards accept realistic good outputs and catch realistic bad ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from airflow_ai_governance.exceptions import OutputStandardFailed
from airflow_ai_governance.policy.models import OutputStandard
from airflow_ai_governance.quality import FIELD_TYPE_EXPECTATION, ValidationReport, validate_output

Records = list[dict[str, Any]]
Spoil = Callable[[Records], Any]


def _failed(report: ValidationReport) -> set[tuple[str, str | None]]:
    return {(f.expectation_type, f.column) for f in report.failures}


def _assert_blocks(report: ValidationReport, expected: set[tuple[str, str | None]]) -> None:
    assert not report.success
    assert expected <= _failed(report), [f.describe() for f in report.failures]
    with pytest.raises(OutputStandardFailed) as err:
        report.raise_for_failure()
    listed = {(f["expectation_type"], f["column"]) for f in err.value.details["failures"]}
    assert expected <= listed
    for expectation, column in expected:
        assert (f"{expectation}({column})" if column else expectation) in str(err.value)


def test_good_outputs_pass(
    invoice_standard: OutputStandard,
    meeting_standard: OutputStandard,
    claims_standard: OutputStandard,
    invoices: Records,
    meetings: Records,
    claims: Records,
) -> None:
    for standard, rows, name in [
        (invoice_standard, invoices, "invoice-triage"),
        (meeting_standard, meetings, "meeting-summaries"),
        (claims_standard, claims, "product-claims"),
    ]:
        report = validate_output(rows, standard, name=name)
        assert report.success, (name, [f.describe() for f in report.failures])
        assert report.rows == len(rows) and report.failed == 0 and report.evaluated >= 10
        assert validate_output(pd.DataFrame(rows), standard, name=name).success


def _set(index: int, key: str, value: Any) -> Spoil:
    def spoil(rows: Records) -> None:
        rows[index][key] = value

    return spoil


def _drop(key: str) -> Spoil:
    def spoil(rows: Records) -> None:
        for row in rows:
            del row[key]

    return spoil


def _duplicate(key: str) -> Spoil:
    def spoil(rows: Records) -> None:
        rows[1][key] = rows[0][key]

    return spoil


INVOICE_CASES: list[tuple[str, Spoil, set[tuple[str, str | None]]]] = [
    (
        "queue_not_allowed",
        _set(4, "queue", "pay_immediately"),
        {("expect_column_values_to_be_in_set", "queue")},
    ),
    ("duplicate_id", _duplicate("invoice_id"), {("expect_column_values_to_be_unique", "invoice_id")}),
    ("bad_id", _set(2, "invoice_id", "INV-12"), {("expect_column_values_to_match_regex", "invoice_id")}),
    (
        "confidence_above_one",
        _set(0, "confidence", 1.7),
        {("expect_column_values_to_be_between", "confidence")},
    ),
    ("confidence_text", _set(0, "confidence", "abc"), {(FIELD_TYPE_EXPECTATION, "confidence")}),
    ("null_queue", _set(9, "queue", None), {("expect_column_values_to_not_be_null", "queue")}),
    ("missing_queue", _drop("queue"), {("expect_column_to_exist", "queue")}),
    (
        "unsure_batch",
        lambda rows: [r.update(confidence=0.3) for r in rows],
        {("expect_column_mean_to_be_between", "confidence")},
    ),
    ("empty", lambda rows: rows.clear(), {("expect_table_row_count_to_be_between", None)}),
]


@pytest.mark.parametrize(
    ("spoil", "expected"), [c[1:] for c in INVOICE_CASES], ids=[c[0] for c in INVOICE_CASES]
)
def test_invoice_triage_catches(
    invoice_standard: OutputStandard, invoices: Records, spoil: Spoil, expected: set[tuple[str, str | None]]
) -> None:
    spoil(invoices)
    _assert_blocks(validate_output(invoices, invoice_standard, name="invoice-triage"), expected)


MEETING_CASES: list[tuple[str, Spoil, set[tuple[str, str | None]]]] = [
    (
        "summary_too_short",
        _set(3, "summary", "Met. Talked."),
        {("expect_column_value_lengths_to_be_between", "summary")},
    ),
    (
        "summary_too_long",
        _set(3, "summary", "blah " * 300),
        {("expect_column_value_lengths_to_be_between", "summary")},
    ),
    ("action_items_fraction", _set(0, "action_items", 2.5), {(FIELD_TYPE_EXPECTATION, "action_items")}),
    ("action_items_text", _set(0, "action_items", "three"), {(FIELD_TYPE_EXPECTATION, "action_items")}),
    (
        "too_many_action_items",
        _set(5, "action_items", 21),
        {("expect_column_values_to_be_between", "action_items")},
    ),
    (
        "negative_action_items",
        _set(5, "action_items", -1),
        {("expect_column_values_to_be_between", "action_items")},
    ),
    ("null_summary", _set(1, "summary", None), {("expect_column_values_to_not_be_null", "summary")}),
    (
        "bad_meeting_id",
        _set(1, "meeting_id", "meeting-7"),
        {("expect_column_values_to_match_regex", "meeting_id")},
    ),
    ("duplicate_meeting", _duplicate("meeting_id"), {("expect_column_values_to_be_unique", "meeting_id")}),
]


@pytest.mark.parametrize(
    ("spoil", "expected"), [c[1:] for c in MEETING_CASES], ids=[c[0] for c in MEETING_CASES]
)
def test_meeting_summaries_catches(
    meeting_standard: OutputStandard, meetings: Records, spoil: Spoil, expected: set[tuple[str, str | None]]
) -> None:
    spoil(meetings)
    _assert_blocks(validate_output(meetings, meeting_standard, name="meeting-summaries"), expected)


CLAIM_CASES: list[tuple[str, Spoil, set[tuple[str, str | None]]]] = [
    (
        "superlative",
        _set(2, "claim", "Version 4 is the fastest engine on the market, per benchmark BM-3."),
        {("expect_column_values_to_not_match_regex", "claim")},
    ),
    (
        "guaranteed",
        _set(0, "claim", "Throughput of 1.8M rows/s is GUARANTEED on every workload (BM-1)."),
        {("expect_column_values_to_not_match_regex", "claim")},
    ),
    (
        "claim_too_long",
        _set(1, "claim", "Version 4 is quick. " * 20),
        {("expect_column_value_lengths_to_be_between", "claim")},
    ),
    (
        "no_benchmark",
        _set(1, "benchmark_id", None),
        {("expect_column_values_to_not_be_null", "benchmark_id")},
    ),
    (
        "bad_benchmark",
        _set(1, "benchmark_id", "internal-test"),
        {("expect_column_values_to_match_regex", "benchmark_id")},
    ),
    (
        "too_many_claims",
        lambda rows: rows.extend({**rows[0], "claim_id": f"CLM-{900 + i}"} for i in range(16)),
        {("expect_table_row_count_to_be_between", None)},
    ),
    ("duplicate_claim", _duplicate("claim_id"), {("expect_column_values_to_be_unique", "claim_id")}),
]


@pytest.mark.parametrize(("spoil", "expected"), [c[1:] for c in CLAIM_CASES], ids=[c[0] for c in CLAIM_CASES])
def test_product_claims_catches(
    claims_standard: OutputStandard, claims: Records, spoil: Spoil, expected: set[tuple[str, str | None]]
) -> None:
    spoil(claims)
    _assert_blocks(validate_output(claims, claims_standard, name="product-claims"), expected)


def test_superlative_check_does_not_flag_innocent_words(
    claims_standard: OutputStandard, claims: Records
) -> None:
    claims[0]["claim"] = (
        "Version 4 loads data 2x faster than version 3 in benchmark BM-1 (bestseller edition, neverland tour)."
    )
    assert validate_output(claims, claims_standard, name="product-claims").success
