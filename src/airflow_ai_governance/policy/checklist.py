"""The go-live checklist: what a use case must satisfy before entering a lifecycle state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_ai_governance.policy.identity import same_identity
from airflow_ai_governance.policy.lifecycle import READINESS_ORDER, LifecycleState
from airflow_ai_governance.policy.models import SENSITIVITY_RANK, DataClass, UseCasePolicy
from airflow_ai_governance.policy.scoring import Recommendation, score


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    title: str
    passed: bool
    detail: str
    required_for: LifecycleState
    required: bool = True  # False: recommended only, never blocks

    @property
    def blocking(self) -> bool:
        return self.required and not self.passed


@dataclass(frozen=True, slots=True)
class Checklist:
    use_case_id: str
    target: LifecycleState
    items: list[ChecklistItem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(item.blocking for item in self.items)

    @property
    def failures(self) -> list[ChecklistItem]:
        return [item for item in self.items if item.blocking]

    def as_dict(self) -> dict[str, object]:
        return {
            "use_case": self.use_case_id,
            "target": str(self.target),
            "passed": self.passed,
            "items": [
                {
                    "key": i.key,
                    "title": i.title,
                    "passed": i.passed,
                    "required": i.required,
                    "required_for": str(i.required_for),
                    "detail": i.detail,
                }
                for i in self.items
            ],
        }


Check = Callable[[UseCasePolicy], tuple[bool, str]]
_CHECKS: list[tuple[str, str, LifecycleState, Check]] = []


def _check(key: str, title: str, required_for: LifecycleState) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        _CHECKS.append((key, title, required_for, fn))
        return fn

    return register


A, P, PROD = LifecycleState.APPROVED, LifecycleState.PILOT, LifecycleState.PRODUCTION


@_check("owner", "An owner is named", A)
def _owner(p: UseCasePolicy) -> tuple[bool, str]:
    return (p.owner is not None, f"owner: {p.owner.id}" if p.owner else "no owner: name who owns the result")


@_check("reviewers", "Reviewers are named", A)
def _reviewers(p: UseCasePolicy) -> tuple[bool, str]:
    need = max(1, p.effective_gates.min_reviewers)
    have = len(p.reviewers)
    detail = f"{have} reviewer(s), tier {int(p.tier)} needs at least {need}"
    return have >= need, detail if have else f"no reviewers; {detail}"


@_check("data_boundary", "A data boundary is set", A)
def _boundary(p: UseCasePolicy) -> tuple[bool, str]:
    if p.data_boundary is None:
        return False, "no data_boundary: list the allowed data classes and the action per entity type"
    classes = ", ".join(str(c) for c in p.data_boundary.allowed_data_classes)
    return True, f"allowed data classes: {classes}; default action {p.data_boundary.default_action}"


@_check("approved_inputs", "Approved inputs are listed", A)
def _inputs(p: UseCasePolicy) -> tuple[bool, str]:
    n = len(p.approved_inputs)
    return (
        n > 0,
        f"{n} approved input(s)" if n else "no approved_inputs: list assets, connections, tables or paths",
    )


@_check("output_standard", "An output standard is set", A)
def _standard(p: UseCasePolicy) -> tuple[bool, str]:
    s = p.output_standard
    return (
        s is not None,
        f"{len(s.fields)} field(s), on failure: {s.on_failure}" if s else "no output_standard",
    )


@_check("escalation", "An escalation path is set", A)
def _escalation(p: UseCasePolicy) -> tuple[bool, str]:
    e = p.escalation
    if e is None:
        return False, "no escalation path: name who is contacted when a run fails or a review stalls"
    return True, " -> ".join(f"{c.id} ({c.channel})" for c in e.contacts)


@_check("selection", "The use case is worth it (selection score)", A)
def _selection(p: UseCasePolicy) -> tuple[bool, str]:
    s = score(p.selection)
    return (
        s.recommendation is not Recommendation.REJECT,
        f"score {s.value} ({s.recommendation}): " + "; ".join(s.reasons),
    )


@_check("infrastructure", "Public vs owned infrastructure is justified", A)
def _infrastructure(p: UseCasePolicy) -> tuple[bool, str]:
    infra = p.infrastructure
    if infra is None:
        return False, "no infrastructure: record public or owned, and why"
    if p.data_boundary is not None:
        widest = max(p.data_boundary.allowed_data_classes, key=SENSITIVITY_RANK.__getitem__)
        if SENSITIVITY_RANK[widest] > SENSITIVITY_RANK[infra.data_sensitivity]:
            return False, (
                f"the data boundary admits {widest} data but infrastructure.data_sensitivity says "
                f"{infra.data_sensitivity}: make them agree"
            )
    sensitive = SENSITIVITY_RANK[infra.data_sensitivity] >= SENSITIVITY_RANK[DataClass.CONFIDENTIAL]
    if infra.choice == "public" and sensitive:
        just = infra.public_justification
        if just is None:
            return (
                False,
                f"public tools with {infra.data_sensitivity} data need a reviewed public_justification",
            )
        if p.owner is not None and same_identity(just.reviewed_by, p.owner.id):
            return False, "the public_justification must be reviewed by someone other than the owner"
        return (
            True,
            f"public with {infra.data_sensitivity} data, justified and reviewed by {just.reviewed_by}",
        )
    return True, f"{infra.choice}: {infra.rationale}"


@_check("standard_documented", "The output standard is documented", P)
def _documented(p: UseCasePolicy) -> tuple[bool, str]:
    s = p.output_standard
    if s is None:
        return False, "no output standard to document"
    undocumented = [f.name for f in s.fields if not f.description]
    if undocumented:
        return False, f"fields without a description: {', '.join(undocumented)}"
    return True, s.description


@_check("gates_enforceable", "The tier's gates can be enforced", P)
def _gates(p: UseCasePolicy) -> tuple[bool, str]:
    g = p.effective_gates
    problems = []
    if g.human_approval and len(p.reviewers) < g.min_reviewers:
        problems.append(f"approval needs {g.min_reviewers} distinct reviewers, {len(p.reviewers)} named")
    if g.escalate_on_timeout and p.escalation is None:
        problems.append("timeouts escalate, but there is no escalation path")
    if g.data_boundary and p.data_boundary is None:
        problems.append("the data boundary gate has no data_boundary to enforce")
    if g.output_standard and p.output_standard is None:
        problems.append("the output standard gate has no output_standard to validate")
    gates = [n for n in ("data_boundary", "output_standard", "human_approval") if getattr(g, n)]
    return not problems, "; ".join(problems) or f"tier {int(p.tier)} gates: {', '.join(gates)}"


@_check("logging", "Run logging is on", PROD)
def _logging(p: UseCasePolicy) -> tuple[bool, str]:
    on = p.monitoring.logging and p.effective_gates.run_logging
    return on, "runs, checks and decisions are logged to the sidecar" if on else "monitoring.logging is off"


@_check("success_measure", "A success measure is defined", PROD)
def _success(p: UseCasePolicy) -> tuple[bool, str]:
    m = p.success_measure
    if m is None:
        return False, "no success_measure: the cadence review needs a metric and a target"
    return True, f"{m.metric} {m.comparison} {m.target} over {m.window}"


@_check("monitoring", "The owner monitors quality (drift task scheduled)", PROD)
def _monitoring(p: UseCasePolicy) -> tuple[bool, str]:
    task = p.monitoring.drift_task
    if task and "." not in task:
        return False, f"monitoring.drift_task {task!r} must be `dag_id.task_id`"
    if task:
        return True, f"drift monitored by {task}, reviewed every {p.effective_gates.review_cadence_days} days"
    return False, "no monitoring.drift_task: schedule a drift monitor the owner watches"


@_check("escalation_reachable", "The escalation path is reachable", PROD)
def _reachable(p: UseCasePolicy) -> tuple[bool, str]:
    if p.escalation is None:
        return False, "no escalation path"
    bad = [f"{c.id} ({c.channel}: {c.address!r})" for c in p.escalation.contacts if not c.reachable]
    if bad:
        return False, "contacts with an address their channel cannot reach: " + ", ".join(bad)
    return True, f"{len(p.escalation.contacts)} contact(s), approval timeout {p.escalation.approval_timeout}"


def build_checklist(policy: UseCasePolicy, target: LifecycleState | str | None = None) -> Checklist:
    """Every check required to enter ``target`` (default: the policy's declared state)."""
    goal = LifecycleState(target or policy.state)
    if goal in (LifecycleState.SUSPENDED, LifecycleState.RETIRED):
        return Checklist(policy.id, goal)
    rank = READINESS_ORDER.index(goal)
    items: list[ChecklistItem] = []
    for key, title, required_for, fn in _CHECKS:
        if READINESS_ORDER.index(required_for) > rank:
            continue
        passed, detail = fn(policy)
        required = not (key == "monitoring" and not policy.effective_gates.drift_monitor)
        items.append(ChecklistItem(key, title, passed, detail, required_for, required))
    return Checklist(policy.id, goal, items)
