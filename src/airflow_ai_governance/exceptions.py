"""The one exception tree of airflow-ai-governance.

::

    AIGovernanceError
     +-- PolicyError (ValueError)          a policy file or object is invalid; names file, line, field
     +-- UseCaseNotFound (PolicyError)     an id that is not in the registry
     +-- LifecycleError                    a transition the state machine or the checklist refuses
          +-- ChangeApprovalRefused        the approver of a policy change is its author or the owner
     +-- UseCaseNotRunnable                the lifecycle state does not allow a governed run
     +-- SidecarUnavailable                the governance store cannot be reached (retryable)
     +-- AuditChainBroken                  the hash chain of the audit log does not verify
          +-- RegistryTampered             a registry row differs from the state the chain gives
                                           (also a UseCaseNotRunnable: the run is refused)
     +-- GateFailure                       a governance gate refused the run (never retried)
          +-- DataBoundaryViolation        disallowed data classes or unapproved inputs
          +-- OutputStandardFailed         the AI output failed its output standard
          +-- ApprovalRejected             a reviewer rejected, or nobody approved in time
               +-- ApprovalTimedOut        no decision before the timeout, escalation exhausted
          +-- GovernanceConfigError        a governed DAG lacks a gate its tier requires

Errors that a retry cannot fix subclass :class:`GateFailure`; operators re-raise them as
``AirflowFailException``. :class:`SidecarUnavailable` is retryable.
"""

from __future__ import annotations

from typing import Any


class AIGovernanceError(Exception):
    """Root of every error raised by airflow-ai-governance."""


class PolicyError(AIGovernanceError, ValueError):
    """A policy is malformed or inconsistent.

    ``problems`` lists every problem found as ``(location, message)`` pairs, where location is
    ``file:line: field.path`` when known.
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        self.problems = problems or []
        if self.problems:
            details = "\n".join(f"  {loc}: {msg}" if loc else f"  {msg}" for loc, msg in self.problems)
            message = f"{message}\n{details}"
        super().__init__(message)


class UseCaseNotFound(PolicyError):
    """A use case id that the registry does not know."""

    def __init__(self, use_case_id: str, known: list[str] | None = None) -> None:
        self.use_case_id = use_case_id
        hint = f" Known use cases: {', '.join(sorted(known))}." if known else ""
        super().__init__(
            f"Unknown use case {use_case_id!r}: it is not in the governance registry. "
            f"Run `aigov policy sync DIR` to register its policy.{hint}"
        )


class LifecycleError(AIGovernanceError):
    """A lifecycle transition that is not allowed (state machine, checklist or retired state)."""


class ChangeApprovalRefused(LifecycleError):
    """Someone who may not approve a policy change tried to (its author, or the use case's owner)."""

    def __init__(self, use_case_id: str, version: int, identity: dict[str, Any], reason: str) -> None:
        self.use_case_id = use_case_id
        self.version = version
        self.identity = identity
        self.reason = reason
        super().__init__(
            f"{identity.get('by')!r} may not approve the change of {use_case_id!r} to version {version}: {reason}"
        )


class UseCaseNotRunnable(AIGovernanceError):
    """The use case's lifecycle state does not allow this governed run."""


class SidecarUnavailable(AIGovernanceError):
    """The governance sidecar database cannot be reached. Retryable."""


class AuditChainBroken(AIGovernanceError):
    """The audit log's hash chain does not verify; ``seq`` is the first bad event."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        self.seq = seq
        super().__init__(message)


class RegistryTampered(UseCaseNotRunnable, AuditChainBroken):
    """The registry's row of a use case (state, version in force, policy document) differs from
    what the lifecycle events of the keyed audit chain give: it was changed outside the governance
    commands. Governed runs of it are refused until it is restored."""

    def __init__(self, use_case_id: str, problems: list[str], seq: int | None = None) -> None:
        self.use_case_id = use_case_id
        self.problems = problems
        super().__init__(
            f"use case {use_case_id!r}: the registry does not match the audit chain: "
            + "; ".join(problems)
            + ". Refusing to use it (fail closed). Run `aigov audit verify` and restore the registry row "
            "from the chain, or find out who changed it.",
            seq,
        )


class GateFailure(AIGovernanceError):
    """A governance gate refused the run. Retrying cannot help."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        self.details = details or {}
        super().__init__(message)


class DataBoundaryViolation(GateFailure):
    """Inputs outside the approved inputs, or disallowed data classes found with action ``block``."""


class OutputStandardFailed(GateFailure):
    """The AI output failed the output standard; ``details`` carries the failed expectations."""


class ApprovalRejected(GateFailure):
    """A reviewer rejected the output, or the approval ended without an approval."""


class ApprovalTimedOut(ApprovalRejected):
    """No decision arrived in time and the escalation path is exhausted."""


class GovernanceConfigError(GateFailure):
    """A governed DAG or task is wired without a gate its tier requires."""
