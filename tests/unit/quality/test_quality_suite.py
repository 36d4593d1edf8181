"""Policy -> expectations: the mapping, the GX suite, and clear errors for what cannot be built."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from airflow_ai_governance.exceptions import PolicyError
from airflow_ai_governance.policy.models import CustomExpectation, OutputStandard
from airflow_ai_governance.quality import FIELD_TYPE_EXPECTATION, build_suite, expectation_specs

StandardFactory = Callable[..., OutputStandard]


def test_importing_the_package_does_not_import_gx_or_pandas() -> None:
    code = (
        "import sys, airflow_ai_governance.quality as q; "
        "print('great_expectations' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_every_policy_setting_maps_to_its_expectation(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "id", "pattern": "^A[0-9]+$", "unique": True, "min_length": 2, "max_length": 9},
        {"name": "score", "type": "number", "min": 0, "max": 1, "nullable": True},
        {"name": "label", "allowed_values": ["a", "b"], "required": False},
        min_rows=1,
        max_rows=100,
        custom_expectations=[
            CustomExpectation(
                type="expect_column_mean_to_be_between",
                kwargs={"column": "score", "min_value": 0.5},
                description="confident on the whole",
            )
        ],
    )
    specs = expectation_specs(standard)
    assert [(s.type, s.column, s.source) for s in specs] == [
        ("expect_column_to_exist", "id", "fields.id.required"),
        ("expect_column_values_to_not_be_null", "id", "fields.id.nullable"),
        (FIELD_TYPE_EXPECTATION, "id", "fields.id.type"),
        ("expect_column_value_lengths_to_be_between", "id", "fields.id.min_length/max_length"),
        ("expect_column_values_to_match_regex", "id", "fields.id.pattern"),
        ("expect_column_values_to_be_unique", "id", "fields.id.unique"),
        ("expect_column_to_exist", "score", "fields.score.required"),
        (FIELD_TYPE_EXPECTATION, "score", "fields.score.type"),
        ("expect_column_values_to_be_between", "score", "fields.score.min/max"),
        (FIELD_TYPE_EXPECTATION, "label", "fields.label.type"),
        ("expect_column_values_to_be_in_set", "label", "fields.label.allowed_values"),
        ("expect_table_row_count_to_be_between", None, "min_rows/max_rows"),
        ("expect_column_mean_to_be_between", "score", "custom_expectations[0]"),
    ]
    assert specs[8].kwargs == {"column": "score", "min_value": 0.0, "max_value": 1.0}
    assert specs[11].kwargs == {"min_value": 1, "max_value": 100}
    assert specs[-1].description == "confident on the whole"

    strict = expectation_specs(standard, allow_extra_columns=False)
    assert strict[-2].type == "expect_table_columns_to_match_set"
    assert strict[-2].kwargs == {"column_set": ["id", "score", "label"], "exact_match": True}


def test_build_suite_makes_gx_expectation_objects(invoice_standard: OutputStandard) -> None:
    import great_expectations as gx

    suite = build_suite(invoice_standard, "invoice-triage")
    assert isinstance(suite, gx.ExpectationSuite)
    assert suite.name == "invoice-triage"
    types = [e.expectation_type for e in suite.expectations]
    assert types == [s.type for s in expectation_specs(invoice_standard)]
    mean = suite.expectations[-1]
    assert isinstance(mean, gx.expectations.ExpectColumnMeanToBeBetween)
    assert (mean.column, mean.min_value, mean.max_value) == ("confidence", 0.5, 1.0)
    assert mean.meta == {"aigov_source": "custom_expectations[0]"}
    # A fresh suite each call: callers may change it without touching the cached one.
    assert build_suite(invoice_standard, "invoice-triage") is not suite


def test_unknown_custom_expectation_is_a_clear_policy_error(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "score", "type": "number"},
        custom_expectations=[
            CustomExpectation(type="expect_column_mean_to_be_betwen", kwargs={"column": "score"}),
            CustomExpectation(type="expect_the_moon", kwargs={}),
        ],
    )
    with pytest.raises(PolicyError) as err:
        build_suite(standard, "typo")
    message = str(err.value)
    assert "output_standard.custom_expectations[0]" in message
    assert "unknown Great Expectations expectation type 'expect_column_mean_to_be_betwen'" in message
    assert "did you mean expect_column_mean_to_be_between" in message
    assert "output_standard.custom_expectations[1]" in message  # every problem, not just the first
    assert len(err.value.problems) == 2


def test_invalid_custom_kwargs_are_a_clear_policy_error(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "score", "type": "number"},
        custom_expectations=[
            CustomExpectation(
                type="expect_column_mean_to_be_between",
                kwargs={"column": "score", "min_value": "high", "maximum": 1},
            ),
            CustomExpectation(type="expect_column_values_to_not_match_regex", kwargs={"column": "score"}),
        ],
    )
    with pytest.raises(PolicyError) as err:
        build_suite(standard, "bad-kwargs")
    joined = "\n".join(f"{loc}: {msg}" for loc, msg in err.value.problems)
    assert (
        "custom_expectations[0]: invalid kwargs for expect_column_mean_to_be_between: kwargs.maximum"
        in joined
    )
    assert "kwargs.min_value" in joined
    assert (
        "custom_expectations[1]: invalid kwargs for expect_column_values_to_not_match_regex: kwargs.regex"
        in joined
    )
    assert isinstance(err.value, ValueError)  # PolicyError is a config error


def test_custom_expectation_on_an_undeclared_column_is_refused(standard_factory: StandardFactory) -> None:
    standard = standard_factory(
        {"name": "score", "type": "number"},
        custom_expectations=[
            CustomExpectation(type="expect_column_mean_to_be_between", kwargs={"column": "scroe"})
        ],
    )
    with pytest.raises(PolicyError, match=r"custom_expectations\[0\].*'scroe' are not output fields"):
        expectation_specs(standard)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            {"name": "n", "type": "integer", "min_length": 1},
            "min_length/max_length apply to string fields, not integer",
        ),
        (
            {"name": "n", "type": "number", "pattern": "^[0-9]+$"},
            "pattern applies to string, date, datetime fields",
        ),
    ],
)
def test_settings_that_do_not_fit_the_type_are_refused(
    standard_factory: StandardFactory, field: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyError) as err:
        expectation_specs(standard_factory(field))
    assert "output_standard.fields[0] (n)" in str(err.value)
    assert message in str(err.value)


def test_build_suite_needs_a_name(invoice_standard: OutputStandard) -> None:
    with pytest.raises(ValueError, match="non-empty name"):
        build_suite(invoice_standard, "")
