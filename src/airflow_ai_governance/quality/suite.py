"""From a policy's :class:`~airflow_ai_governance.policy.models.OutputStandard` to a GX suite.

:func:`expectation_specs` is the pure mapping (no GX import): one :class:`ExpectationSpec` per
expectation, each naming the policy setting it comes from. :func:`build_suite` turns the specs into
a ``great_expectations.core.ExpectationSuite``, resolving ``custom_expectations`` through GX's
expectation registry and reporting every problem at once as a
:class:`~airflow_ai_governance.exceptions.PolicyError`: the *itemised* suite, one expectation per
rule, which names every failed rule and its rows.

:func:`build_verdict_suite` builds the *verdict* suite from the same specs: one combined
``expect_table_to_meet_output_standard`` whose ``rules`` are the built-in specs
(:func:`combined_rules`; evaluated in one pass, see ``combined.py``), followed by the custom
expectations unchanged. It passes exactly when the itemised suite does and is several times faster,
so ``validate_output`` runs it first and the itemised suite only when it fails.

Mapping (per field, in this order; see ``docs/output-standards.md``):

===================================== ===============================================================
policy                                expectation
===================================== ===============================================================
field, ``required: true``             ``expect_column_to_exist``
``required: true``, ``nullable: false`` ``expect_column_values_to_not_be_null``
``type``                              ``expect_column_values_to_match_field_type`` (per value)
``min`` / ``max``                     ``expect_column_values_to_be_between``
``min_length`` / ``max_length``       ``expect_column_value_lengths_to_be_between``
``pattern``                           ``expect_column_values_to_match_regex`` (``re.search``)
``allowed_values``                    ``expect_column_values_to_be_in_set``
``unique: true``                      ``expect_column_values_to_be_unique`` (nulls ignored)
``min_rows`` / ``max_rows``           ``expect_table_row_count_to_be_between``
``allow_extra_columns=False``         ``expect_table_columns_to_match_set`` (exact)
``custom_expectations[i]``            the GX expectation of that snake_case type, with its kwargs
===================================== ===============================================================
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from typing import Any

from airflow_ai_governance.exceptions import PolicyError
from airflow_ai_governance.policy.models import OutputField, OutputStandard
from airflow_ai_governance.quality._gx import gx_runtime
from airflow_ai_governance.quality.combined import COMBINED_EXPECTATION, FIELD_TYPE_EXPECTATION, encode_rules

log = logging.getLogger(__name__)

_LOCATION = "output_standard"
_TEXT_TYPES = ("string",)
_PATTERN_TYPES = ("string", "date", "datetime")
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list", "column_set")


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation derived from the policy: GX type, kwargs, and the policy setting behind it.

    ``custom`` marks a ``custom_expectations`` entry (any GX expectation); the others are the
    built-in rules that the combined expectation of the verdict suite can stand for.
    """

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    description: str | None = None
    custom: bool = False

    @property
    def column(self) -> str | None:
        column = self.kwargs.get("column")
        return column if isinstance(column, str) else None


def _field_specs(index: int, f: OutputField) -> tuple[list[ExpectationSpec], list[tuple[str, str]]]:
    where = f"{_LOCATION}.fields[{index}] ({f.name})"
    src = f"fields.{f.name}"
    col = {"column": f.name}
    specs: list[ExpectationSpec] = []
    problems: list[tuple[str, str]] = []
    if f.required:
        specs.append(ExpectationSpec("expect_column_to_exist", dict(col), f"{src}.required"))
        if not f.nullable:
            specs.append(ExpectationSpec("expect_column_values_to_not_be_null", dict(col), f"{src}.nullable"))
    specs.append(ExpectationSpec(FIELD_TYPE_EXPECTATION, {**col, "field_type": f.type}, f"{src}.type"))
    if f.min is not None or f.max is not None:
        specs.append(
            ExpectationSpec(
                "expect_column_values_to_be_between",
                {**col, "min_value": f.min, "max_value": f.max},
                f"{src}.min/max",
            )
        )
    if f.min_length is not None or f.max_length is not None:
        if f.type not in _TEXT_TYPES:
            problems.append((where, f"min_length/max_length apply to string fields, not {f.type}"))
        else:
            specs.append(
                ExpectationSpec(
                    "expect_column_value_lengths_to_be_between",
                    {**col, "min_value": f.min_length, "max_value": f.max_length},
                    f"{src}.min_length/max_length",
                )
            )
    if f.pattern is not None:
        if f.type not in _PATTERN_TYPES:
            problems.append(
                (where, f"pattern applies to {', '.join(_PATTERN_TYPES)} fields, not {f.type}; use min/max")
            )
        else:
            specs.append(
                ExpectationSpec(
                    "expect_column_values_to_match_regex", {**col, "regex": f.pattern}, f"{src}.pattern"
                )
            )
    if f.allowed_values is not None:
        specs.append(
            ExpectationSpec(
                "expect_column_values_to_be_in_set",
                {**col, "value_set": list(f.allowed_values)},
                f"{src}.allowed_values",
            )
        )
    if f.unique:
        specs.append(ExpectationSpec("expect_column_values_to_be_unique", dict(col), f"{src}.unique"))
    return specs, problems


def _custom_columns(kwargs: dict[str, Any]) -> list[str]:
    columns = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
    for key in _COLUMN_LIST_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, list | tuple):
            columns.extend(c for c in value if isinstance(c, str))
    return columns


def expectation_specs(standard: OutputStandard, *, allow_extra_columns: bool = True) -> list[ExpectationSpec]:
    """The expectations an output standard stands for, without importing GX.

    Raises :class:`PolicyError` listing every setting that cannot become an expectation (a length
    on a non-string field, a pattern on a number, a custom expectation on an undeclared column).
    Whether a custom expectation type exists and accepts its kwargs is checked by
    :func:`build_suite`, which needs GX.
    """
    specs: list[ExpectationSpec] = []
    problems: list[tuple[str, str]] = []
    for index, f in enumerate(standard.fields):
        field_specs, field_problems = _field_specs(index, f)
        specs.extend(field_specs)
        problems.extend(field_problems)
    if standard.min_rows is not None or standard.max_rows is not None:
        specs.append(
            ExpectationSpec(
                "expect_table_row_count_to_be_between",
                {"min_value": standard.min_rows, "max_value": standard.max_rows},
                "min_rows/max_rows",
            )
        )
    if not allow_extra_columns:
        specs.append(
            ExpectationSpec(
                "expect_table_columns_to_match_set",
                {"column_set": [f.name for f in standard.fields], "exact_match": True},
                "allow_extra_columns",
            )
        )
    declared = {f.name for f in standard.fields}
    for index, custom in enumerate(standard.custom_expectations):
        undeclared = [c for c in _custom_columns(custom.kwargs) if c not in declared]
        if undeclared:
            problems.append(
                (
                    f"{_LOCATION}.custom_expectations[{index}] ({custom.type})",
                    f"column(s) {', '.join(map(repr, undeclared))} are not output fields; declare them "
                    "under fields (required: false if they may be absent)",
                )
            )
            continue
        specs.append(
            ExpectationSpec(
                custom.type,
                dict(custom.kwargs),
                f"custom_expectations[{index}]",
                custom.description,
                custom=True,
            )
        )
    if problems:
        raise PolicyError("The output standard cannot be turned into expectations.", problems)
    return specs


def _pydantic_problems(exc: Exception) -> list[str]:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            items = errors()
        except Exception:  # pragma: no cover - defensive: not a pydantic error after all
            items = None
        if isinstance(items, list) and items:
            return [
                f"kwargs.{'.'.join(str(p) for p in item.get('loc', ())) or '?'}: {item.get('msg', item)}"
                for item in items
                if isinstance(item, dict)
            ]
    return [f"{type(exc).__name__}: {exc}"]


def _instantiate(spec: ExpectationSpec, registry: Any) -> tuple[Any, list[str]]:
    """The GX expectation object for ``spec``, or the reasons it cannot be built."""
    try:
        cls = registry.get_expectation_impl(spec.type)
    except Exception:
        known = registry.list_registered_expectation_implementations()
        close = difflib.get_close_matches(spec.type, known, n=3, cutoff=0.75)
        hint = (
            f"; did you mean {' or '.join(close)}?"
            if close
            else "; see https://greatexpectations.io/expectations/"
        )
        return None, [f"unknown Great Expectations expectation type {spec.type!r}{hint}"]
    meta = {"aigov_source": spec.source}
    kwargs = dict(spec.kwargs)
    user_meta = kwargs.pop("meta", None)
    if isinstance(user_meta, dict):
        meta = {**user_meta, **meta}
    if spec.description and "description" not in kwargs:
        kwargs["description"] = spec.description
    try:
        return cls(**kwargs, meta=meta), []
    except Exception as exc:
        return None, [f"invalid kwargs for {spec.type}: {msg}" for msg in _pydantic_problems(exc)]


def _build(specs: list[ExpectationSpec]) -> list[Any]:
    """The GX expectation objects for ``specs`` (imports GX). Raises :class:`PolicyError`."""
    gx_runtime()
    from great_expectations.expectations import registry

    expectations: list[Any] = []
    problems: list[tuple[str, str]] = []
    for spec in specs:
        expectation, errors = _instantiate(spec, registry)
        if errors:
            where = f"{_LOCATION}.{spec.source}" if spec.source else _LOCATION
            problems.extend((where, err) for err in errors)
        else:
            expectations.append(expectation)
    if problems:
        raise PolicyError("The output standard cannot be built into a Great Expectations suite.", problems)
    return expectations


def _check_name(name: str) -> None:
    if not name:
        raise ValueError("a suite needs a non-empty name (e.g. the use case id)")


def _suite(name: str, expectations: list[Any]) -> Any:
    suite = gx_runtime().gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation(expectation)
    log.debug("built GX suite %r with %d expectations", name, len(expectations))
    return suite


def build_expectations(standard: OutputStandard, *, allow_extra_columns: bool = True) -> list[Any]:
    """The GX expectation objects for ``standard`` (imports GX). Raises :class:`PolicyError`."""
    return _build(expectation_specs(standard, allow_extra_columns=allow_extra_columns))


def build_suite(standard: OutputStandard, name: str, *, allow_extra_columns: bool = True) -> Any:
    """A new ``great_expectations.core.ExpectationSuite`` named ``name`` for ``standard``.

    Extra columns (not declared as fields) are allowed unless ``allow_extra_columns=False``.
    Raises :class:`PolicyError` for settings that cannot become expectations, unknown custom
    expectation types and invalid custom kwargs (every problem, with its policy location).
    """
    _check_name(name)
    return _suite(name, build_expectations(standard, allow_extra_columns=allow_extra_columns))


def combined_rules(specs: list[ExpectationSpec]) -> list[dict[str, Any]]:
    """The built-in (non-custom) specs as the combined expectation's ``rules``."""
    return [{"type": s.type, "source": s.source, "kwargs": dict(s.kwargs)} for s in specs if not s.custom]


def build_verdict_suite(standard: OutputStandard, name: str, *, allow_extra_columns: bool = True) -> Any:
    """A new verdict suite for ``standard``: the combined expectation, then the custom expectations.

    It stands for the same expectations as :func:`build_suite` and passes exactly when that suite
    does, but names no failed rule: run :func:`build_suite`'s suite for the details.
    """
    _check_name(name)
    specs = expectation_specs(standard, allow_extra_columns=allow_extra_columns)
    combined = ExpectationSpec(
        COMBINED_EXPECTATION,
        {"rules": encode_rules(combined_rules(specs))},
        description="every built-in rule of the output standard, in one pass",
    )
    return _suite(name, _build([combined, *(s for s in specs if s.custom)]))
