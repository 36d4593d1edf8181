"""Every built-in rule of an output standard in one vectorised pass, as Great Expectations judges it.

This is the metric behind the combined expectation ``expect_table_to_meet_output_standard`` (see
``_gx.py``), which lets a passing output be validated with one GX expectation instead of one per
rule. A *rule* is a built-in ``ExpectationSpec`` as a plain dict (``{"type", "source", "kwargs"}``,
from ``suite.combined_rules``), so the policy-to-rule mapping exists once, in ``suite.py``.

Each rule applies **the pandas operation GX 1.24 uses** for its built-in expectation (the
``_pandas`` condition of the metric in ``great_expectations/expectations/metrics/
column_map_metrics/``), so the combined verdict and the itemised suite agree by construction; a
hypothesis test (``tests/unit/quality/test_quality_combined.py``) holds them to it:

========================================= =======================================================
rule                                      unexpected (GX's condition, negated)
========================================= =======================================================
``expect_column_to_exist``                column not in the frame (table-level)
``expect_column_values_to_not_be_null``   ``column.isnull()`` (nulls included)
field type (ours)                         ``~column.map(TYPE_CHECKS[type]).astype(bool)``
``..._to_be_between``                     vectorised when ``column.dtype in [int, float]`` (or a
                                          datetime dtype), else GX's per-value ``is_between``
``..._value_lengths_to_be_between``       ``column.astype(str).str.len()`` outside the bounds
``..._to_match_regex``                    ``~column.astype(str).str.contains(regex)``
``..._to_be_in_set``                      ``~column.isin(value_set)``
``..._to_be_unique``                      ``column.duplicated(keep=False)``
``expect_table_row_count_to_be_between``  ``len(frame)`` outside the bounds (table-level)
``expect_table_columns_to_match_set``     ``set(columns) != set(column_set)`` (exact; table-level)
========================================= =======================================================

Like every GX map expectation, all map rules but the null check see the non-null values only
(GX's ``filter_column_isnull``: ``df[df[column].notnull()]``). A rule that raises (GX's
``is_between`` raises ``TypeError`` for a string among numbers) is violated as a whole, as GX fails
an expectation it cannot evaluate. When a required column is missing only its ``required`` rule is
violated: the column's other rules are not evaluated (GX errors on them, which fails them too).

pandas and numpy are not imported at module level: GX hands the functions a DataFrame.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_ai_governance.quality.types import TYPE_CHECKS

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

COMBINED_EXPECTATION = "expect_table_to_meet_output_standard"
"""Snake-case type of the combined (table-level) expectation registered with GX."""

FIELD_TYPE_EXPECTATION = "expect_column_values_to_match_field_type"
"""Snake-case type of the per-value field-type expectation registered with GX."""

Violations = dict[str, tuple[int, ...] | None]
"""Rule source -> the unexpected row indexes, or ``None`` for a table-level failure."""


def field_type_condition(column: pd.Series, field_type: str) -> pd.Series:
    """True for each value of the policy field type (the field-type expectation's condition)."""
    return column.map(TYPE_CHECKS[field_type]).astype(bool)


_MIXED_TYPES = "Column values, min_value, and max_value must either be None or of the same type."


def _between_vectorised(column: pd.Series, min_value: Any, max_value: Any) -> Any:
    # GX ColumnValuesBetween._pandas_vectorized, non-strict (the mapping never sets strict_*).
    if min_value is None:
        return column <= max_value
    if max_value is None:
        return min_value <= column
    return (min_value <= column) & (column <= max_value)


def _between(column: pd.Series, min_value: Any = None, max_value: Any = None, **_: Any) -> Any:
    """GX ColumnValuesBetween._pandas: vectorised for numpy numbers and datetimes, else per value."""
    import pandas as pd

    if min_value is None and max_value is None:
        raise ValueError("min_value and max_value cannot both be None")
    if min_value is not None and max_value is not None and min_value > max_value:
        raise ValueError("min_value cannot be greater than max_value")
    if column.dtype in [int, float] or (
        isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_ns_dtype(column.dtype)
    ):
        # (GX parses string bounds as dates for a datetime column; the policy's bounds are numbers.)
        return _between_vectorised(column, min_value, max_value)
    bounds = [bound for bound in (min_value, max_value) if bound is not None]

    def is_between(val: Any) -> Any:
        # A value and the bounds must all be strings or all not, else GX raises (failing the rule).
        if any(isinstance(val, str) != isinstance(bound, str) for bound in bounds):
            raise TypeError(_MIXED_TYPES)
        if min_value is not None and max_value is not None:
            return (val >= min_value) and (val <= max_value)
        if min_value is None:
            return val <= max_value
        return val >= min_value

    return column.map(is_between)


def _lengths_between(column: pd.Series, min_value: Any = None, max_value: Any = None, **_: Any) -> Any:
    """GX ColumnValuesValueLengthBetween: ``column.astype(str).str.len()`` within inclusive bounds."""
    lengths = column.astype(str).str.len()
    if min_value is not None and max_value is not None:
        return lengths.between(min_value, max_value, inclusive="both")
    if max_value is not None:
        return lengths <= max_value
    if min_value is not None:
        return lengths >= min_value
    raise ValueError("Invalid configuration")


def _match_regex(column: pd.Series, regex: str, **_: Any) -> Any:
    return column.astype(str).str.contains(regex)  # GX ColumnValuesMatchRegex (re.search)


def _in_set(column: pd.Series, value_set: Any = None, **_: Any) -> Any:
    if value_set is None:  # GX ColumnValuesInSet: vacuously true
        import numpy as np

        return np.ones(len(column), dtype=np.bool_)
    return column.isin(value_set)


def _unique(column: pd.Series, **_: Any) -> Any:
    return ~column.duplicated(keep=False)  # GX ColumnValuesUnique


def _field_type(column: pd.Series, field_type: str, **_: Any) -> Any:
    return field_type_condition(column, field_type)


# Map rules: expectation type -> the condition GX evaluates on the column's non-null values.
_MAP_CONDITIONS: dict[str, Callable[..., Any]] = {
    FIELD_TYPE_EXPECTATION: _field_type,
    "expect_column_values_to_be_between": _between,
    "expect_column_value_lengths_to_be_between": _lengths_between,
    "expect_column_values_to_match_regex": _match_regex,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_be_unique": _unique,
}
_EXISTS = "expect_column_to_exist"
_NOT_NULL = "expect_column_values_to_not_be_null"
_ROW_COUNT = "expect_table_row_count_to_be_between"
_COLUMN_SET = "expect_table_columns_to_match_set"

RULE_TYPES: frozenset[str] = frozenset([*_MAP_CONDITIONS, _EXISTS, _NOT_NULL, _ROW_COUNT, _COLUMN_SET])
"""The expectation types the combined expectation can stand for."""


def _rows(column: pd.Series, unexpected: Any) -> tuple[int, ...]:
    """Index labels of the rows flagged in ``unexpected`` (GX counts with ``np.count_nonzero``)."""
    flags = unexpected.to_numpy(dtype=bool) if hasattr(unexpected, "to_numpy") else unexpected
    return tuple(int(i) for i in column.index[flags]) if flags.any() else ()


def _table_rule(frame: pd.DataFrame, rule_type: str, kwargs: Mapping[str, Any]) -> bool:
    """Whether a table-level rule holds (GX's ``_validate`` of the expectation)."""
    if rule_type == _ROW_COUNT:
        rows = frame.shape[0]
        min_value, max_value = kwargs.get("min_value"), kwargs.get("max_value")
        return (min_value is None or rows >= min_value) and (max_value is None or rows <= max_value)
    if rule_type == _COLUMN_SET:
        expected = set(kwargs.get("column_set") or ())
        actual = set(frame.columns)
        return actual == expected if kwargs.get("exact_match", True) else expected <= actual
    raise ValueError(f"not a table rule: {rule_type}")


def _evaluate(
    frame: pd.DataFrame, rule_type: str, kwargs: Mapping[str, Any], non_null: dict[str, pd.Series]
) -> tuple[int, ...] | None:
    """Unexpected row indexes of one rule (empty: it holds), ``None`` for a table-level failure."""
    if rule_type in (_ROW_COUNT, _COLUMN_SET):
        return () if _table_rule(frame, rule_type, kwargs) else None
    name = kwargs["column"]
    if rule_type == _EXISTS:
        return () if name in frame.columns else None
    column = frame[name]  # KeyError for an absent column: the rule fails, as GX errors on it
    if rule_type == _NOT_NULL:
        return _rows(column, column.isnull())  # GX ColumnValuesNonNull: ~(~column.isnull())
    if name not in non_null:
        present = column.notnull()  # GX filter_column_isnull: df[df[column].notnull()]
        non_null[name] = column if present.all() else column[present]
    values = non_null[name]
    condition = _MAP_CONDITIONS[rule_type](values, **{k: v for k, v in kwargs.items() if k != "column"})
    return _rows(values, ~condition)


def encode_rules(rules: Iterable[Mapping[str, Any]]) -> str:
    """``rules`` as the combined expectation's ``rules`` kwarg: one JSON text.

    A string rather than a list because GX rebuilds an expectation's configuration (a pydantic
    ``.dict()`` of every kwarg) about 20 times per validation: nested rules would cost more than
    evaluating them. JSON keeps ``1`` and ``1.0`` apart, as the rule kwargs need.
    """
    return json.dumps(list(rules), separators=(",", ":"))


@functools.lru_cache(maxsize=256)
def decode_rules(text: str) -> tuple[dict[str, Any], ...]:
    """The rules of an :func:`encode_rules` text (cached; treat them as read-only)."""
    return tuple(json.loads(text))


def find_violations(frame: pd.DataFrame, rules: Iterable[Mapping[str, Any]]) -> Violations:
    """Every violated rule of ``rules`` on ``frame``, by source, in rule order (empty: all hold)."""
    rules = list(rules)
    missing = {
        rule["kwargs"]["column"]
        for rule in rules
        if rule["type"] == _EXISTS and rule["kwargs"]["column"] not in frame.columns
    }
    non_null: dict[str, pd.Series] = {}
    violations: Violations = {}
    for rule in rules:
        rule_type, kwargs = rule["type"], rule["kwargs"]
        if rule_type != _EXISTS and kwargs.get("column") in missing:
            continue  # reported once, by the column's required rule
        try:
            rows = _evaluate(frame, rule_type, kwargs, non_null)
        except Exception as exc:  # GX fails an expectation it cannot evaluate: so does the rule
            log.debug(
                "rule %s (%s) could not be evaluated: %s", rule["source"], rule_type, type(exc).__name__
            )
            rows = None
        if rows != ():
            violations[str(rule["source"])] = rows
    return violations


def violation_counts(violations: Violations) -> dict[str, int | None]:
    """Unexpected rows per source (``None``: table-level); counts only, never values."""
    return {source: None if rows is None else len(rows) for source, rows in violations.items()}
