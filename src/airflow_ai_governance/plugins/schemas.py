"""Response and request models of the governance API (published in its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from airflow_ai_governance.policy.lifecycle import LifecycleState


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Me(_Out):
    user: str
    roles: list[str]
    governance: bool = Field(description="Holds a governance role: sees every use case, takes decisions.")


class GateRate(_Out):
    check: str
    passed: int
    total: int
    rate: float | None = Field(description="passed / total over the window; null without checks")


class UseCaseSummary(_Out):
    id: str
    title: str
    tier: int
    state: str
    owner: str | None
    current_version: int
    updated_at: datetime
    last_run_at: datetime | None = None
    runs_30d: int = 0
    gate_pass_rates: list[GateRate] = Field(default_factory=list, description="Last 30 days, per gate.")
    drift_status: Literal["ok", "drifted", "unmeasured"] = "unmeasured"
    drifted_features: list[str] = Field(default_factory=list)
    next_review_due: datetime | None = None
    review_overdue: bool = False


class UseCasePage(_Out):
    items: list[UseCaseSummary]
    total: int = Field(description="Use cases matching the filters that this user may see.")
    next: str | None = Field(description="Cursor for the next page (pass as `after`), null on the last.")


class Transition(_Out):
    from_state: str | None
    to_state: str
    actor: str
    reason: str
    policy_version: int | None
    at: datetime


class PolicyVersionOut(_Out):
    version: int
    content_hash: str
    created_by: str
    created_at: datetime
    source_path: str | None
    current: bool
    diff: str | None = Field(description="Unified diff (YAML) from the previous version; null for v1.")


class ChecklistItemOut(_Out):
    key: str
    title: str
    passed: bool
    required: bool
    required_for: str
    detail: str


class ChecklistOut(_Out):
    use_case: str
    target: str
    passed: bool
    items: list[ChecklistItemOut]


class ScoreOut(_Out):
    value: float
    recommendation: str
    reasons: list[str]


class CheckOut(_Out):
    check: str
    outcome: str
    at: datetime


class RunOut(_Out):
    id: str
    use_case_id: str
    policy_version: int
    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    map_index: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    model_id: str | None
    model_version: str | None
    latency_ms: float | None
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None
    checks: list[CheckOut] = Field(default_factory=list)


class DecisionOut(_Out):
    reviewer: str
    choice: str
    comment: str | None
    output_hash: str
    at: datetime
    diff: str | None = Field(default=None, description="The reviewer's edit of the output, as a diff.")
    counted: bool = Field(
        default=True,
        description="False for a row the approval gate ignored: no answer Airflow delivered to the task "
        "corroborates it (written by another task, by SQL, or for another try).",
    )


class RunDetail(RunOut):
    prompt_hash: str | None
    input_hash: str | None
    output_hash: str | None
    details: dict[str, Any] | None
    decisions: list[DecisionOut]


class RunPage(_Out):
    items: list[RunOut]
    next_before: datetime | None = Field(
        description="Pass as `before` for older runs; null on the last page."
    )


class EscalationOut(_Out):
    id: int
    dag_id: str
    run_id: str
    task_id: str | None
    level: int
    contact: str
    channel: str
    reason: str
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


class ReviewOut(_Out):
    reviewer: str
    outcome: str
    notes: str | None
    metric_value: float | None
    at: datetime
    next_due: datetime | None


class DriftPoint(_Out):
    feature: str
    statistic: str
    value: float
    threshold: float
    drifted: bool
    at: datetime


class ApprovalItem(_Out):
    """One approval request, as the inbox lists it."""

    use_case_id: str
    use_case_title: str
    tier: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    status: str
    level: int
    approvers: list[str]
    approvals_needed: int
    opened_at: datetime
    closed_at: datetime | None
    deadline: datetime | None
    waiting_seconds: float = Field(description="Since the request opened (until it closed).")
    review_url: str = Field(description="Path of the review page.")
    required_actions_url: str = Field(description="Path of the task's Required Actions page in Airflow.")
    may_answer: bool = Field(description="This user may still answer it.")


class ApprovalPage(_Out):
    items: list[ApprovalItem]
    total: int
    offset: int
    limit: int


class UseCaseDetail(UseCaseSummary):
    description: str | None
    policy: dict[str, Any]
    gates: dict[str, Any]
    score: ScoreOut | None
    checklist: ChecklistOut | None = Field(description="Go-live checklist towards the next state.")
    versions: list[PolicyVersionOut]
    transitions: list[Transition]
    runs: list[RunOut]
    approvals: list[ApprovalItem]
    escalations: list[EscalationOut]
    reviews: list[ReviewOut]
    drift: list[DriftPoint] = Field(description="Latest measurement per feature and statistic.")
    actions: list[Action] = Field(description="Lifecycle decisions, and whether this user may take them.")
    policy_changes: list[PolicyChangeOut] = Field(description="Changes that loosen control, newest first.")


class Action(_Out):
    action: Literal["promote", "suspend", "reinstate", "retire"]
    to: str
    allowed: bool
    why_not: str | None = None


class Responder(_Out):
    user: str
    role: str = Field(description="Why they may answer: reviewer, or escalation contact at a level.")
    answered: bool


class OutputPage(_Out):
    kind: Literal["table", "object", "value"]
    columns: list[str]
    rows: list[list[Any]] = Field(description="Rows of this page (table: one per record; object: key/value).")
    page: int
    page_size: int
    total_rows: int
    pages: int


class BoundaryResult(_Out):
    outcome: str
    at: datetime
    found: dict[str, int] = Field(description="Findings per entity type (never the values).")
    blocked_types: list[str] = Field(default_factory=list)


class FailedExpectationOut(_Out):
    expectation_type: str
    column: str | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None


class StandardResult(_Out):
    outcome: str
    at: datetime
    success: bool | None
    evaluated: int | None
    failed: int | None
    rows: int | None
    failed_expectations: list[str] = Field(default_factory=list)
    failures: list[FailedExpectationOut] = Field(default_factory=list)


class TimelineEntry(_Out):
    at: datetime
    actor: str
    event_type: str
    summary: str


class Review(_Out):
    """Everything a reviewer needs about one approval request (contract C1)."""

    request: ApprovalItem
    use_case_title: str
    policy_version: int
    owner: str | None
    output_hash: str
    output: OutputPage
    boundary: BoundaryResult | None
    output_standard: StandardResult | None
    decisions: list[DecisionOut]
    edits: list[DecisionOut] = Field(description="Answers that edited the output, with the diff.")
    timeline: list[TimelineEntry] = Field(description="Answers, refusals and escalations, oldest first.")
    responders: list[Responder] = Field(description="Who may answer now, and why.")
    not_allowed: list[str] = Field(description="People who may not answer, with the reason.")
    airflow_task_url: str


class AuditEventOut(_Out):
    seq: int
    event_id: str
    at: datetime
    use_case_id: str | None
    governed_run_id: str | None
    actor: str
    event_type: str
    payload: Any
    prev_hash: str
    hash: str


class AuditPage(_Out):
    items: list[AuditEventOut]
    next_after_seq: int | None


class VerifyOut(_Out):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
    head_seq: int
    verified_at: datetime
    seconds: float
    cached: bool


class DayCount(_Out):
    day: str
    check: str
    outcome: str
    count: int


class LatencyPoint(_Out):
    dag_id: str
    run_id: str
    task_id: str
    opened_at: datetime
    closed_at: datetime | None
    status: str
    seconds: float


class Metrics(_Out):
    gate_outcomes: list[DayCount]
    approval_latency: list[LatencyPoint]
    drift_series: list[DriftPoint]


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("a decision needs a reason")
    if "\x00" in value:
        raise ValueError("the reason must not contain NUL characters")
    return value.strip()


Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_reason)]


class TransitionIn(BaseModel):
    """A lifecycle decision; the decider is the authenticated user, never a field of the request."""

    model_config = ConfigDict(extra="forbid")

    to: LifecycleState
    reason: Reason


class DecisionIn(BaseModel):
    """A decision on a policy change; the decider is the authenticated user."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class LooseningOut(_Out):
    field: str
    old: Any
    new: Any
    message: str


class PolicyChangeOut(_Out):
    """A policy version that loosens control: it waits for a second person before it is in force."""

    use_case_id: str
    version: int
    base_version: int = Field(description="The version in force while the change waits.")
    status: str = Field(description="pending, approved, rejected or superseded")
    loosenings: list[LooseningOut]
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


class PolicyChangeList(_Out):
    items: list[PolicyChangeOut] = Field(description="Newest first.")


class TransitionOut(Transition):
    use_case_id: str


UseCaseDetail.model_rebuild()
