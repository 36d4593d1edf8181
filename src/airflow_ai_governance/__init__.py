"""airflow-ai-governance: governed AI in production on Apache Airflow 3.

DAG authors import what they need from here::

    from airflow_ai_governance import AIResult, governed_workflow

Names are resolved lazily (the pattern astronomer-cosmos uses): importing the package costs
nothing, and a DAG file pays only for the names it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    # building governed DAGs
    "governed_workflow": "airflow_ai_governance.workflow",
    "GovernedWorkflow": "airflow_ai_governance.workflow",
    "AIResult": "airflow_ai_governance.gates.ai_task",
    # operators: AI steps, then gates
    "GovernedAITaskOperator": "airflow_ai_governance.operators.ai_task",
    "GovernedLLMOperator": "airflow_ai_governance.operators.llm",
    "DataBoundaryOperator": "airflow_ai_governance.operators.boundary",
    "OutputStandardOperator": "airflow_ai_governance.operators.output_standard",
    "HumanApprovalOperator": "airflow_ai_governance.operators.approval",
    # exceptions
    "AIGovernanceError": "airflow_ai_governance.exceptions",
    "PolicyError": "airflow_ai_governance.exceptions",
    "UseCaseNotFound": "airflow_ai_governance.exceptions",
    "LifecycleError": "airflow_ai_governance.exceptions",
    "UseCaseNotRunnable": "airflow_ai_governance.exceptions",
    "SidecarUnavailable": "airflow_ai_governance.exceptions",
    "AuditChainBroken": "airflow_ai_governance.exceptions",
    "GateFailure": "airflow_ai_governance.exceptions",
    "DataBoundaryViolation": "airflow_ai_governance.exceptions",
    "OutputStandardFailed": "airflow_ai_governance.exceptions",
    "ApprovalRejected": "airflow_ai_governance.exceptions",
    "ApprovalTimedOut": "airflow_ai_governance.exceptions",
}

__all__ = [
    "AIGovernanceError",
    "AIResult",
    "ApprovalRejected",
    "ApprovalTimedOut",
    "AuditChainBroken",
    "DataBoundaryOperator",
    "DataBoundaryViolation",
    "GateFailure",
    "GovernedAITaskOperator",
    "GovernedLLMOperator",
    "GovernedWorkflow",
    "HumanApprovalOperator",
    "LifecycleError",
    "OutputStandardFailed",
    "OutputStandardOperator",
    "PolicyError",
    "SidecarUnavailable",
    "UseCaseNotFound",
    "UseCaseNotRunnable",
    "__version__",
    "governed_workflow",
]  # == ["__version__", *_EXPORTS] (a literal, for linters)

if TYPE_CHECKING:
    from airflow_ai_governance.exceptions import (
        AIGovernanceError,
        ApprovalRejected,
        ApprovalTimedOut,
        AuditChainBroken,
        DataBoundaryViolation,
        GateFailure,
        LifecycleError,
        OutputStandardFailed,
        PolicyError,
        SidecarUnavailable,
        UseCaseNotFound,
        UseCaseNotRunnable,
    )
    from airflow_ai_governance.gates.ai_task import AIResult
    from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator
    from airflow_ai_governance.operators.approval import HumanApprovalOperator
    from airflow_ai_governance.operators.boundary import DataBoundaryOperator
    from airflow_ai_governance.operators.llm import GovernedLLMOperator
    from airflow_ai_governance.operators.output_standard import OutputStandardOperator
    from airflow_ai_governance.workflow import GovernedWorkflow, governed_workflow


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
