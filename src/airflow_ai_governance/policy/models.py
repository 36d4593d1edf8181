"""The use-case policy: everything the operating model names, as validated pydantic models.

A policy file is YAML (see ``dags/governance/*.yaml`` and ``docs/policy.md``). Loading with precise
file/line/field errors lives in :mod:`airflow_ai_governance.policy.loader`.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from airflow_ai_governance.boundary.types import BoundaryAction, EntityType
from airflow_ai_governance.policy import inputs
from airflow_ai_governance.policy.durations import Duration
from airflow_ai_governance.policy.identity import identity_problem, normalize_identity, skeleton
from airflow_ai_governance.policy.lifecycle import LifecycleState
from airflow_ai_governance.policy.tiers import Gates, Tier, effective_gates, weakenings

_ID = r"^[a-z0-9][a-z0-9_.-]{1,126}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


def _person_from_str(value: Any) -> Any:
    return {"id": value} if isinstance(value, str) else value


def _checked_identity(value: str) -> str:
    problem = identity_problem(value)
    if problem:
        raise ValueError(f"user id {value!r} {problem}")
    return value


#: A user id as the auth manager knows it (see :mod:`airflow_ai_governance.policy.identity`).
UserId = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_checked_identity)]


class Person(_Model):
    """Someone who holds a role; ``id`` is their Airflow user id (used for HITL assignment)."""

    id: UserId
    name: str | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    @property
    def display(self) -> str:
        return self.name or self.id


PersonRef = Annotated[Person, BeforeValidator(_person_from_str)]


class Selection(_Model):
    """Use-case selection scores, 1 (poor) to 5 (strong)."""

    recurrence: int = Field(ge=1, le=5, description="How often the work recurs.")
    measurability: int = Field(ge=1, le=5, description="How clearly 'good' can be defined and measured.")
    decision_impact: int = Field(
        ge=1, le=5, description="How much a better/faster output changes a decision."
    )
    notes: str | None = None


class DataClass(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PERSONAL = "personal"


SENSITIVITY_RANK = {
    DataClass.PUBLIC: 0,
    DataClass.INTERNAL: 1,
    DataClass.CONFIDENTIAL: 2,
    DataClass.PERSONAL: 3,
}


class DataBoundary(_Model):
    """Which data classes may enter, and what to do with each sensitive entity type found."""

    allowed_data_classes: list[DataClass] = Field(min_length=1)
    entities: dict[EntityType, BoundaryAction] = Field(default_factory=dict)
    default_action: BoundaryAction = Field(
        default=BoundaryAction.BLOCK, description="Action for entity types not listed in `entities`."
    )

    def actions(self) -> dict[EntityType, BoundaryAction]:
        """The action for every entity type (listed ones, the default for the rest)."""
        return {t: self.entities.get(t, self.default_action) for t in EntityType}


InputKind = Literal["asset", "connection", "table", "path"]


class ApprovedInput(_Model):
    """One approved input: exactly one of an Airflow asset URI, connection id, table or path glob."""

    asset: str | None = None
    connection: str | None = None
    table: str | None = None
    path: str | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ApprovedInput:
        given = [k for k in ("asset", "connection", "table", "path") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of asset, connection, table, path")
        problem = None
        if self.path is not None:
            problem = inputs.path_pattern_problem(self.path)
        elif self.asset is not None:
            problem = inputs.asset_pattern_problem(self.asset)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def kind(self) -> InputKind:
        for kind in ("asset", "connection", "table", "path"):
            if getattr(self, kind):
                return kind  # type: ignore[return-value]
        raise AssertionError("unreachable")

    @property
    def pattern(self) -> str:
        return str(getattr(self, self.kind))

    def matches(self, kind: str, value: str) -> bool:
        """Whether the input ``kind:value`` is approved by this entry.

        Paths (and ``file://`` assets) must already be resolved (``..`` and symlinks): the
        data-boundary gate resolves them; an unresolved path never matches.
        """
        if kind != self.kind:
            return False
        if kind == "path":
            return inputs.match_path(self.pattern, value)
        if kind == "asset":
            return inputs.match_asset(self.pattern, value)
        return inputs.match_name(self.pattern, value)


FieldType = Literal["string", "integer", "number", "boolean", "datetime", "date"]


class OutputField(_Model):
    """One field (column) of the AI output and the standard it must meet."""

    name: str = Field(min_length=1)
    type: FieldType = "string"
    required: bool = True
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    pattern: str | None = None
    allowed_values: list[str | int | float | bool] | None = None
    unique: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OutputField:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError(f"min_length ({self.min_length}) is greater than max_length ({self.max_length})")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        if (self.min is not None or self.max is not None) and self.type not in ("integer", "number"):
            raise ValueError(f"min/max apply to integer or number fields, not {self.type}")
        return self


class CustomExpectation(_Model):
    """Any Great Expectations 1.x expectation, by snake_case type and its keyword arguments."""

    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None


class OutputStandard(_Model):
    """What a good output looks like; built into a GX suite by the quality layer."""

    description: str = Field(min_length=10, description="The documented standard, in words.")
    fields: list[OutputField] = Field(min_length=1)
    min_rows: int | None = Field(default=None, ge=0)
    max_rows: int | None = Field(default=None, ge=1)
    custom_expectations: list[CustomExpectation] = Field(default_factory=list)
    on_failure: Literal["block", "quarantine"] = "block"

    @model_validator(mode="after")
    def _unique_fields(self) -> OutputStandard:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate output fields: {', '.join(dupes)}")
        return self


Channel = Literal["email", "slack", "teams", "pagerduty", "webhook", "airflow"]

_CHANNEL_ADDRESS = {
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "slack": re.compile(r"^(#[\w.-]+|@[\w.-]+|https://hooks\.slack\.com/\S+)$"),
    "teams": re.compile(r"^https://\S+$"),
    "pagerduty": re.compile(r"^[A-Za-z0-9]{6,}$"),
    "webhook": re.compile(r"^https?://\S+$"),
    "airflow": re.compile(r"^[\w.@-]+$"),
}


class EscalationContact(_Model):
    """One step of the escalation path: who is contacted, through which channel."""

    id: UserId = Field(description="Airflow user id; reassigned approvals go to them.")
    name: str | None = None
    channel: Channel = "email"
    address: str = Field(min_length=1)

    @property
    def reachable(self) -> bool:
        return bool(_CHANNEL_ADDRESS[self.channel].match(self.address))


class EscalationPath(_Model):
    """Ordered contacts; an unanswered approval escalates one step per ``step_timeout``."""

    contacts: list[EscalationContact] = Field(min_length=1)
    approval_timeout: Duration = Field(default=timedelta(hours=24))
    step_timeout: Duration = Field(default=timedelta(hours=4))


class PublicJustification(_Model):
    text: str = Field(min_length=20)
    reviewed_by: UserId
    reviewed_on: date


class Infrastructure(_Model):
    """Why the use case runs on public tools or owned infrastructure."""

    choice: Literal["public", "owned"]
    rationale: str = Field(min_length=20)
    data_sensitivity: DataClass
    model_control: str = Field(min_length=1, description="How much control over model/version is needed.")
    deployment_needs: str = Field(min_length=1)
    reuse: str = Field(min_length=1, description="Reuse across use cases that justifies the choice.")
    public_justification: PublicJustification | None = None


class SuccessMeasure(_Model):
    metric: str = Field(min_length=1)
    target: float
    comparison: Literal[">=", "<="] = ">="
    window: Duration = Field(default=timedelta(days=30))
    description: str | None = None

    def met_by(self, value: float) -> bool:
        return value >= self.target if self.comparison == ">=" else value <= self.target


class DriftPolicy(_Model):
    features: list[str] = Field(default_factory=list)
    psi_threshold: float = Field(default=0.2, gt=0)
    ks_pvalue: float = Field(default=0.01, gt=0, lt=1)
    chi2_pvalue: float = Field(default=0.01, gt=0, lt=1)


class Monitoring(_Model):
    logging: bool = True
    drift_task: str | None = Field(
        default=None, description="`dag_id.task_id` of the scheduled drift monitor the owner watches."
    )


class ReviewPolicy(_Model):
    cadence_days: int | None = Field(default=None, ge=1, le=3650)
    allow_output_edits: bool = Field(default=False, description="Reviewers may edit the output on approval.")


def _shown(where: str) -> str:
    """``reviewers.0`` -> ``reviewers[0]``, as the loader prints field paths."""
    return re.sub(r"\.(\d+)", r"[\1]", where)


class UseCasePolicy(_Model):
    """A governed AI use case: the six named things, tier, infrastructure and review model."""

    id: str = Field(pattern=_ID, description="Stable id, lower-case: letters, digits, . _ -")
    title: str = Field(min_length=3)
    description: str = Field(min_length=10)
    state: LifecycleState = Field(
        default=LifecycleState.PROPOSED,
        description="The state this policy is written for; `aigov policy validate` checks readiness for it. "
        "The registry's state changes only through `aigov promote`/`aigov retire`.",
    )
    tier: Tier
    selection: Selection
    # The six named things. Optional here so a `proposed` idea can be registered; readiness requires them.
    owner: PersonRef | None = None
    reviewers: list[PersonRef] = Field(default_factory=list)
    data_boundary: DataBoundary | None = None
    approved_inputs: list[ApprovedInput] = Field(default_factory=list)
    output_standard: OutputStandard | None = None
    escalation: EscalationPath | None = None
    # The rest of the operating model.
    gates: dict[str, Any] = Field(
        default_factory=dict, description="Overrides, stricter than the tier floor."
    )
    infrastructure: Infrastructure | None = None
    success_measure: SuccessMeasure | None = None
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)
    drift: DriftPolicy = Field(default_factory=DriftPolicy)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _gate_overrides(self) -> UseCasePolicy:
        unknown = sorted(set(self.gates) - set(Gates.model_fields))
        # Messages start with the field path they concern ("gates.min_reviewers: ..."), one problem
        # per line: the loader turns them into file:line: field locations.
        if unknown:
            raise ValueError(
                f"gates: unknown gate(s) {', '.join(unknown)}; known: {', '.join(Gates.model_fields)}"
            )
        overrides = self._gate_overrides_with_review()
        problems = weakenings(self.tier, overrides)
        if problems:
            raise ValueError("\n".join(f"gates.{name}: {msg}" for name, msg in problems))
        people = self._people_problems()
        if people:
            raise ValueError("\n".join(people))
        return self

    def _people(self) -> list[tuple[str, str]]:
        """``(field path, user id)`` of everyone the policy names."""
        named = [("owner", self.owner.id)] if self.owner else []
        named += [(f"reviewers.{i}", r.id) for i, r in enumerate(self.reviewers)]
        if self.escalation:
            named += [(f"escalation.contacts.{i}", c.id) for i, c in enumerate(self.escalation.contacts)]
        return named

    def _people_problems(self) -> list[str]:
        """Owner never a reviewer, nobody listed twice in one role, and no two people who look alike.

        Identities are compared normalised (``Lena`` is ``lena``, see ``policy.identity``).
        """
        problems = []
        owner_id = self.owner.id if self.owner else None
        owner = normalize_identity(owner_id) if owner_id else None
        for role in ("reviewers", "escalation.contacts"):
            seen: dict[str, str] = {}
            for where, who in self._people():
                if not where.startswith(role + "."):
                    continue
                key = normalize_identity(who)
                if role == "reviewers" and key == owner:
                    problems.append(
                        f"{where}: the owner {owner_id!r} cannot also be a reviewer (no self-approval; "
                        f"{who!r} is the same identity)"
                    )
                elif key in seen:
                    problems.append(
                        f"{where}: {who!r} is listed twice (same identity as {_shown(seen[key])})"
                    )
                seen.setdefault(key, where)
        looks: dict[str, tuple[str, str]] = {}
        for where, who in self._people():
            first = looks.setdefault(skeleton(who), (where, who))
            if normalize_identity(first[1]) != normalize_identity(who):
                problems.append(
                    f"{where}: {who!r} looks like {first[1]!r} ({_shown(first[0])}); two people of one "
                    "policy must not have look-alike user ids"
                )
        return problems

    def _gate_overrides_with_review(self) -> dict[str, Any]:
        """The gate overrides (plus the review cadence), validated and coerced like ``Gates`` fields."""
        overrides = dict(self.gates)
        if self.review.cadence_days is not None:
            overrides.setdefault("review_cadence_days", self.review.cadence_days)
        try:
            parsed = Gates.model_validate(overrides)
        except ValidationError as exc:
            raise ValueError(
                "\n".join(f"gates.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            ) from None
        return {name: getattr(parsed, name) for name in overrides}

    @cached_property
    def effective_gates(self) -> Gates:
        return effective_gates(self.tier, self._gate_overrides_with_review())

    def document(self) -> dict[str, Any]:
        """The policy as a JSON-ready dict (what is stored as an immutable policy version)."""
        return self.model_dump(mode="json", exclude_none=True)

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON document; identical policies hash identically."""
        canonical = json.dumps(self.document(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def reviewer_ids(self) -> list[str]:
        return [r.id for r in self.reviewers]
