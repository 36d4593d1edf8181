"""The use-case registry: policy sync (versioned, transactional) and lifecycle transitions.

Functions take a SQLAlchemy ``Session`` and leave committing to the caller
(:func:`airflow_ai_governance.store.session_scope` commits or rolls back as a whole), so that a sync
of many files, or a transition and its audit event, is all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_ai_governance.exceptions import LifecycleError, UseCaseNotFound
from airflow_ai_governance.policy import (
    LifecycleState,
    LoadedPolicy,
    UseCasePolicy,
    build_checklist,
    check_transition,
)
from airflow_ai_governance.policy.lifecycle import READINESS_ORDER, readiness_target
from airflow_ai_governance.store.audit import append_event
from airflow_ai_governance.store.models import LifecycleTransition, PolicyVersion, UseCase


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    versioned: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def sync_policies(session: Session, loaded: Sequence[LoadedPolicy], actor: str) -> SyncReport:
    """Register new use cases (state ``proposed``) and add a new immutable version for changed ones.

    Retired use cases keep their history: a changed policy for one is refused, never resurrected.
    """
    report = SyncReport()
    for item in loaded:
        policy = item.policy
        # Lock an existing row (PostgreSQL): concurrent syncs of a changed policy take turns, so two
        # cannot both add "version n+1". SQLite transactions are already serialized (BEGIN IMMEDIATE).
        row = session.get(UseCase, policy.id, with_for_update=True)
        if row is None and not _insert_use_case(session, policy):
            # A concurrent sync registered it first (and has committed): treat it as existing.
            row = session.get(UseCase, policy.id, with_for_update=True, populate_existing=True)
        if row is None:
            _add_version(session, policy, 1, str(item.source), actor)
            session.add(
                LifecycleTransition(
                    use_case_id=policy.id,
                    from_state=None,
                    to_state=str(LifecycleState.PROPOSED),
                    actor=actor,
                    reason=f"registered from {item.source}",
                    policy_version=1,
                    at=_now(),
                )
            )
            append_event(
                session,
                event_type="use_case_registered",
                actor=actor,
                use_case_id=policy.id,
                payload={"version": 1, "content_hash": policy.content_hash, "source": str(item.source)},
            )
            report.created.append(policy.id)
            continue
        current = _version_row(session, policy.id, row.current_version)
        if current.content_hash == policy.content_hash:
            report.unchanged.append(policy.id)
            continue
        if row.state == LifecycleState.RETIRED:
            raise LifecycleError(
                f"{item.source}: use case {policy.id!r} is retired; its policy can no longer change. "
                "Register a new use case id instead."
            )
        _still_ready(item, row.state)
        version = row.current_version + 1
        _add_version(session, policy, version, str(item.source), actor)
        row.current_version = version
        row.title = policy.title
        row.tier = int(policy.tier)
        row.owner = policy.owner.id if policy.owner else None
        row.updated_at = _now()
        append_event(
            session,
            event_type="policy_versioned",
            actor=actor,
            use_case_id=policy.id,
            payload={"version": version, "content_hash": policy.content_hash, "source": str(item.source)},
        )
        report.versioned.append((policy.id, version))
    return report


def _insert_use_case(session: Session, policy: UseCasePolicy) -> bool:
    """Insert the registry row of a new use case; ``False`` if another transaction inserted it
    meanwhile (its unique key wins; only this savepoint is rolled back, not the whole sync)."""
    try:
        with session.begin_nested():
            session.add(
                UseCase(
                    id=policy.id,
                    title=policy.title,
                    tier=int(policy.tier),
                    state=str(LifecycleState.PROPOSED),
                    owner=policy.owner.id if policy.owner else None,
                    current_version=1,
                    created_at=_now(),
                    updated_at=_now(),
                )
            )
    except IntegrityError:
        return False
    return True


def _still_ready(item: LoadedPolicy, state: str) -> None:
    """A changed policy must still pass the checklist of the state its use case is in."""
    if state in (LifecycleState.PROPOSED, LifecycleState.RETIRED):
        return
    target = readiness_target(state)
    checklist = build_checklist(item.policy, target)
    if not checklist.passed:
        failed = "; ".join(f"{i.key}: {i.detail}" for i in checklist.failures)
        raise LifecycleError(
            f"{item.source}: use case {item.policy.id!r} is {state}, but the changed policy fails the {target} "
            f"checklist ({failed}). Fix the policy, or suspend or retire the use case first."
        )


def _add_version(session: Session, policy: UseCasePolicy, version: int, source: str, actor: str) -> None:
    session.add(
        PolicyVersion(
            use_case_id=policy.id,
            version=version,
            content_hash=policy.content_hash,
            document=policy.document(),
            source_path=source,
            created_by=actor,
            created_at=_now(),
        )
    )


def _version_row(session: Session, use_case_id: str, version: int) -> PolicyVersion:
    row = session.scalars(
        select(PolicyVersion).where(
            PolicyVersion.use_case_id == use_case_id, PolicyVersion.version == version
        )
    ).one()
    return row


def get_use_case(session: Session, use_case_id: str, *, for_update: bool = False) -> UseCase:
    """The registry row, or :class:`UseCaseNotFound` naming the known ids.

    ``for_update=True`` locks the row until the transaction ends (PostgreSQL; SQLite write
    transactions are serialized anyway), for read-check-write decisions such as a transition.
    """
    row = session.get(UseCase, use_case_id, with_for_update=for_update)
    if row is None:
        known = list(session.scalars(select(UseCase.id)))
        raise UseCaseNotFound(use_case_id, known)
    return row


def list_use_cases(session: Session, state: str | None = None) -> list[UseCase]:
    query = select(UseCase).order_by(UseCase.id)
    if state:
        query = query.where(UseCase.state == state)
    return list(session.scalars(query))


_PARSED: dict[str, UseCasePolicy] = {}
_PARSED_MAX = 256


def policy_version(session: Session, use_case_id: str, version: int) -> UseCasePolicy:
    """One policy version, parsed. Versions are immutable and their ``content_hash`` is the hash
    of the canonical document, so each distinct document is parsed once per process."""
    where = (PolicyVersion.use_case_id == use_case_id, PolicyVersion.version == version)
    content_hash = session.scalars(select(PolicyVersion.content_hash).where(*where)).one()
    policy = _PARSED.get(content_hash)
    if policy is None:
        policy = UseCasePolicy.model_validate(
            session.scalars(select(PolicyVersion.document).where(*where)).one()
        )
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[content_hash] = policy
    return policy


def current_policy(
    session: Session, use_case_id: str, *, for_update: bool = False
) -> tuple[UseCase, UseCasePolicy]:
    """The registry row and its current policy version, parsed."""
    row = get_use_case(session, use_case_id, for_update=for_update)
    return row, policy_version(session, use_case_id, row.current_version)


def transitions(session: Session, use_case_id: str) -> list[LifecycleTransition]:
    query = (
        select(LifecycleTransition)
        .where(LifecycleTransition.use_case_id == use_case_id)
        .order_by(LifecycleTransition.id)
    )
    return list(session.scalars(query))


def transition(
    session: Session, use_case_id: str, to_state: LifecycleState | str, actor: str, reason: str
) -> LifecycleTransition:
    """Move a use case to ``to_state``: allowed by the state machine, and its checklist passes.

    Records who, when, why and the policy version, plus an audit event, in the caller's transaction.
    """
    target = LifecycleState(to_state)
    if not actor.strip():
        raise LifecycleError("a lifecycle decision must be attributed to a person (--by USER)")
    if not reason.strip():
        raise LifecycleError("a lifecycle decision needs a reason (--reason TEXT)")
    # Locked: two concurrent decisions on one use case cannot both start from the same state.
    row, policy = current_policy(session, use_case_id, for_update=True)
    check_transition(use_case_id, row.state, target)
    if target in READINESS_ORDER:
        checklist = build_checklist(policy, target)
        if not checklist.passed:
            failed = "; ".join(f"{i.key}: {i.detail}" for i in checklist.failures)
            raise LifecycleError(
                f"Use case {use_case_id!r} cannot enter {target}: the go-live checklist fails ({failed}). "
                f"Run `aigov checklist {use_case_id} --to {target}` for details."
            )
    record = LifecycleTransition(
        use_case_id=use_case_id,
        from_state=row.state,
        to_state=str(target),
        actor=actor,
        reason=reason,
        policy_version=row.current_version,
        at=_now(),
    )
    session.add(record)
    previous = row.state
    row.state = str(target)
    row.updated_at = _now()
    append_event(
        session,
        event_type="lifecycle_transition",
        actor=actor,
        use_case_id=use_case_id,
        payload={
            "from": previous,
            "to": str(target),
            "reason": reason,
            "policy_version": row.current_version,
        },
    )
    session.flush()
    return record
