"""``loosenings(old, new)``: which policy changes loosen control (issue 8, item 4).

Each case changes one thing of the shipped tier-3 policy. A loosening must be found (with its
field), and the change made the other way round (tightening) must find nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_ai_governance.policy import UseCasePolicy, load_policy
from airflow_ai_governance.policy.changes import NOT_CONTROLS, control_fields, loosenings

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def base() -> Doc:
    repo = Path(__file__).resolve().parents[3]
    return load_policy(repo / "dags" / "governance" / "product_claims.yaml").policy.document()


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        if value is _DELETE:
            if isinstance(target, list):
                del target[int(last)]
            else:
                target.pop(last, None)
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


_DELETE = object()


def _both(*fns: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        for fn in fns:
            fn(doc)

    return apply


def _noop(doc: Doc) -> None:
    return None


# (id, how the old version differs from the base, how the new one does, expected loosened field)
CASES: list[tuple[str, Callable[[Doc], None], Callable[[Doc], None], str]] = [
    ("tier lower", _noop, _set("tier", 1), "tier"),
    ("tier lower (2)", _noop, _set("tier", 2), "tier"),
    ("approval turned off by a lower tier", _noop, _set("tier", 1), "gates.human_approval"),
    ("fewer min_reviewers", _set("gates.min_reviewers", 3), _noop, "gates.min_reviewers"),
    ("review cadence longer", _set("gates.review_cadence_days", 7), _noop, "gates.review_cadence_days"),
    (
        "review cadence via review.cadence_days",
        _both(_set("gates.review_cadence_days", _DELETE), _set("review.cadence_days", 7)),
        _set("gates.review_cadence_days", _DELETE),
        "gates.review_cadence_days",
    ),
    ("a strict gate override dropped", _set("gates.drift_monitor", True), _set("tier", 3), None),
    ("owner changed", _noop, _set("owner", {"id": "mallory"}), "owner"),
    ("owner removed", _noop, _set("owner", _DELETE), "owner"),
    ("reviewer removed", _noop, _set("reviewers.2", _DELETE), "reviewers"),
    ("reviewer added", _noop, lambda d: d["reviewers"].append({"id": "mallory"}), "reviewers"),
    ("reviewer swapped", _noop, _set("reviewers.2", {"id": "mallory"}), "reviewers"),
    ("data boundary removed", _noop, _set("data_boundary", _DELETE), "data_boundary"),
    (
        "default action block -> redact",
        _noop,
        _set("data_boundary.default_action", "redact"),
        "data_boundary.default_action",
    ),
    (
        "default action block -> record",
        _noop,
        _set("data_boundary.default_action", "record"),
        "data_boundary.default_action",
    ),
    (
        "entity redact -> record",
        _noop,
        _set("data_boundary.entities.IP_ADDRESS", "record"),
        "data_boundary.entities.IP_ADDRESS",
    ),
    (
        "entity block -> redact",
        _noop,
        _set("data_boundary.entities.CREDIT_CARD", "redact"),
        "data_boundary.entities.CREDIT_CARD",
    ),
    (
        "listed entity dropped to a weaker default",
        _set("data_boundary.default_action", "redact"),
        _both(
            _set("data_boundary.default_action", "redact"),
            _set("data_boundary.entities", {"IP_ADDRESS": "redact", "SECRET": "record"}),
        ),
        "data_boundary.entities.SECRET",
    ),
    (
        "data class widened",
        _noop,
        _set("data_boundary.allowed_data_classes", ["public", "internal", "personal"]),
        "data_boundary.allowed_data_classes",
    ),
    (
        "approved input added",
        _noop,
        lambda d: d["approved_inputs"].append({"table": "hr.salaries"}),
        "approved_inputs",
    ),
    (
        "approved path widened",
        _noop,
        _set("approved_inputs.2", {"path": "**/example_data/**"}),
        "approved_inputs",
    ),
    ("approved table glob", _noop, _set("approved_inputs.1", {"table": "marketing.*"}), "approved_inputs"),
    ("output standard removed", _noop, _set("output_standard", _DELETE), "output_standard"),
    (
        "block -> quarantine",
        _noop,
        _set("output_standard.on_failure", "quarantine"),
        "output_standard.on_failure",
    ),
    (
        "output field removed",
        _noop,
        _set("output_standard.fields.2", _DELETE),
        "output_standard.fields.benchmark_id",
    ),
    (
        "output field optional",
        _noop,
        _set("output_standard.fields.0.required", False),
        "output_standard.fields.claim_id",
    ),
    (
        "output field nullable",
        _noop,
        _set("output_standard.fields.0.nullable", True),
        "output_standard.fields.claim_id",
    ),
    (
        "output field type",
        _noop,
        _set("output_standard.fields.0.type", "integer"),
        "output_standard.fields.claim_id",
    ),
    (
        "output pattern removed",
        _noop,
        _set("output_standard.fields.0.pattern", _DELETE),
        "output_standard.fields.claim_id",
    ),
    (
        "output pattern changed",
        _noop,
        _set("output_standard.fields.0.pattern", "^.*$"),
        "output_standard.fields.claim_id",
    ),
    (
        "max_length raised",
        _noop,
        _set("output_standard.fields.1.max_length", 2800),
        "output_standard.fields.claim",
    ),
    (
        "min_length lowered",
        _noop,
        _set("output_standard.fields.1.min_length", 1),
        "output_standard.fields.claim",
    ),
    (
        "max_length dropped",
        _noop,
        _set("output_standard.fields.1.max_length", _DELETE),
        "output_standard.fields.claim",
    ),
    (
        "min raised bound dropped",
        _set("output_standard.fields.1", {"name": "claim", "type": "number", "min": 0, "max": 1}),
        _set("output_standard.fields.1", {"name": "claim", "type": "number", "max": 1}),
        "output_standard.fields.claim",
    ),
    (
        "max raised",
        _set("output_standard.fields.1", {"name": "claim", "type": "number", "min": 0, "max": 1}),
        _set("output_standard.fields.1", {"name": "claim", "type": "number", "min": 0, "max": 5}),
        "output_standard.fields.claim",
    ),
    (
        "allowed values widened",
        _set("output_standard.fields.2.allowed_values", ["BM-1"]),
        _set("output_standard.fields.2.allowed_values", ["BM-1", "BM-2"]),
        "output_standard.fields.benchmark_id",
    ),
    (
        "allowed values dropped",
        _set("output_standard.fields.2.allowed_values", ["BM-1"]),
        _noop,
        "output_standard.fields.benchmark_id",
    ),
    (
        "unique dropped",
        _noop,
        _set("output_standard.fields.0.unique", False),
        "output_standard.fields.claim_id",
    ),
    ("min_rows lowered", _noop, _set("output_standard.min_rows", 0), "output_standard.min_rows"),
    ("max_rows raised", _noop, _set("output_standard.max_rows", 200), "output_standard.max_rows"),
    ("max_rows dropped", _noop, _set("output_standard.max_rows", _DELETE), "output_standard.max_rows"),
    (
        "custom expectation removed",
        _noop,
        _set("output_standard.custom_expectations", []),
        "output_standard.custom_expectations",
    ),
    (
        "custom expectation changed",
        _noop,
        _set("output_standard.custom_expectations.0.kwargs.regex", "(?i)never"),
        "output_standard.custom_expectations",
    ),
    ("escalation removed", _noop, _set("escalation", _DELETE), "escalation"),
    ("escalation contact removed", _noop, _set("escalation.contacts.1", _DELETE), "escalation.contacts"),
    (
        "escalation contact added",
        _noop,
        lambda d: d["escalation"]["contacts"].append(
            {"id": "mallory", "channel": "email", "address": "m@example.com"}
        ),
        "escalation.contacts",
    ),
    (
        "escalation address diverted",
        _noop,
        _set("escalation.contacts.1.address", "mallory@example.com"),
        "escalation.contacts",
    ),
    ("escalation reordered", _noop, lambda d: d["escalation"]["contacts"].reverse(), "escalation.contacts"),
    (
        "approval timeout longer",
        _noop,
        _set("escalation.approval_timeout", "30d"),
        "escalation.approval_timeout",
    ),
    ("step timeout longer", _noop, _set("escalation.step_timeout", "2d"), "escalation.step_timeout"),
    ("output edits allowed", _set("review.allow_output_edits", False), _noop, "review.allow_output_edits"),
    ("logging off", _noop, _set("monitoring.logging", False), "monitoring.logging"),
    ("drift task removed", _noop, _set("monitoring.drift_task", _DELETE), "monitoring.drift_task"),
    ("psi threshold higher", _noop, _set("drift.psi_threshold", 0.9), "drift.psi_threshold"),
    ("ks p-value lower", _noop, _set("drift.ks_pvalue", 0.0001), "drift.ks_pvalue"),
    ("chi2 p-value lower", _noop, _set("drift.chi2_pvalue", 0.0001), "drift.chi2_pvalue"),
    (
        "drift feature dropped",
        _set("drift.features", ["claim", "benchmark_id"]),
        _set("drift.features", ["claim"]),
        "drift.features",
    ),
    ("owned -> public", _set("infrastructure.choice", "owned"), _noop, "infrastructure.choice"),
    ("infrastructure removed", _noop, _set("infrastructure", _DELETE), "infrastructure"),
    (
        "data sensitivity lowered",
        _noop,
        _set("infrastructure.data_sensitivity", "public"),
        "infrastructure.data_sensitivity",
    ),
    (
        "public justification changed",
        _set(
            "infrastructure.public_justification",
            {"text": "reviewed and fine for this", "reviewed_by": "gina", "reviewed_on": "2026-01-01"},
        ),
        _set(
            "infrastructure.public_justification",
            {"text": "reviewed and fine for this!", "reviewed_by": "mallory", "reviewed_on": "2026-01-01"},
        ),
        "infrastructure.public_justification",
    ),
]


#: Changes that loosen control whichever way they go: a different person, pattern or contact is
#: not comparable as stricter or looser, so it always waits for a second person.
SYMMETRIC = {
    "owner changed",
    "reviewer removed",
    "reviewer added",
    "reviewer swapped",
    "approved path widened",
    "output field type",
    "output pattern changed",
    "custom expectation changed",
    "escalation contact removed",
    "escalation contact added",
    "escalation address diverted",
    "escalation reordered",
    "public justification changed",
}


@pytest.mark.parametrize(("name", "old_fn", "new_fn", "field"), CASES, ids=[c[0] for c in CASES])
def test_each_loosening_is_found_and_its_reverse_is_not(
    base: Doc, name: str, old_fn: Callable[[Doc], None], new_fn: Callable[[Doc], None], field: str | None
) -> None:
    old, new = copy.deepcopy(base), copy.deepcopy(base)
    old_fn(old)
    new_fn(new)
    found = loosenings(old, new)
    if field is None:  # the case documents a change that is not a loosening
        assert found == []
        return
    assert field in {entry.field for entry in found}, found
    assert all(entry.message for entry in found)
    back = {entry.field for entry in loosenings(new, old)}
    if name in SYMMETRIC:
        assert field in back
    else:
        assert field not in back, f"the reverse change (tightening) was flagged: {back}"


def test_an_identical_policy_loosens_nothing(base: Doc) -> None:
    assert loosenings(base, copy.deepcopy(base)) == []


@pytest.mark.parametrize(
    "change",
    [
        _set("title", "New title"),
        _set("description", "A longer description of the same use case."),
        _set("tags", ["x"]),
        _set("selection.recurrence", 1),
        _set("success_measure.target", 0.5),
        _set("state", "pilot"),
        _set("owner.name", "Paula P."),
        _set("owner.id", "Paula"),  # same identity, other case
        _set("reviewers.0.email", "lena.legal@example.com"),
        lambda d: d["reviewers"].reverse(),
        _set("output_standard.description", "Claims cite a benchmark, stay short and avoid superlatives."),
        lambda d: d["output_standard"]["fields"].append({"name": "note", "type": "string"}),  # a new field
        _set("data_boundary.entities.IP_ADDRESS", "block"),  # stricter
        _set("approved_inputs", []),  # fewer inputs
        _set("approved_inputs.2", {"path": "/srv/dags/example_data/benchmarks/q4.csv"}),  # narrower
        _set("escalation.approval_timeout", "1d"),  # shorter
        _set("review.allow_output_edits", False),
    ],
)
def test_changes_that_are_not_loosenings(base: Doc, change: Callable[[Doc], None]) -> None:
    new = copy.deepcopy(base)
    change(new)
    assert loosenings(base, new) == []


def test_every_policy_field_is_classified() -> None:
    """A new top-level policy field must be compared (a rule in policy/changes.py) or declared
    not to be a control (NOT_CONTROLS): nothing is left unjudged."""
    compared = control_fields()
    assert compared.isdisjoint(NOT_CONTROLS)
    assert compared | NOT_CONTROLS == set(UseCasePolicy.model_fields)


def test_documents_written_under_older_rules_still_compare(base: Doc) -> None:
    old = copy.deepcopy(base)
    old["approved_inputs"][2] = {"path": "*/example_data/benchmarks/*.csv"}  # refused by today's rules
    assert [e.field for e in loosenings(old, base)] == ["approved_inputs"]
