"""The governance gates as plain functions: preflight, data boundary, AI call records, approval.

Operators in :mod:`airflow_ai_governance.operators` are thin shells over these; nothing here
imports Airflow, so every rule is testable without a scheduler.
"""

from __future__ import annotations

from airflow_ai_governance.gates.preflight import (
    GovernedRunContext,
    TaskRef,
    finish,
    output_hash,
    preflight,
    resume,
)

__all__ = ["GovernedRunContext", "TaskRef", "finish", "output_hash", "preflight", "resume"]
