"""The data-boundary gate: approved inputs only, and the policy's action per sensitive entity type."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airflow_ai_governance.boundary import BoundaryAction, apply_boundary
from airflow_ai_governance.exceptions import DataBoundaryViolation
from airflow_ai_governance.gates.preflight import (
    GovernedRunContext,
    block,
    finish,
    output_hash,
    record_gate_check,
)
from airflow_ai_governance.policy import UseCasePolicy
from airflow_ai_governance.store import session_scope

INPUT_KINDS = ("asset", "connection", "table", "path")
CHECK = "data_boundary"


def input_ref(item: Any) -> str:
    """An approved-input reference for a string (``KIND:VALUE`` or URI) or an Airflow ``Asset``."""
    uri = getattr(item, "uri", None)
    return f"asset:{uri}" if isinstance(uri, str) else str(item)


def parse_input_ref(ref: str) -> tuple[str, str]:
    """``"table:finance.invoices"`` -> ``("table", "finance.invoices")``; a bare URI is an asset."""
    kind, sep, value = ref.partition(":")
    if sep and kind in INPUT_KINDS:
        return kind, value
    if "://" in ref:
        return "asset", ref
    raise ValueError(
        f"input {ref!r} must be written as KIND:VALUE with KIND one of {', '.join(INPUT_KINDS)} "
        "(e.g. table:finance.invoices, connection:erp_readonly, path:/data/x.csv) or be an asset URI"
    )


def unapproved_inputs(policy: UseCasePolicy, inputs: Iterable[str]) -> list[str]:
    """The inputs that match none of the policy's approved inputs."""
    bad = []
    for ref in inputs:
        kind, value = parse_input_ref(ref)
        if not any(approved.matches(kind, value) for approved in policy.approved_inputs):
            bad.append(ref)
    return bad


@dataclass(frozen=True, slots=True)
class BoundaryOutcome:
    data: Any
    outcome: str  # pass | redacted | recorded
    summary: dict[str, int]
    findings: int


def enforce_boundary(
    ctx: GovernedRunContext, data: Any, inputs: Iterable[str] = (), *, close_run: bool = True
) -> BoundaryOutcome:
    """Check inputs and scan ``data``; record the result; raise on a violation.

    Returns the data to pass on (redacted where the policy says so). Matched values are never
    stored or logged: the sidecar gets counts per entity type and field paths only. The check is
    recorded (committed) before this returns; with ``close_run=False`` (the gate runs inside the
    AI task) the run stays open for the AI call, otherwise it is closed as ``success``. A violation
    always closes the run as ``blocked``.
    """
    policy = ctx.policy
    boundary = policy.data_boundary
    inputs = list(inputs)
    bad = unapproved_inputs(policy, inputs)
    if bad:
        block(
            ctx,
            DataBoundaryViolation,
            f"inputs outside the approved inputs of {ctx.use_case_id!r}: {', '.join(bad)}",
            {"unapproved_inputs": bad, "approved": [f"{a.kind}:{a.pattern}" for a in policy.approved_inputs]},
            check=CHECK,
        )
    if boundary is None:
        block(
            ctx,
            DataBoundaryViolation,
            f"use case {ctx.use_case_id!r} has no data_boundary in its policy",
            {},
            check=CHECK,
        )
    actions = boundary.actions()
    try:
        result = apply_boundary(data, {str(t): a for t, a in actions.items()})
    except TypeError as exc:  # data the scanner cannot see into: refused, never passed on unscanned
        block(
            ctx,
            DataBoundaryViolation,
            f"data boundary of {ctx.use_case_id!r}: {exc}",
            {"inputs": inputs, "unscannable": str(exc)},
            check=CHECK,
        )
    summary = result.summary()
    paths = sorted({f.path for f in result.findings if f.path})[:50]
    details: dict[str, Any] = {"inputs": inputs, "found": summary, "paths": paths}
    if result.blocked:
        blocked = sorted({str(f.type) for f in result.blocked})
        details["blocked_types"] = blocked
        block(
            ctx,
            DataBoundaryViolation,
            f"data boundary of {ctx.use_case_id!r} blocks {', '.join(blocked)}: "
            f"{len(result.blocked)} finding(s) at {', '.join(sorted({f.path or '(text)' for f in result.blocked})[:5])}",
            details,
            check=CHECK,
        )
    if result.redacted:
        outcome = "redacted"
    elif any(actions[f.type] is BoundaryAction.RECORD for f in result.findings):
        outcome = "recorded"
    else:
        outcome = "pass"
    if not close_run:
        record_gate_check(ctx, outcome, details, check=CHECK)
        return BoundaryOutcome(result.data, outcome, summary, len(result.findings))
    with session_scope(ctx.db) as session:  # the check and the closed run record, together
        record_gate_check(ctx, outcome, details, session, check=CHECK)
        finish(
            ctx,
            "success",
            session,
            input_hash=output_hash(result.data),
            details={"gate": ctx.gate, "outcome": outcome},
        )
    return BoundaryOutcome(result.data, outcome, summary, len(result.findings))
