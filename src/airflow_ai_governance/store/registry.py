"""The use-case registry: policy sync (versioned, transactional) and lifecycle transitions.

Functions take a SQLAlchemy ``Session`` and leave committing to the caller
(:func:`airflow_ai_governance.store.session_scope` commits or rolls back as a whole), so that a sync
of many files, or a transition and its audit event, is all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airflow_ai_governance.exceptions import (
    ChangeApprovalRefused,
    LifecycleError,
    PolicyError,
    UseCaseNotFound,
)
from airflow_ai_governance.policy import (
    LifecycleState,
    LoadedPolicy,
    UseCasePolicy,
    build_checklist,
    check_transition,
)
from airflow_ai_governance.policy.changes import Loosening, loosenings
from airflow_ai_governance.policy.identity import Actor, separation_problem
from airflow_ai_governance.policy.lifecycle import READINESS_ORDER, readiness_target
from airflow_ai_governance.store.audit import append_event
from airflow_ai_governance.store.engine import DB
from airflow_ai_governance.store.integrity import check_use_case
from airflow_ai_governance.store.models import LifecycleTransition, PolicyChange, PolicyVersion, UseCase


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    versioned: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: ``(use case, version, base version, loosenings)`` of changes waiting for a second person.
    pending: list[tuple[str, int, int, list[Loosening]]] = field(default_factory=list)
    #: ``(use case, version)`` of pending changes a newer sync replaced or withdrew.
    superseded: list[tuple[str, int]] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


#: States in which a change that loosens control waits for a second person (suspended use cases
#: may resume). A use case that was ever in pilot or production is held to it too, so demoting it
#: to ``approved`` and back does not skip the second person.
CONTROLLED_STATES = frozenset({LifecycleState.PILOT, LifecycleState.PRODUCTION, LifecycleState.SUSPENDED})


def sync_policies(session: Session, loaded: Sequence[LoadedPolicy], actor: Actor | str) -> SyncReport:
    """Register new use cases (state ``proposed``) and add a new immutable version for changed ones.

    A changed policy takes effect at once unless it loosens control (:func:`policy.changes.loosenings`)
    of a use case that is or was in pilot or production: then the new version is stored as a
    pending change and the version in force stays (``approve_change`` by a second person applies
    it). A newer sync supersedes a pending change. Retired use cases keep their history: a changed
    policy for one is refused, never resurrected. ``actor`` is recorded with the OS identity (and
    the verified Airflow identity) that ran the sync.
    """
    who = Actor.coerce(actor)
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
            _register(session, item, who)
            report.created.append(policy.id)
            continue
        _sync_existing(session, row, item, who, report)
    return report


def _register(session: Session, item: LoadedPolicy, who: Actor) -> None:
    policy = item.policy
    _add_version(session, policy, 1, str(item.source), who)
    session.add(
        LifecycleTransition(
            use_case_id=policy.id,
            from_state=None,
            to_state=str(LifecycleState.PROPOSED),
            actor=who.by,
            reason=f"registered from {item.source}",
            policy_version=1,
            at=_now(),
            identity=who.as_dict(),
        )
    )
    append_event(
        session,
        event_type="use_case_registered",
        actor=who.by,
        use_case_id=policy.id,
        payload={
            "version": 1,
            "content_hash": policy.content_hash,
            "source": str(item.source),
            "identity": who.as_dict(),
        },
    )


def _sync_existing(
    session: Session, row: UseCase, item: LoadedPolicy, who: Actor, report: SyncReport
) -> None:
    policy = item.policy
    current = _version_row(session, policy.id, row.current_version)
    pending = pending_change(session, policy.id)
    if current.content_hash == policy.content_hash:
        if pending is not None:  # the file is back to the version in force: withdraw the change
            _supersede(session, pending, who, f"the policy file equals version {row.current_version} again")
            report.superseded.append((policy.id, pending.version))
        report.unchanged.append(policy.id)
        return
    if (
        pending is not None
        and _version_row(session, policy.id, pending.version).content_hash == policy.content_hash
    ):
        report.pending.append((policy.id, pending.version, pending.base_version, _loosenings_of(pending)))
        return
    if row.state == LifecycleState.RETIRED:
        raise LifecycleError(
            f"{item.source}: use case {policy.id!r} is retired; its policy can no longer change. "
            "Register a new use case id instead."
        )
    _still_ready(item, row.state)
    version = _latest_version(session, policy.id) + 1
    _add_version(session, policy, version, str(item.source), who)
    if pending is not None:
        _supersede(session, pending, who, f"replaced by version {version}")
        report.superseded.append((policy.id, pending.version))
    loosened = loosenings(current.document, policy.document()) if _controlled(session, row) else []
    if loosened:
        change = PolicyChange(
            use_case_id=policy.id,
            version=version,
            base_version=row.current_version,
            status="pending",
            loosenings=[entry.as_dict() for entry in loosened],
            requested_by=who.by,
            requested_identity=who.as_dict(),
            requested_at=_now(),
        )
        session.add(change)
        append_event(
            session,
            event_type="policy_change_requested",
            actor=who.by,
            use_case_id=policy.id,
            payload={
                "version": version,
                "base_version": row.current_version,
                "content_hash": policy.content_hash,
                "source": str(item.source),
                "loosenings": [entry.as_dict() for entry in loosened],
                "identity": who.as_dict(),
            },
        )
        report.pending.append((policy.id, version, row.current_version, loosened))
        return
    _apply_version(session, row, policy, version, who, {"source": str(item.source)})
    report.versioned.append((policy.id, version))


def _apply_version(
    session: Session, row: UseCase, policy: UseCasePolicy, version: int, who: Actor, extra: dict[str, Any]
) -> None:
    """Put ``version`` in force. The ``policy_versioned`` event is written exactly when the version
    in force moves (the chain-derived registry state relies on it)."""
    row.current_version = version
    row.title = policy.title
    row.tier = int(policy.tier)
    row.owner = policy.owner.id if policy.owner else None
    row.updated_at = _now()
    append_event(
        session,
        event_type="policy_versioned",
        actor=who.by,
        use_case_id=policy.id,
        payload={"version": version, "content_hash": policy.content_hash, **extra, "identity": who.as_dict()},
    )


def _controlled(session: Session, row: UseCase) -> bool:
    """Whether loosening this use case's policy needs a second person: it is, or was, live."""
    if row.state in CONTROLLED_STATES:
        return True
    live = (str(LifecycleState.PILOT), str(LifecycleState.PRODUCTION))
    query = select(LifecycleTransition.id).where(
        LifecycleTransition.use_case_id == row.id, LifecycleTransition.to_state.in_(live)
    )
    return session.scalars(query.limit(1)).first() is not None


def _latest_version(session: Session, use_case_id: str) -> int:
    query = select(func.max(PolicyVersion.version)).where(PolicyVersion.use_case_id == use_case_id)
    return int(session.scalars(query).one() or 0)


def _loosenings_of(change: PolicyChange) -> list[Loosening]:
    return [Loosening(**entry) for entry in change.loosenings]


def _supersede(session: Session, change: PolicyChange, who: Actor, why: str) -> None:
    _decide(session, change, "superseded", who, why)


def _decide(session: Session, change: PolicyChange, status: str, who: Actor, reason: str) -> None:
    change.status = status
    change.decided_by = who.by
    change.decided_identity = who.as_dict()
    change.decided_at = _now()
    change.reason = reason
    append_event(
        session,
        event_type=f"policy_change_{status}",
        actor=who.by,
        use_case_id=change.use_case_id,
        payload={
            "version": change.version,
            "base_version": change.base_version,
            "reason": reason,
            "identity": who.as_dict(),
        },
    )


def pending_change(session: Session, use_case_id: str) -> PolicyChange | None:
    """The change of ``use_case_id`` waiting for a second person, if any (at most one)."""
    query = select(PolicyChange).where(
        PolicyChange.use_case_id == use_case_id, PolicyChange.status == "pending"
    )
    return session.scalars(query.order_by(PolicyChange.version.desc()).limit(1)).first()


def list_changes(
    session: Session, use_case_id: str | None = None, *, pending_only: bool = True
) -> list[PolicyChange]:
    """Policy changes, newest first: only pending ones unless ``pending_only=False``."""
    query = select(PolicyChange).order_by(PolicyChange.requested_at.desc(), PolicyChange.id.desc())
    if use_case_id is not None:
        query = query.where(PolicyChange.use_case_id == use_case_id)
    if pending_only:
        query = query.where(PolicyChange.status == "pending")
    return list(session.scalars(query))


def _open_change(session: Session, use_case_id: str, version: int) -> tuple[UseCase, PolicyChange]:
    row = get_use_case(session, use_case_id, for_update=True)
    change = session.scalars(
        select(PolicyChange).where(PolicyChange.use_case_id == use_case_id, PolicyChange.version == version)
    ).first()
    if change is None:
        known = ", ".join(str(c.version) for c in list_changes(session, use_case_id)) or "none"
        raise LifecycleError(
            f"use case {use_case_id!r} has no policy change for version {version} (pending versions: {known}); "
            f"see `aigov policy changes {use_case_id}`"
        )
    if change.status != "pending":
        raise LifecycleError(
            f"the change of {use_case_id!r} to version {version} is already {change.status} "
            f"(by {change.decided_by} at {change.decided_at:%Y-%m-%d %H:%M %Z}): {change.reason}"
        )
    return row, change


def _decision_args(actor: Actor | str, reason: str) -> Actor:
    who = Actor.coerce(actor)
    if not who.by.strip():
        raise LifecycleError("a policy change decision must be attributed to a person (--by USER)")
    if not reason.strip():
        raise LifecycleError("a policy change decision needs a reason (--reason TEXT)")
    return who


def approve_change(
    session: Session, use_case_id: str, version: int, actor: Actor | str, reason: str
) -> PolicyChange:
    """A second person approves a pending change: its version comes into force.

    Refused when the approver is (by any identity known: ``--by``, verified Airflow user, OS
    account) the owner before or after the change, or the person who made it
    (:func:`policy.identity.separation_problem`), or when the new version no longer passes the
    checklist of the state the use case is in now.
    """
    who = _decision_args(actor, reason)
    row, change = _open_change(session, use_case_id, version)
    if row.state == LifecycleState.RETIRED:
        raise LifecycleError(f"use case {use_case_id!r} is retired; its policy can no longer change")
    if change.base_version != row.current_version:  # defensive: every move of the version supersedes
        _supersede(session, change, who, f"version {row.current_version} came into force meanwhile")
        raise LifecycleError(
            f"the change of {use_case_id!r} to version {version} was made against version "
            f"{change.base_version}, but version {row.current_version} is in force now: sync the policy again"
        )
    old, new = (
        policy_version(session, use_case_id, change.base_version),
        policy_version(session, use_case_id, version),
    )
    owners = [p.owner.id for p in (old, new) if p.owner]
    author = Actor.from_dict(change.requested_identity, change.requested_by)
    problem = separation_problem(who, author, owners)
    if problem:
        raise ChangeApprovalRefused(use_case_id, version, who.as_dict(), problem)
    _still_ready(LoadedPolicy(new, Path(f"version {version}")), row.state)
    _decide(session, change, "approved", who, reason)
    _apply_version(
        session, row, new, version, who, {"change": change.id, "approved_by": who.by, "reason": reason}
    )
    session.flush()
    return change


def reject_change(
    session: Session, use_case_id: str, version: int, actor: Actor | str, reason: str
) -> PolicyChange:
    """Reject a pending change: the version in force stays. Anyone may reject (it keeps the
    stricter policy in force), the author and owner included; the decision is recorded."""
    who = _decision_args(actor, reason)
    _, change = _open_change(session, use_case_id, version)
    _decide(session, change, "rejected", who, reason)
    session.flush()
    return change


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


def _add_version(session: Session, policy: UseCasePolicy, version: int, source: str, who: Actor) -> None:
    session.add(
        PolicyVersion(
            use_case_id=policy.id,
            version=version,
            content_hash=policy.content_hash,
            document=policy.document(),
            source_path=source,
            created_by=who.by,
            created_at=_now(),
            identity=who.as_dict(),
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
        document = session.scalars(select(PolicyVersion.document).where(*where)).one()
        try:
            policy = UseCasePolicy.model_validate(document)
        except ValidationError as exc:  # stored under older rules that refuse it now: fail closed
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PolicyError(
                f"policy version {version} of use case {use_case_id!r} does not pass today's policy rules "
                f"({problems}); sync a corrected policy file (`aigov policy sync`) and have the change "
                "approved if it waits for a second person"
            ) from None
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[content_hash] = policy
    return policy


def current_policy(
    session: Session, use_case_id: str, *, for_update: bool = False
) -> tuple[UseCase, UseCasePolicy]:
    """The registry row and its current policy version, parsed, after checking both against the
    keyed audit chain (:func:`.integrity.check_use_case`): a row changed outside the governance
    commands raises :class:`~airflow_ai_governance.exceptions.RegistryTampered` (fail closed)."""
    row = get_use_case(session, use_case_id, for_update=for_update)
    policy = policy_version(session, use_case_id, row.current_version)
    check_use_case(session, row, policy)
    return row, policy


def transitions(session: Session, use_case_id: str) -> list[LifecycleTransition]:
    query = (
        select(LifecycleTransition)
        .where(LifecycleTransition.use_case_id == use_case_id)
        .order_by(LifecycleTransition.id)
    )
    return list(session.scalars(query))


def record_refused_approval(db: DB, refused: ChangeApprovalRefused) -> None:
    """Put a refused approval attempt on the audit record (its own transaction: the caller's
    transaction of the attempt was rolled back)."""
    append_event(
        db,
        event_type="policy_change_approval_refused",
        actor=str(refused.identity.get("by") or "unknown"),
        use_case_id=refused.use_case_id,
        payload={"version": refused.version, "reason": refused.reason, "identity": refused.identity},
    )


def transition(
    session: Session, use_case_id: str, to_state: LifecycleState | str, actor: Actor | str, reason: str
) -> LifecycleTransition:
    """Move a use case to ``to_state``: allowed by the state machine, and its checklist passes.

    Records who (the name given and the identities that ran the command), when, why and the policy
    version, plus an audit event, in the caller's transaction.
    """
    target = LifecycleState(to_state)
    who = Actor.coerce(actor)
    if not who.by.strip():
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
        actor=who.by,
        reason=reason,
        policy_version=row.current_version,
        at=_now(),
        identity=who.as_dict(),
    )
    session.add(record)
    previous = row.state
    row.state = str(target)
    row.updated_at = _now()
    pending = pending_change(session, use_case_id) if target is LifecycleState.RETIRED else None
    if pending is not None:
        _supersede(session, pending, who, "the use case was retired")
    append_event(
        session,
        event_type="lifecycle_transition",
        actor=who.by,
        use_case_id=use_case_id,
        payload={
            "from": previous,
            "to": str(target),
            "reason": reason,
            "policy_version": row.current_version,
            "identity": who.as_dict(),
        },
    )
    session.flush()
    return record
