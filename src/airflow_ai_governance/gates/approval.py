"""The human-approval gate's rules, on top of Airflow's HITL request/response.

What HITL lacks and this adds: reviewers from the registry, the responder re-checked against them,
no self-approval by the owner, a quorum of distinct reviewers (tier 3), approval bound to the
output's hash, escalation along the escalation path on timeout, every decision in the sidecar.
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_ai_governance.gates.preflight import GovernedRunContext, output_hash
from airflow_ai_governance.policy import EscalationContact, UseCasePolicy
from airflow_ai_governance.store import append_event, list_approvals, open_escalation, record_approval

log = logging.getLogger(__name__)

APPROVE = "Approve"
REJECT = "Reject"
OPTIONS = [APPROVE, REJECT]

VerdictKind = Literal["approved", "rejected", "pending", "refused", "timeout"]


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    message: str
    output: Any = None
    output_hash: str | None = None
    approvers: tuple[str, ...] = field(default_factory=tuple)


def required_approvals(policy: UseCasePolicy) -> int:
    return max(1, policy.effective_gates.min_reviewers)


def escalation_contacts(policy: UseCasePolicy) -> list[EscalationContact]:
    return list(policy.escalation.contacts) if policy.escalation else []


def allowed_responders(policy: UseCasePolicy, level: int) -> set[str]:
    """Reviewers, plus the escalation contacts reached so far (``level`` steps); never the owner."""
    allowed = set(policy.reviewer_ids()) | {c.id for c in escalation_contacts(policy)[:level]}
    if policy.owner:
        allowed.discard(policy.owner.id)
    return allowed


def assigned_users(policy: UseCasePolicy) -> list[dict[str, str]]:
    """HITL assignees: reviewers and escalation contacts (contacts may answer once escalated to)."""
    users: dict[str, str] = {r.id: r.display for r in policy.reviewers}
    for contact in escalation_contacts(policy):
        users.setdefault(contact.id, contact.name or contact.id)
    if policy.owner:
        users.pop(policy.owner.id, None)
    return [{"id": uid, "name": name} for uid, name in users.items()]


def approvers_for(ctx: GovernedRunContext, digest: str) -> tuple[str, ...]:
    """Distinct reviewers who approved exactly this output (by hash) on this task instance."""
    t = ctx.task
    decisions = list_approvals(ctx.db, t.dag_id, t.run_id, t.task_id, t.map_index)
    return tuple(sorted({d.reviewer for d in decisions if d.choice == "approve" and d.output_hash == digest}))


def _refuse(ctx: GovernedRunContext, responder: str | None, reason: str) -> Verdict:
    append_event(
        ctx.db,
        event_type="approval_refused",
        actor=responder or "unknown",
        use_case_id=ctx.use_case_id,
        governed_run_id=ctx.governed_run_id,
        payload={**ctx.task.as_dict(), "reason": reason},
    )
    log.warning("Approval answer refused: %s", reason)
    return Verdict("refused", reason)


def _edited_output(output: Any, params_input: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """The reviewer's edited output (from the ``output`` form field, JSON) and the kept diff."""
    raw = params_input.get("output")
    if raw in (None, ""):
        return output, None
    edited = json.loads(raw) if isinstance(raw, str) else raw
    before = json.dumps(output, indent=2, sort_keys=True, default=str).splitlines()
    after = json.dumps(edited, indent=2, sort_keys=True, default=str).splitlines()
    if before == after:
        return output, None
    diff = "\n".join(difflib.unified_diff(before, after, "proposed", "approved", lineterm=""))
    return edited, {"diff": diff, "original_hash": output_hash(output)}


def judge_response(
    ctx: GovernedRunContext,
    *,
    responder: str | None,
    chosen: list[str],
    params_input: dict[str, Any],
    output: Any,
    digest: str,
    level: int,
) -> Verdict:
    """Apply the gate's rules to one HITL answer and record what it decided."""
    policy = ctx.policy
    if responder is None:
        return _refuse(ctx, None, "an answer without a responder (a timeout default) never approves")
    if policy.owner and responder == policy.owner.id:
        return _refuse(ctx, responder, f"{responder} owns {ctx.use_case_id!r} and cannot approve its output")
    if responder not in allowed_responders(policy, level):
        return _refuse(ctx, responder, f"{responder} is not a reviewer of {ctx.use_case_id!r}")
    comment = params_input.get("comment") or None

    if chosen != [APPROVE]:
        record_decision(ctx, responder, "reject", digest, comment)
        return Verdict("rejected", f"{responder} rejected the output", output, digest, ())
    edits: dict[str, Any] | None = None
    if policy.review.allow_output_edits:
        output, edits = _edited_output(output, params_input)
    elif params_input.get("output") not in (None, ""):
        return _refuse(ctx, responder, f"the policy of {ctx.use_case_id!r} does not allow reviewers to edit")
    if edits:
        digest = output_hash(output)
    record_decision(ctx, responder, "approve", digest, comment, edits)
    approvers = approvers_for(ctx, digest)
    needed = required_approvals(policy)
    if len(approvers) >= needed:
        return Verdict("approved", f"approved by {', '.join(approvers)}", output, digest, approvers)
    return Verdict(
        "pending",
        f"{len(approvers)} of {needed} distinct approvals of output {digest[:12]} so far ({', '.join(approvers)})",
        output,
        digest,
        approvers,
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
) -> None:
    """One decision on this task instance's output (idempotent per reviewer and output hash)."""
    t = ctx.task
    record_approval(
        ctx.db,
        use_case_id=ctx.use_case_id,
        dag_id=t.dag_id,
        run_id=t.run_id,
        task_id=t.task_id,
        map_index=t.map_index,
        reviewer=reviewer,
        choice=choice,
        comment=comment,
        output_hash=digest,
        edits=edits,
        governed_run_id=ctx.governed_run_id,
    )


def record_timeout(ctx: GovernedRunContext, digest: str, reason: str) -> None:
    """No answer in time and no one left to escalate to: recorded as a ``timeout`` decision."""
    record_decision(ctx, "(timeout)", "timeout", digest, reason)
