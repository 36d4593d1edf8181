"""Use-case selection: recurrence x measurability x decision impact -> score and recommendation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from airflow_ai_governance.policy.models import Selection

CRITERIA = ("recurrence", "measurability", "decision_impact")


class Recommendation(StrEnum):
    STRONG = "strong"  # worth standardising now
    CANDIDATE = "candidate"  # worth a pilot with a clear success measure
    WEAK = "weak"  # park it; revisit when one criterion improves
    REJECT = "reject"  # fails one of the three tests outright


@dataclass(frozen=True, slots=True)
class Score:
    value: float  # 0..100
    recommendation: Recommendation
    reasons: tuple[str, ...]


def score(selection: Selection) -> Score:
    """Geometric mean of the three 1-5 scores, scaled to 0-100.

    The geometric mean punishes a single weak criterion: an impressive demo that does not recur,
    cannot be measured or changes no decision is a poor first investment.
    """
    values = {name: int(getattr(selection, name)) for name in CRITERIA}
    product = values["recurrence"] * values["measurability"] * values["decision_impact"]
    mean = product ** (1 / 3)
    value = round((mean - 1) / 4 * 100, 1)
    failing = [name for name, v in values.items() if v <= 1]
    weak = [name for name, v in values.items() if v == 2]
    reasons: list[str] = []
    if failing:
        reasons.extend(f"fails the {name.replace('_', ' ')} test (scored 1)" for name in failing)
        rec = Recommendation.REJECT
    elif value >= 70:
        rec = Recommendation.STRONG
    elif value >= 45 and not weak:
        rec = Recommendation.CANDIDATE
    else:
        rec = Recommendation.WEAK
    reasons.extend(f"{name.replace('_', ' ')} is weak (scored 2)" for name in weak)
    if not reasons:
        reasons.append("recurs, is measurable and changes a decision")
    return Score(value=value, recommendation=rec, reasons=tuple(reasons))
