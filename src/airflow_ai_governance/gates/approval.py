"""The human-approval gate's rules, on top of Airflow's HITL request/response.

What HITL lacks and this adds: reviewers from the registry, the responder re-checked against them,
no self-approval by the owner, a quorum of distinct reviewers (tier 3), approval bound to the
output's hash, reviewers' edits checked against the output standard, escalation along the
escalation path on timeout, every answer recorded in the sidecar.

**Where the quorum comes from.** Only answers Airflow delivered to this task instance count: the
resume event of a HITL response (the responder's identity from Airflow's auth manager, the chosen
option, Airflow's time of the answer). Airflow keeps one response per HITL row, so the decisions
counted so far travel with the task in its deferral kwargs (``next_kwargs``), which only the task
instance itself (its execution-API token is scoped to it) and Airflow's response handler write.
The sidecar's ``approval_decision`` rows are the *record*, never the source of truth: a row that
no delivered answer corroborates (written by another task, by SQL, for another map index or try)
is ignored and reported (audit event ``approval_ignored``). A new try starts the quorum over.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from airflow_ai_governance.gates.preflight import GovernedRunContext, output_hash
from airflow_ai_governance.policy import EscalationContact, UseCasePolicy
from airflow_ai_governance.policy.identity import normalize_identity, same_identity
from airflow_ai_governance.store import (
    append_event,
    list_approvals,
    open_escalation,
    record_approval,
    record_check,
)

log = logging.getLogger(__name__)

APPROVE = "Approve"
REJECT = "Reject"
OPTIONS = [APPROVE, REJECT]

VerdictKind = Literal["approved", "rejected", "pending", "refused", "timeout"]


@dataclass(frozen=True, slots=True)
class Decision:
    """An answer Airflow delivered and the gate counted, carried in the task's deferral kwargs."""

    reviewer: str
    choice: Literal["approve", "reject"]
    output_hash: str
    responded_at: str  # ISO 8601, Airflow's time of the answer

    def to_kwargs(self) -> dict[str, str]:
        return {
            "reviewer": self.reviewer,
            "choice": self.choice,
            "output_hash": self.output_hash,
            "responded_at": self.responded_at,
        }

    @classmethod
    def from_kwargs(cls, value: Mapping[str, Any]) -> Decision:
        choice = value["choice"]
        if choice not in ("approve", "reject"):
            raise ValueError(f"not a decision: {value!r}")
        return cls(str(value["reviewer"]), choice, str(value["output_hash"]), str(value["responded_at"]))


def decisions_from_kwargs(values: Iterable[Mapping[str, Any]] | None) -> tuple[Decision, ...]:
    return tuple(Decision.from_kwargs(v) for v in values or ())


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    message: str
    output: Any = None
    output_hash: str | None = None
    approvers: tuple[str, ...] = field(default_factory=tuple)
    #: The decisions counted so far after this answer (carried to the next round).
    decisions: tuple[Decision, ...] = field(default_factory=tuple)
    #: Whether ``output`` is a reviewer's edit (which then is the output under review).
    edited: bool = False


def required_approvals(policy: UseCasePolicy) -> int:
    return max(1, policy.effective_gates.min_reviewers)


def escalation_contacts(policy: UseCasePolicy) -> list[EscalationContact]:
    return list(policy.escalation.contacts) if policy.escalation else []


def allowed_responders(policy: UseCasePolicy, level: int) -> set[str]:
    """Reviewers, plus the escalation contacts reached so far (``level`` steps); never the owner."""
    allowed = set(policy.reviewer_ids()) | {c.id for c in escalation_contacts(policy)[:level]}
    if policy.owner:
        allowed = {a for a in allowed if not same_identity(a, policy.owner.id)}
    return allowed


def assigned_users(policy: UseCasePolicy) -> list[dict[str, str]]:
    """HITL assignees: reviewers and escalation contacts (contacts may answer once escalated to)."""
    users: dict[str, str] = {r.id: r.display for r in policy.reviewers}
    for contact in escalation_contacts(policy):
        users.setdefault(contact.id, contact.name or contact.id)
    if policy.owner:
        users = {uid: name for uid, name in users.items() if not same_identity(uid, policy.owner.id)}
    return [{"id": uid, "name": name} for uid, name in users.items()]


def approvers_for(decisions: Iterable[Decision], digest: str) -> tuple[str, ...]:
    """Distinct reviewers (by normalised identity) whose delivered answer approved exactly this output."""
    seen: dict[str, str] = {}
    for d in decisions:
        if d.choice == "approve" and d.output_hash == digest:
            seen.setdefault(normalize_identity(d.reviewer), d.reviewer)
    return tuple(sorted(seen.values(), key=normalize_identity))


def _iso(value: Any) -> str:
    """Airflow's ``responded_at`` (a datetime after serde, or text) as ISO 8601 UTC."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str) and value:
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    else:
        moment = datetime.now(UTC)
    return moment.astimezone(UTC).isoformat()


def _answer_payload(
    ctx: GovernedRunContext, chosen: Sequence[str], responded_at: str | None, reason: str
) -> dict[str, Any]:
    t = ctx.task
    return {
        **t.as_dict(),
        "try_number": t.try_number,
        "chosen": list(chosen),
        "responded_at": responded_at,
        "reason": reason,
    }


def _refuse(
    ctx: GovernedRunContext,
    responder: str | None,
    reason: str,
    decisions: tuple[Decision, ...] = (),
    *,
    chosen: Sequence[str] = (),
    responded_at: str | None = None,
    output: Any = None,
    digest: str | None = None,
) -> Verdict:
    """Record the answer as refused (audit: ``approval_refused``, with the reason); nothing counts."""
    append_event(
        ctx.db,
        event_type="approval_refused",
        actor=responder or "unknown",
        use_case_id=ctx.use_case_id,
        governed_run_id=ctx.governed_run_id,
        payload=_answer_payload(ctx, chosen, responded_at, reason),
    )
    log.warning("Approval answer refused: %s", reason)
    return Verdict("refused", reason, output, digest, approvers_for(decisions, digest or ""), decisions)


class EditRefused(Exception):
    """A reviewer's edited output that cannot be approved (the reason is shown to reviewers)."""


def _parse_edit(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EditRefused(
            f"the edited output is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "nothing was approved: answer again with the whole output as JSON, or leave the field empty"
        ) from None


def _diff(output: Any, edited: Any) -> str:
    before = json.dumps(output, indent=2, sort_keys=True, default=str).splitlines()
    after = json.dumps(edited, indent=2, sort_keys=True, default=str).splitlines()
    return "\n".join(difflib.unified_diff(before, after, "proposed", "approved", lineterm=""))


def check_edit(ctx: GovernedRunContext, edited: Any, reviewer: str) -> dict[str, Any]:
    """An edit must meet the use case's output standard in full (no quarantine of an edit).

    Returns the validation report; raises :class:`EditRefused` with the failed expectations.
    """
    from airflow_ai_governance.quality import validate_output

    standard = ctx.policy.output_standard
    if standard is None:
        raise EditRefused(
            f"use case {ctx.use_case_id!r} has no output_standard to check an edit against: edits are refused"
        )
    try:
        report = validate_output(edited, standard, name=ctx.use_case_id)
    except (TypeError, ValueError) as exc:
        raise EditRefused(
            f"the edited output cannot be validated against the output standard: {exc}"
        ) from None
    if not report.success:
        failed = "; ".join(f.describe() for f in report.failures) or report.message
        raise EditRefused(f"the edited output fails the output standard ({failed}); nothing was approved")
    details = report.to_dict()
    record_check(
        ctx.db,
        use_case_id=ctx.use_case_id,
        check="output_standard",
        outcome="pass",
        governed_run_id=ctx.governed_run_id,
        details={**details, "edited_by": reviewer, "output_hash": output_hash(edited)},
        actor=reviewer,
    )
    return details


def judge_response(
    ctx: GovernedRunContext,
    *,
    responder: str | None,
    chosen: list[str],
    params_input: dict[str, Any],
    output: Any,
    digest: str,
    level: int,
    decisions: Sequence[Decision] = (),
    responded_at: Any = None,
) -> Verdict:
    """Apply the gate's rules to one answer Airflow delivered, and record what it decided.

    ``decisions`` are the answers counted so far on this try (from the task's deferral kwargs);
    the quorum is counted on them and this answer only, never on rows of the sidecar.
    """
    policy = ctx.policy
    kept = tuple(decisions)
    when = _iso(responded_at)

    def refuse(who: str | None, reason: str) -> Verdict:
        return _refuse(ctx, who, reason, kept, chosen=chosen, responded_at=when, output=output, digest=digest)

    if responder is None:
        return refuse(None, "an answer without a responder (a timeout default) never approves")
    if any(same_identity(d.reviewer, responder) and d.responded_at == when for d in kept):
        return refuse(responder, f"a replayed answer of {responder} (answered at {when}) is counted once")
    if policy.owner and same_identity(responder, policy.owner.id):
        return refuse(responder, f"{responder} owns {ctx.use_case_id!r} and cannot approve its output")
    if normalize_identity(responder) not in {
        normalize_identity(a) for a in allowed_responders(policy, level)
    }:
        return refuse(responder, f"{responder} is not a reviewer of {ctx.use_case_id!r}")
    comment = params_input.get("comment") or None
    raw_edit = params_input.get("output")

    if chosen != [APPROVE]:
        record_decision(ctx, responder, "reject", digest, comment, responded_at=when)
        rejected = (*kept, Decision(responder, "reject", digest, when))
        return Verdict(
            "rejected", f"{responder} rejected the output", output, digest, (), rejected, edited=False
        )
    edits: dict[str, Any] | None = None
    edited = False
    if raw_edit not in (None, ""):
        if not policy.review.allow_output_edits:
            return refuse(responder, f"the policy of {ctx.use_case_id!r} does not allow reviewers to edit")
        try:
            candidate = _parse_edit(raw_edit)
            if output_hash(candidate) != digest:
                check_edit(ctx, candidate, responder)
                edits = {"diff": _diff(output, candidate), "original_hash": digest}
                output, digest, edited = candidate, output_hash(candidate), True
        except EditRefused as exc:
            return refuse(responder, str(exc))
    record_decision(ctx, responder, "approve", digest, comment, edits, responded_at=when)
    counted = (*kept, Decision(responder, "approve", digest, when))
    approvers = approvers_for(counted, digest)
    needed = required_approvals(policy)
    if len(approvers) >= needed:
        return Verdict(
            "approved", f"approved by {', '.join(approvers)}", output, digest, approvers, counted, edited
        )
    restarted = " (the quorum restarts on the edited output)" if edited else ""
    return Verdict(
        "pending",
        f"{len(approvers)} of {needed} distinct approvals of output {digest[:12]} so far "
        f"({', '.join(approvers)}){restarted}",
        output,
        digest,
        approvers,
        counted,
        edited,
    )


def _same_answer(row: Any, d: Decision, try_number: int) -> bool:
    if row.try_number != try_number or row.responded_at is None:
        return False
    return (
        same_identity(row.reviewer, d.reviewer)
        and row.choice == d.choice
        and row.output_hash == d.output_hash
        and _iso(row.responded_at) == d.responded_at
    )


def report_uncounted(
    ctx: GovernedRunContext, decisions: Sequence[Decision], already_reported: Iterable[int] = ()
) -> list[int]:
    """Report (audit: ``approval_ignored``) the sidecar's decision rows of this task instance that
    no answer delivered to this try corroborates: never counted. Returns the ids reported now."""
    t = ctx.task
    reported = set(already_reported)
    new: list[int] = []
    for row in list_approvals(ctx.db, t.dag_id, t.run_id, t.task_id, t.map_index):
        if row.id in reported or row.choice == "timeout":
            continue
        if any(_same_answer(row, d, t.try_number) for d in decisions):
            continue
        reason = (
            f"decision row {row.id} ({row.reviewer}: {row.choice} of output {row.output_hash[:12]}) is not "
            f"an answer Airflow delivered to try {t.try_number} of this task instance: not counted "
            "(a row written to the sidecar, or an answer of an earlier try: a retry asks again)"
        )
        append_event(
            ctx.db,
            event_type="approval_ignored",
            actor="airflow",
            use_case_id=ctx.use_case_id,
            governed_run_id=ctx.governed_run_id,
            payload={
                **t.as_dict(),
                "try_number": t.try_number,
                "decision_id": row.id,
                "reviewer": row.reviewer,
                "choice": row.choice,
                "output_hash": row.output_hash,
                "row_try_number": row.try_number,
                "reason": reason,
            },
        )
        log.warning("Approval gate: %s", reason)
        new.append(row.id)
    return new


def report_leftover_answer(ctx: GovernedRunContext, detail: Any) -> None:
    """An answer Airflow still holds from an earlier try (the try ended before it was consumed):
    recorded as not counted; the new try asks again."""
    user = getattr(detail, "responded_by_user", None)
    who = getattr(user, "id", None) if user is not None else None
    reason = (
        f"an answer given during an earlier try ({who or 'no responder'}: "
        f"{', '.join(getattr(detail, 'chosen_options', None) or []) or '-'}) was not consumed by it; "
        f"try {ctx.task.try_number} starts the quorum over and asks again"
    )
    append_event(
        ctx.db,
        event_type="approval_ignored",
        actor=str(who or "unknown"),
        use_case_id=ctx.use_case_id,
        governed_run_id=ctx.governed_run_id,
        payload=_answer_payload(
            ctx,
            list(getattr(detail, "chosen_options", None) or []),
            _iso(getattr(detail, "responded_at", None)),
            reason,
        ),
    )


def escalate(ctx: GovernedRunContext, level: int, reason: str) -> EscalationContact | None:
    """Open the next escalation step (``level`` is 1-based); ``None`` when the path is exhausted."""
    contacts = escalation_contacts(ctx.policy)
    if level > len(contacts):
        return None
    contact = contacts[level - 1]
    t = ctx.task
    open_escalation(
        ctx.db,
        use_case_id=ctx.use_case_id,
        dag_id=t.dag_id,
        run_id=t.run_id,
        task_id=t.task_id or None,
        level=level,
        contact=contact.id,
        channel=contact.channel,
        reason=reason,
        governed_run_id=ctx.governed_run_id or None,
    )
    return contact


def record_decision(
    ctx: GovernedRunContext,
    reviewer: str,
    choice: Literal["approve", "reject", "timeout"],
    digest: str,
    comment: str | None = None,
    edits: dict[str, Any] | None = None,
    *,
    responded_at: str | None = None,
) -> None:
    """Record one answer on this task instance's output (the record; the gate never reads it back)."""
    t = ctx.task
    record_approval(
        ctx.db,
        use_case_id=ctx.use_case_id,
        **t.as_dict(),
        reviewer=reviewer,
        choice=choice,
        comment=comment,
        output_hash=digest,
        edits=edits,
        governed_run_id=ctx.governed_run_id,
        try_number=t.try_number,
        responded_at=datetime.fromisoformat(responded_at or _iso(None)),
    )


def record_timeout(ctx: GovernedRunContext, digest: str, reason: str) -> None:
    """No answer in time and no one left to escalate to: recorded as a ``timeout`` decision."""
    record_decision(ctx, "(timeout)", "timeout", digest, reason)
