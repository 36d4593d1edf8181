"""``HumanApprovalOperator``: Airflow's HITL approval with the governance rules added.

The task waits in ``awaiting_input``; assigned reviewers answer in the Airflow UI's Required
Actions page or by REST. Each answer is judged (:mod:`airflow_ai_governance.gates.approval`):
the owner and non-reviewers are refused, a quorum of distinct reviewers is counted on the exact
output hash, a timeout escalates one contact at a time, and without an approval the run ends
rejected. Only answers Airflow delivered to this task instance count: the quorum so far travels
in the task's deferral kwargs; the sidecar keeps the record (decisions, the request for the inbox
and review view) and is never read back to decide. A retry starts the quorum over.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowSkipException, TaskAwaitingInput
from airflow.sdk.execution_time.hitl import get_hitl_detail_content_detail, upsert_hitl_detail

from airflow_ai_governance.exceptions import ApprovalRejected, ApprovalTimedOut
from airflow_ai_governance.gates import GovernedRunContext, finish, output_hash
from airflow_ai_governance.gates.approval import (
    OPTIONS,
    Decision,
    approvers_for,
    assigned_users,
    decisions_from_kwargs,
    escalate,
    judge_response,
    record_timeout,
    report_leftover_answer,
    report_uncounted,
    required_approvals,
)
from airflow_ai_governance.gates.preflight import _hash_default
from airflow_ai_governance.notifications import (
    NotificationKind,
    approval_message,
    approval_subject,
    notify,
    recipients,
)
from airflow_ai_governance.operators.base import GovernedMixin, gate_errors, task_ref
from airflow_ai_governance.plugins.urls import review_url
from airflow_ai_governance.store import append_event, close_approval_request, save_approval_request

if TYPE_CHECKING:
    from airflow.sdk import Context

PREVIEW_CHARS = 4000


class HumanApprovalOperator(GovernedMixin, HITLOperator):
    """Wait for the reviewers of ``use_case`` to approve ``output``; return the approved output.

    :param use_case: the registered use case; its policy names the reviewers, the quorum, the
        escalation path and whether reviewers may edit the output.
    :param ai_output: the AI output to approve (templated; usually the output-standard task's XComArg).
    :param on_reject: ``"fail"`` (default) fails the task with ``ApprovalRejected``; ``"skip"``
        skips it and its downstream tasks.
    :param notifiers: Airflow notifiers called when the request opens and at each escalation.

    Retries are on by default (2): Airflow 3.3 can fail a HITL task whose answer lands right as it
    parks. A retry asks again and counts anew (an answer the failed try did not consume is
    recorded as not counted); nothing kept in the sidecar is counted.
    """

    governance_gate = "human_approval"
    template_fields: Sequence[str] = ("subject", "body", "ai_output")
    template_fields_renderers = {"ai_output": "json", "body": "md"}
    ui_color = "#fff3bf"

    def __init__(
        self,
        *,
        use_case: str,
        ai_output: Any,
        on_reject: Literal["fail", "skip"] = "fail",
        subject: str | None = None,
        retries: int = 2,
        retry_delay: timedelta = timedelta(seconds=5),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            subject=subject or f"Approve the AI output of use case {use_case}",
            options=list(OPTIONS),
            retries=retries,
            retry_delay=retry_delay,
            **kwargs,
        )
        if on_reject not in ("fail", "skip"):
            raise ValueError(f"{self.task_id}: on_reject must be 'fail' or 'skip', not {on_reject!r}")
        self.use_case = use_case
        self.ai_output = ai_output
        self.on_reject = on_reject

    # ------------------------------------------------------------------------------ first run
    def execute(self, context: Context) -> Any:
        ctx = self.governance_preflight(context)
        t = ctx.task
        digest = output_hash(self.ai_output)
        if t.try_number > 1:  # a retry starts the quorum over: what an earlier try counted is gone
            close_approval_request(ctx.db, **t.as_dict(), try_number=t.try_number - 1)
            self._report_leftover_answer(context, ctx)
        # Rows already in the sidecar for this task instance were not delivered to this try.
        reported = report_uncounted(ctx, ())
        deadline = datetime.now(UTC) + self._approval_timeout(ctx)
        state = _Round(ctx.governed_run_id, digest, digest, 0, deadline.isoformat(), reported=reported)
        return self._park(context, ctx, state, notify="approval_requested")

    # ------------------------------------------------------------------------------- resumes
    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any],
        governed_run_id: str = "",
        digest: str = "",
        level: int = 0,
        deadline: str = "",
        source_hash: str = "",
        decisions: list[dict[str, Any]] | None = None,
        output: Any = None,
        edited: bool = False,
        reported: list[int] | None = None,
    ) -> Any:
        try:
            ctx = self.governance_resume(context, governed_run_id)
        except BaseException:
            self._close_request(context, "closed")
            raise
        state = _Round(
            governed_run_id,
            digest,
            source_hash or digest,  # parked by an earlier version: the digest was the source's
            level,
            deadline,
            decisions_from_kwargs(decisions),
            output,
            edited,
            list(reported or []),
        )
        current = output_hash(self.ai_output)
        if current != state.source_hash:  # the AI output changed while waiting: earlier answers do not apply
            reason = (
                f"the output changed while waiting ({state.source_hash[:12]} -> {current[:12]}): asking again"
            )
            self.log.warning(reason)
            if "error" not in event:
                _record_unjudged(ctx, event, reason)
            fresh = _Round(ctx.governed_run_id, current, current, level, deadline, reported=state.reported)
            return self._park(context, ctx, fresh)
        under_review = state.output if state.edited else self.ai_output
        if "error" in event:
            return self._on_timeout(context, ctx, state)
        user = event.get("responded_by_user") or {}
        with gate_errors():
            verdict = judge_response(
                ctx,
                responder=user.get("id"),
                chosen=list(event.get("chosen_options") or []),
                params_input=dict(event.get("params_input") or {}),
                output=under_review,
                digest=state.digest,
                level=level,
                decisions=state.decisions,
                responded_at=event.get("responded_at"),
            )
        self.log.info("Approval gate: %s (%s)", verdict.kind, verdict.message)
        final = verdict.output_hash or state.digest
        if verdict.kind in ("approved", "rejected"):
            report_uncounted(ctx, verdict.decisions, state.reported)
            self._save_request(
                ctx, state, final, verdict.output, status=verdict.kind, approvers=verdict.approvers
            )
        if verdict.kind == "approved":
            return self._approved(ctx, verdict.output, final, verdict.approvers)
        if verdict.kind == "rejected":
            finish(
                ctx,
                "rejected",
                output_hash=state.digest,
                details={"gate": "human_approval", "reason": verdict.message},
            )
            if self.on_reject == "skip":
                raise AirflowSkipException(verdict.message)
            with gate_errors():
                raise ApprovalRejected(f"{self.use_case}: {verdict.message}", {"output_hash": state.digest})
        # refused or pending: ask again; an accepted edit is now the output under review
        edited_now = state.edited or verdict.edited
        return self._park(
            context,
            ctx,
            replace(
                state,
                digest=final,
                decisions=verdict.decisions,
                output=verdict.output if edited_now else None,
                edited=edited_now,
            ),
        )

    def _on_timeout(self, context: Context, ctx: GovernedRunContext, state: _Round) -> Any:
        level, digest = state.level, state.digest
        reason = f"no decision on {self.use_case} output {digest[:12]} in time (escalation level {level})"
        if (
            datetime.now(UTC) < datetime.fromisoformat(state.deadline)
            and ctx.policy.effective_gates.escalate_on_timeout
        ):
            contact = escalate(ctx, level + 1, reason)
            if contact is not None:
                self.log.warning("Escalating to %s via %s: %s", contact.id, contact.channel, reason)
                return self._park(context, ctx, replace(state, level=level + 1), notify="approval_escalated")
        record_timeout(ctx, digest, reason)
        report_uncounted(ctx, state.decisions, state.reported)
        self._save_request(
            ctx,
            state,
            digest,
            self._under_review(state),
            status="timeout",
            approvers=approvers_for(state.decisions, digest),
        )
        finish(ctx, "timeout", output_hash=digest, details={"gate": "human_approval", "reason": reason})
        with gate_errors():
            raise ApprovalTimedOut(f"{reason}; ends rejected, never approved", {"output_hash": digest})

    # ------------------------------------------------------------------------------- helpers
    def _approved(self, ctx: GovernedRunContext, output: Any, digest: str, approvers: Sequence[str]) -> Any:
        finish(
            ctx,
            "success",
            output_hash=digest,
            details={"gate": "human_approval", "approvers": list(approvers)},
        )
        return output

    def _under_review(self, state: _Round) -> Any:
        return state.output if state.edited else self.ai_output

    def _save_request(
        self,
        ctx: GovernedRunContext,
        state: _Round,
        digest: str,
        output: Any,
        *,
        status: str = "open",
        approvers: Sequence[str] = (),
    ) -> None:
        """The sidecar's record of this request (inbox, review view): never read back by the gate."""
        t = ctx.task
        save_approval_request(
            ctx.db,
            use_case_id=ctx.use_case_id,
            policy_version=ctx.policy_version,
            **t.as_dict(),
            try_number=t.try_number,
            output_hash=digest,
            output=_jsonable(output),
            approvals_needed=required_approvals(ctx.policy),
            status=status,
            level=state.level,
            approvers=list(approvers),
            deadline=datetime.fromisoformat(state.deadline) if state.deadline else None,
            governed_run_id=ctx.governed_run_id,
        )

    def _close_request(self, context: Context, status: str) -> None:
        """Best effort: the request of this try is closed when the gate cannot go on."""
        try:
            t = task_ref(context)
            close_approval_request(None, **t.as_dict(), try_number=t.try_number, status=status)
        except Exception:  # the sidecar may be what failed: the original error is what matters
            self.log.exception("Could not close the approval request record")

    def _report_leftover_answer(self, context: Context, ctx: GovernedRunContext) -> None:
        """An answer Airflow holds from the previous try (it ended before consuming it): recorded."""
        try:
            detail = get_hitl_detail_content_detail(context["task_instance"].id)
        except Exception:  # no request yet (first park of this task instance), or not readable
            return
        if getattr(detail, "response_received", False):
            report_leftover_answer(ctx, detail)

    @staticmethod
    def _approval_timeout(ctx: GovernedRunContext) -> timedelta:
        esc = ctx.policy.escalation
        return esc.approval_timeout if esc else timedelta(hours=24)

    @staticmethod
    def _step_timeout(ctx: GovernedRunContext, deadline: datetime) -> timedelta:
        esc = ctx.policy.escalation
        remaining = deadline - datetime.now(UTC)
        step = esc.step_timeout if esc and ctx.policy.effective_gates.escalate_on_timeout else remaining
        return max(min(step, remaining), timedelta(seconds=1))

    def _body(self, ctx: GovernedRunContext, digest: str, level: int) -> str:
        """The request's body. Airflow keeps the body of a task instance's first request (later
        rounds, edits and retries do not change it): the live state is on the review page."""
        policy = ctx.policy
        t = ctx.task
        link = review_url(t.dag_id, t.run_id, t.task_id, t.map_index)
        text = json.dumps(self.ai_output, indent=2, default=str, ensure_ascii=False)
        whole = len(text) <= PREVIEW_CHARS
        preview = text if whole else text[:PREVIEW_CHARS] + "\n... (preview ends here)"
        size = f"{len(self.ai_output)} records, " if isinstance(self.ai_output, list) else ""
        lines = [
            f"**Use case:** {policy.title} (`{policy.id}`, tier {int(policy.tier)}, policy v{ctx.policy_version})",
            f"**Owner:** {policy.owner.display if policy.owner else '-'} (cannot approve)",
            f"**Approvals needed:** {required_approvals(policy)} distinct reviewer(s).",
            f"**Output hash:** `{digest}` — the approval applies to exactly this output.",
            f"**Review page:** [{link}]({link}) — the whole output, the approvals so far, edits, "
            "refused answers and their reasons, live.",
        ]
        if level:
            lines.append(f"**Escalated** to level {level}.")
        if policy.review.allow_output_edits:
            lines.append(
                "You may edit the output before approving: paste the whole edited output as JSON. "
                "The edit must meet the use case's output standard (else it is refused, with the "
                "reason on the review page, and the request stays open); an accepted edit becomes "
                "the output under review and the count of approvals starts over on it."
            )
        if whole:
            lines += ["", f"The whole output ({size}{len(text):,} characters):"]
        else:
            lines += [
                "",
                f"**This is a preview**: the first {PREVIEW_CHARS:,} of {len(text):,} characters "
                f"({size}cut here). Approve only what you have seen: open the whole output on the "
                f"review page: {link}",
            ]
        lines += ["```json", preview, "```"]
        return "\n".join(lines)

    def _notify(self, context: Context, ctx: GovernedRunContext, kind: NotificationKind, level: int) -> None:
        """The DAG author's notifiers, then the policy's contacts through their channels (C3)."""
        for notifier in self.notifiers:
            notifier(context)
        t = ctx.task
        notify(
            kind,
            policy=ctx.policy,
            contacts=recipients(kind, ctx.policy, level),
            subject=approval_subject(ctx.policy, kind, level),
            message=approval_message(
                ctx.policy, t.dag_id, t.run_id, t.task_id, level=level, needed=required_approvals(ctx.policy)
            ),
            link=review_url(t.dag_id, t.run_id, t.task_id, t.map_index),
            context=context,
            governed_run_id=ctx.governed_run_id or None,
        )

    def _park(
        self,
        context: Context,
        ctx: GovernedRunContext,
        state: _Round,
        *,
        notify: NotificationKind | None = None,
    ) -> Any:
        policy = ctx.policy
        self.assigned_users = assigned_users(policy)
        self.body = self._body(ctx, state.digest, state.level)
        params: dict[str, Any] = {"comment": Param("", type=["string", "null"], title="Comment")}
        if policy.review.allow_output_edits:
            params["output"] = Param(
                "",
                type=["string", "null"],
                title="Edited output (JSON, optional; must meet the output standard)",
                format="multiline",
            )
        self.params = ParamsDict(params)
        self._save_request(
            ctx,
            state,
            state.digest,
            self._under_review(state),
            approvers=approvers_for(state.decisions, state.digest),
        )
        timeout = self._step_timeout(ctx, datetime.fromisoformat(state.deadline))
        upsert_hitl_detail(
            ti_id=context["task_instance"].id,
            options=self.options,
            subject=self.subject,
            body=self.body,
            defaults=None,
            multiple=False,
            params=self.serialized_params,
            assigned_users=self.assigned_users,
        )
        if notify is not None:  # the request opened, or an escalation step: tell the people concerned
            self._notify(context, ctx, notify, state.level)
        self.log.info(
            "Waiting up to %s for %s (assigned: %s)",
            timeout,
            policy.id,
            ", ".join(u["id"] for u in self.assigned_users),
        )
        # The quorum so far travels in the deferral kwargs Airflow keeps for this task instance
        # (written only by it and by Airflow's response handler), never read back from the sidecar.
        raise TaskAwaitingInput(method_name="execute_complete", timeout=timeout, kwargs=state.to_kwargs())


@dataclass(frozen=True, slots=True)
class _Round:
    """What the gate carries from one request round to the next (the task's deferral kwargs)."""

    governed_run_id: str
    digest: str  # the output under review
    source_hash: str  # the AI output as the task received it
    level: int
    deadline: str
    decisions: tuple[Decision, ...] = ()
    output: Any = None  # a reviewer's accepted edit, when ``edited``
    edited: bool = False
    reported: list[int] = field(default_factory=list)  # sidecar rows reported as not counted

    def to_kwargs(self) -> dict[str, Any]:
        return {
            "governed_run_id": self.governed_run_id,
            "digest": self.digest,
            "source_hash": self.source_hash,
            "level": self.level,
            "deadline": self.deadline,
            "decisions": [d.to_kwargs() for d in self.decisions],
            "output": _jsonable(self.output) if self.edited else None,
            "edited": self.edited,
            "reported": list(self.reported),
        }


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (records of a DataFrame, a model's fields, ...)."""
    return json.loads(json.dumps(value, default=_hash_default, ensure_ascii=False))


def _record_unjudged(ctx: GovernedRunContext, event: dict[str, Any], reason: str) -> None:
    """An answer that arrived for an output that is no longer the one under review: recorded."""
    user = event.get("responded_by_user") or {}
    t = ctx.task
    append_event(
        ctx.db,
        event_type="approval_refused",
        actor=str(user.get("id") or "unknown"),
        use_case_id=ctx.use_case_id,
        governed_run_id=ctx.governed_run_id,
        payload={
            **t.as_dict(),
            "try_number": t.try_number,
            "chosen": list(event.get("chosen_options") or []),
            "responded_at": str(event.get("responded_at")),
            "reason": reason,
        },
    )
