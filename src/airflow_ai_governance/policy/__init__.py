"""Policy as code: use-case policies, tiers and gates, lifecycle, selection scoring, go-live checklist.

This layer imports nothing of Airflow and no heavy library, so DAG files can use it at parse time.
"""

from __future__ import annotations

from airflow_ai_governance.policy.checklist import Checklist, ChecklistItem, build_checklist
from airflow_ai_governance.policy.lifecycle import (
    RUNNABLE_STATES,
    TRANSITIONS,
    LifecycleState,
    check_transition,
)
from airflow_ai_governance.policy.loader import LoadedPolicy, load_policies, load_policy, parse_policy
from airflow_ai_governance.policy.models import (
    ApprovedInput,
    DataBoundary,
    EscalationContact,
    EscalationPath,
    Infrastructure,
    OutputField,
    OutputStandard,
    Person,
    UseCasePolicy,
)
from airflow_ai_governance.policy.scoring import Recommendation, Score, score
from airflow_ai_governance.policy.tiers import TIER_FLOORS, Gates, Tier, effective_gates

__all__ = [
    "RUNNABLE_STATES",
    "TIER_FLOORS",
    "TRANSITIONS",
    "ApprovedInput",
    "Checklist",
    "ChecklistItem",
    "DataBoundary",
    "EscalationContact",
    "EscalationPath",
    "Gates",
    "Infrastructure",
    "LifecycleState",
    "LoadedPolicy",
    "OutputField",
    "OutputStandard",
    "Person",
    "Recommendation",
    "Score",
    "Tier",
    "UseCasePolicy",
    "build_checklist",
    "check_transition",
    "effective_gates",
    "load_policies",
    "load_policy",
    "parse_policy",
    "score",
]
