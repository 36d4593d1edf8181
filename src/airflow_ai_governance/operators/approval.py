"""``HumanApprovalOperator``: Airflow's HITL approval with the governance rules added.

The task waits in ``awaiting_input``; assigned reviewers answer in the Airflow UI's Required
Actions page or by REST. Each answer is judged (:mod:`airflow_ai_governance.gates.approval`):
the owner and non-reviewers are refused, a quorum of distinct reviewers is counted on the exact
output hash, a timeout escalates one contact at a time, and without an approval the run ends
rejected. Decisions are kept in the sidecar, so a retry neither loses nor double-counts them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowSkipException, TaskAwaitingInput
from airflow.sdk.execution_time.hitl import upsert_hitl_detail

from airflow_ai_governance.exceptions import ApprovalRejected, ApprovalTimedOut
from airflow_ai_governance.gates import GovernedRunContext, finish, output_hash
from airflow_ai_governance.gates.approval import (
    OPTIONS,
    approvers_for,
    assigned_users,
    escalate,
    judge_response,
    record_timeout,
    required_approvals,
)
from airflow_ai_governance.notifications import (
    NotificationKind,
    approval_message,
    approval_subject,
    notify,
    recipients,
)
from airflow_ai_governance.operators.base import GovernedMixin, gate_errors
from airflow_ai_governance.plugins.urls import review_url

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
    parks, and a retry resumes from the decisions already recorded.
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
        digest = output_hash(self.ai_output)
        approvers = approvers_for(ctx, digest)
        if len(approvers) >= required_approvals(ctx.policy):  # a retry after the decision was kept
            self.log.info("Output %s already approved by %s", digest[:12], ", ".join(approvers))
            return self._approved(ctx, self.ai_output, digest, approvers)
        deadline = datetime.now(UTC) + self._approval_timeout(ctx)
        return self._park(
            context, ctx, digest, level=0, deadline=deadline.isoformat(), notify="approval_requested"
        )

    # ------------------------------------------------------------------------------- resumes
    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any],
        governed_run_id: str = "",
        digest: str = "",
        level: int = 0,
        deadline: str = "",
    ) -> Any:
        ctx = self.governance_resume(context, governed_run_id)
        current = output_hash(self.ai_output)
        if current != digest:  # the output changed while waiting: earlier answers do not apply
            self.log.warning(
                "The output changed while waiting (%s -> %s): asking again", digest[:12], current[:12]
            )
            return self._park(context, ctx, current, level=level, deadline=deadline)
        if "error" in event:
            return self._on_timeout(context, ctx, digest, level, deadline)
        user = event.get("responded_by_user") or {}
        with gate_errors():
            verdict = judge_response(
                ctx,
                responder=user.get("id"),
                chosen=list(event.get("chosen_options") or []),
                params_input=dict(event.get("params_input") or {}),
                output=self.ai_output,
                digest=digest,
                level=level,
            )
        self.log.info("Approval gate: %s (%s)", verdict.kind, verdict.message)
        if verdict.kind == "approved":
            return self._approved(ctx, verdict.output, verdict.output_hash or digest, verdict.approvers)
        if verdict.kind == "rejected":
            finish(
                ctx,
                "rejected",
                output_hash=digest,
                details={"gate": "human_approval", "reason": verdict.message},
            )
            if self.on_reject == "skip":
                raise AirflowSkipException(verdict.message)
            with gate_errors():
                raise ApprovalRejected(f"{self.use_case}: {verdict.message}", {"output_hash": digest})
        # refused or pending: ask again (a pending edit rebinds the approval to the edited output)
        return self._park(context, ctx, verdict.output_hash or digest, level=level, deadline=deadline)

    def _on_timeout(
        self, context: Context, ctx: GovernedRunContext, digest: str, level: int, deadline: str
    ) -> Any:
        reason = f"no decision on {self.use_case} output {digest[:12]} in time (escalation level {level})"
        if (
            datetime.now(UTC) < datetime.fromisoformat(deadline)
            and ctx.policy.effective_gates.escalate_on_timeout
        ):
            contact = escalate(ctx, level + 1, reason)
            if contact is not None:
                self.log.warning("Escalating to %s via %s: %s", contact.id, contact.channel, reason)
                return self._park(
                    context, ctx, digest, level=level + 1, deadline=deadline, notify="approval_escalated"
                )
        record_timeout(ctx, digest, reason)
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
        policy = ctx.policy
        approvers = approvers_for(ctx, digest)
        preview = json.dumps(self.ai_output, indent=2, default=str, ensure_ascii=False)
        if len(preview) > PREVIEW_CHARS:
            preview = preview[:PREVIEW_CHARS] + "\n... (truncated)"
        lines = [
            f"**Use case:** {policy.title} (`{policy.id}`, tier {int(policy.tier)}, policy v{ctx.policy_version})",
            f"**Owner:** {policy.owner.display if policy.owner else '-'} (cannot approve)",
            f"**Approvals needed:** {required_approvals(policy)} distinct reviewer(s); so far: "
            f"{', '.join(approvers) or 'none'}",
            f"**Output hash:** `{digest}` — the approval applies to exactly this output.",
        ]
        if level:
            lines.append(f"**Escalated** to level {level}.")
        if policy.review.allow_output_edits:
            lines.append("You may edit the output (JSON) before approving; the diff is kept.")
        lines += ["", "```json", preview, "```"]
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
        digest: str,
        *,
        level: int,
        deadline: str,
        notify: NotificationKind | None = None,
    ) -> Any:
        policy = ctx.policy
        self.assigned_users = assigned_users(policy)
        self.body = self._body(ctx, digest, level)
        params: dict[str, Any] = {"comment": Param("", type=["string", "null"], title="Comment")}
        if policy.review.allow_output_edits:
            params["output"] = Param(
                "", type=["string", "null"], title="Edited output (JSON, optional)", format="multiline"
            )
        self.params = ParamsDict(params)
        timeout = self._step_timeout(ctx, datetime.fromisoformat(deadline))
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
            self._notify(context, ctx, notify, level)
        self.log.info(
            "Waiting up to %s for %s (assigned: %s)",
            timeout,
            policy.id,
            ", ".join(u["id"] for u in self.assigned_users),
        )
        raise TaskAwaitingInput(
            method_name="execute_complete",
            timeout=timeout,
            kwargs={
                "governed_run_id": ctx.governed_run_id,
                "digest": digest,
                "level": level,
                "deadline": deadline,
            },
        )
