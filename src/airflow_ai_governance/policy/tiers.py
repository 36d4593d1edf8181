"""Governance tiers: the gates each tier requires (DESIGN.md section 3).

A policy may override gates, but only to make them stricter than its tier's floor.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Tier(IntEnum):
    """Consequence tier: 1 internal/low, 2 business decisions, 3 public or regulated claims."""

    INTERNAL = 1
    BUSINESS = 2
    PUBLIC = 3


class Gates(BaseModel):
    """The controls a governed workflow must contain. Booleans mean "required"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preflight: bool = True
    run_logging: bool = True
    data_boundary: bool = True
    output_standard: bool = True
    human_approval: bool = False
    min_reviewers: int = Field(default=0, ge=0, le=10)
    bind_approval_to_output_hash: bool = False
    escalate_on_timeout: bool = False
    drift_monitor: bool = False
    review_cadence_days: int = Field(default=180, ge=1, le=3650)


TIER_FLOORS: dict[Tier, Gates] = {
    Tier.INTERNAL: Gates(review_cadence_days=180),
    Tier.BUSINESS: Gates(
        human_approval=True,
        min_reviewers=1,
        bind_approval_to_output_hash=True,
        escalate_on_timeout=True,
        drift_monitor=True,
        review_cadence_days=90,
    ),
    Tier.PUBLIC: Gates(
        human_approval=True,
        min_reviewers=2,
        bind_approval_to_output_hash=True,
        escalate_on_timeout=True,
        drift_monitor=True,
        review_cadence_days=30,
    ),
}

#: Gates that a DAG must contain as tasks (the rest are enforced inside the operators).
STRUCTURAL_GATES: tuple[str, ...] = ("data_boundary", "output_standard", "human_approval")


def weakenings(tier: Tier | int, overrides: dict[str, Any]) -> list[tuple[str, str]]:
    """``(field, message)`` for each override that is weaker than the tier's floor."""
    floor = TIER_FLOORS[Tier(tier)]
    problems: list[tuple[str, str]] = []
    for name, value in overrides.items():
        base = getattr(floor, name, None)
        if base is None:
            continue
        if name == "review_cadence_days":
            if value > base:
                problems.append((name, f"tier {int(tier)} reviews at least every {base} days, not {value}"))
        elif isinstance(base, bool):
            if base and not value:
                problems.append((name, f"tier {int(tier)} requires {name}; an override may not turn it off"))
        elif value < base:
            problems.append((name, f"tier {int(tier)} requires at least {base}, not {value}"))
    return problems


def effective_gates(tier: Tier | int, overrides: dict[str, Any] | None = None) -> Gates:
    """The tier's floor with the (stricter) overrides applied."""
    floor = TIER_FLOORS[Tier(tier)]
    return floor.model_copy(update=overrides or {})
