"""The output-standard gate: the AI output against the GX suite built from the policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_ai_governance.exceptions import OutputStandardFailed
from airflow_ai_governance.gates.preflight import (
    GovernedRunContext,
    block,
    finish,
    output_hash,
    record_gate_check,
)
from airflow_ai_governance.store import session_scope


@dataclass(frozen=True, slots=True)
class StandardOutcome:
    output: Any  # what passes on: all of it, or the valid rows when quarantining
    outcome: str  # pass | quarantined
    report: dict[str, Any]
    quarantined: list[Any]


CHECK = "output_standard"


def enforce_output_standard(
    ctx: GovernedRunContext, output: Any, *, run_fields: dict[str, Any] | None = None
) -> StandardOutcome:
    """Validate ``output``; record the result; block (raise) or quarantine on failure.

    Quarantine passes the valid rows on and holds the others back (returned in ``quarantined``);
    a table-level failure, or no valid row left, blocks. The sidecar gets the report (counts,
    expectation types, row indexes), never sample values. Either way the run is closed (``success``
    or ``blocked``) in the same transaction as the check; ``run_fields`` are further figures for
    the closed run record (the AI call's, when the gate runs inside the AI task).
    """
    from airflow_ai_governance.quality import split_valid_rows, validate_output

    standard = ctx.policy.output_standard
    if standard is None:
        block(
            ctx,
            OutputStandardFailed,
            f"use case {ctx.use_case_id!r} has no output_standard in its policy",
            {},
            check=CHECK,
        )
    try:
        report = validate_output(output, standard, name=ctx.use_case_id)
    except (TypeError, ValueError) as exc:  # not tabular, or a standard GX cannot build: blocked, recorded
        block(
            ctx,
            OutputStandardFailed,
            f"output of {ctx.use_case_id!r} cannot be validated: {exc}",
            {"error": f"{type(exc).__name__}: {exc}"[:2000]},
            check=CHECK,
        )
    details = report.to_dict()
    if report.success:  # the AI task already hashed this very output for its run record
        _record(
            ctx, "pass", details, (run_fields or {}).get("output_hash") or output_hash(output), run_fields
        )
        return StandardOutcome(output, "pass", details, [])
    if standard.on_failure == "quarantine":
        good, bad = split_valid_rows(output, report)
        if len(good):
            details["quarantined_rows"] = len(bad)
            _record(ctx, "quarantined", details, output_hash(good), run_fields)
            return StandardOutcome(good, "quarantined", details, bad)
    block(
        ctx,
        OutputStandardFailed,
        f"output of {ctx.use_case_id!r} fails its output standard: {report.message}",
        details,
        check=CHECK,
    )


def _record(
    ctx: GovernedRunContext,
    outcome: str,
    details: dict[str, Any],
    passed_hash: str,
    run_fields: dict[str, Any] | None,
) -> None:
    """The check and the closed run record (``output_hash``: what passes on), in one transaction."""
    fields = {**(run_fields or {}), "output_hash": passed_hash}
    summary: dict[str, Any] = {"gate": ctx.gate, "outcome": outcome}
    if run_fields and run_fields.get("output_hash") not in (None, fields["output_hash"]):
        summary["ai_output_hash"] = run_fields["output_hash"]  # what the model returned, before quarantine
    with session_scope(ctx.db) as session:
        record_gate_check(ctx, outcome, details, session, check=CHECK)
        finish(ctx, "success", session, details=summary, **fields)
