"""The registry's state as the keyed audit chain tells it, and the check that the registry agrees.

Every change of a use case's lifecycle state or version in force writes a chain event in the same
transaction (:mod:`.registry`): ``use_case_registered`` (state ``proposed``, version 1),
``lifecycle_transition`` (``from`` -> ``to``), ``policy_versioned`` (the version in force moves)
and ``policy_change_requested`` (a pending version's content hash). Replaying them in ``seq`` order
gives each use case's state, version in force and the content hash of each version. A registry
row that differs, e.g. after ``UPDATE use_case SET state = 'production'`` by someone holding the
sidecar's credentials, is reported by ``aigov audit verify`` and refused at run time
(:func:`check_use_case`, called by :func:`.registry.current_policy` and the gates' preflight):
the chain's events carry MACs that only the audit key's holder can compute.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from airflow_ai_governance.exceptions import LifecycleError, RegistryTampered
from airflow_ai_governance.store.audit import AuditEventRecord, ChainKey, audit_chain_key
from airflow_ai_governance.store.models import AuditEvent, PolicyVersion, UseCase

if TYPE_CHECKING:
    from airflow_ai_governance.policy import UseCasePolicy

#: The chain events that move a use case's registry state (see the module docstring).
LIFECYCLE_EVENTS = (
    "use_case_registered",
    "lifecycle_transition",
    "policy_versioned",
    "policy_change_requested",
)
_TABLE: sa.Table = AuditEvent.__table__  # type: ignore[assignment]


@dataclass
class DerivedUseCase:
    """One use case's registry state replayed from its chain events."""

    use_case_id: str
    state: str | None = None
    current_version: int | None = None
    content_hashes: dict[int, str] = field(default_factory=dict)
    last_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    def apply(self, event: AuditEventRecord) -> None:
        """Replay one (verified) event of :data:`LIFECYCLE_EVENTS`."""
        try:
            payload = json.loads(event.payload)
            self._apply(event.seq, event.event_type, payload)
        except (ValueError, KeyError, TypeError) as exc:
            self.problems.append(f"audit event seq {event.seq} ({event.event_type}) is malformed: {exc!r}")
        self.last_seq = event.seq

    def _apply(self, seq: int, event_type: str, payload: dict[str, object]) -> None:
        if event_type == "use_case_registered":
            if self.state is not None:
                self.problems.append(f"audit event seq {seq} registers it a second time")
            self.state, self.current_version = "proposed", int(payload["version"])  # type: ignore[call-overload]
            self.content_hashes[self.current_version] = str(payload["content_hash"])
            return
        if self.state is None:
            self.problems.append(f"audit event seq {seq} ({event_type}) comes before its registration")
            return
        if event_type == "lifecycle_transition":
            before, after = str(payload["from"]), str(payload["to"])
            if before != self.state:
                self.problems.append(
                    f"audit event seq {seq} records a transition from {before!r}, but the chain had it {self.state!r}"
                )
            else:
                from airflow_ai_governance.policy.lifecycle import check_transition  # lazy: pydantic

                try:
                    check_transition(self.use_case_id, before, after)
                except (LifecycleError, ValueError) as exc:
                    self.problems.append(
                        f"audit event seq {seq} records a transition that is not allowed: {exc}"
                    )
            self.state = after
        elif event_type == "policy_versioned":
            self.current_version = int(payload["version"])  # type: ignore[call-overload]
            self.content_hashes[self.current_version] = str(payload["content_hash"])
        elif event_type == "policy_change_requested":
            self.content_hashes[int(payload["version"])] = str(payload["content_hash"])  # type: ignore[call-overload]

    def mismatches(self, row: UseCase | None, version_hash: str | None = None) -> list[str]:
        """How ``row`` (and the content hash of its version in force) differs from this state."""
        problems = list(self.problems)
        if row is None:
            if self.state is not None:
                problems.append(
                    f"the chain registers it (last lifecycle event seq {self.last_seq}) but the registry has no row: deleted"
                )
            return problems
        if self.state is None:
            return [
                *problems,
                "the audit chain has no use_case_registered event for it: the registry row was inserted "
                "outside `aigov policy sync`",
            ]
        where = f"(last lifecycle event seq {self.last_seq})"
        if row.state != self.state:
            problems.append(
                f"registry state is {row.state!r} but the audit chain gives {self.state!r} {where}"
            )
        if row.current_version != self.current_version:
            problems.append(
                f"registry current_version is {row.current_version} but the audit chain gives "
                f"{self.current_version} {where}"
            )
        elif version_hash is not None:
            recorded = self.content_hashes.get(row.current_version)
            if recorded != version_hash:
                problems.append(
                    f"policy version {row.current_version} has content hash {version_hash[:12]}... but the "
                    f"audit chain recorded {(recorded or 'none')[:12]}...: the stored policy document was changed"
                )
        return problems


def document_hash(document: object) -> str:
    """The content hash of a stored policy document, as ``UseCasePolicy.content_hash`` computes it."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def derive(events: Iterable[AuditEventRecord], use_case_id: str) -> DerivedUseCase:
    derived = DerivedUseCase(use_case_id)
    for event in events:
        derived.apply(event)
    return derived


def _lifecycle_events(session: Session, use_case_id: str, key: ChainKey) -> list[AuditEventRecord]:
    """The use case's lifecycle events, each checked against its MAC (raises on a bad one)."""
    columns = [_TABLE.c[name] for name in AuditEventRecord.__slots__]
    stmt = (
        sa.select(*columns)
        .where(_TABLE.c.use_case_id == use_case_id, _TABLE.c.event_type.in_(LIFECYCLE_EVENTS))
        .order_by(_TABLE.c.seq)
    )
    events = [AuditEventRecord(**row._asdict()) for row in session.execute(stmt)]
    for event in events:
        if event.key_id is not None and event.key_id != key.key_id:
            raise RegistryTampered(
                use_case_id,
                [
                    f"its audit event seq {event.seq} was written with audit key {event.key_id}, but the "
                    f"configured key is {key.key_id}: configure the key this sidecar was written with"
                ],
                event.seq,
            )
        if event.hash != event.expected_hash(key):
            raise RegistryTampered(
                use_case_id,
                [
                    f"its audit event seq {event.seq} ({event.event_type}) does not match its MAC: "
                    "edited or forged without the audit key"
                ],
                event.seq,
            )
    return events


def check_use_case(
    session: Session,
    row: UseCase,
    policy: UseCasePolicy | None = None,
    *,
    pinned: tuple[int, UseCasePolicy] | None = None,
    key: ChainKey | None = None,
) -> None:
    """Raise :class:`RegistryTampered` unless ``row`` (and ``policy``, its version in force, when
    given; and ``pinned``, a ``(version, policy)`` a waiting run was pinned to) equals the state
    the use case's verified chain events give. Needs the audit key."""
    key = key or audit_chain_key()
    derived = derive(_lifecycle_events(session, row.id, key), row.id)
    problems = derived.mismatches(row, policy.content_hash if policy is not None else None)
    if pinned is not None and derived.content_hashes.get(pinned[0]) != pinned[1].content_hash:
        problems.append(
            f"policy version {pinned[0]} has content hash {pinned[1].content_hash[:12]}... but the audit "
            f"chain recorded {(derived.content_hashes.get(pinned[0]) or 'none')[:12]}...: the stored policy "
            "document was changed"
        )
    if problems:
        raise RegistryTampered(row.id, problems, derived.last_seq)


def registry_problems(session: Session, derived: dict[str, DerivedUseCase]) -> list[str]:
    """Compare every registry row with ``derived`` (replayed by a full verification of the chain)."""
    problems: list[str] = []
    rows = {row.id: row for row in session.scalars(sa.select(UseCase))}
    in_force = sa.select(PolicyVersion.use_case_id, PolicyVersion.document).join(
        UseCase,
        sa.and_(UseCase.id == PolicyVersion.use_case_id, UseCase.current_version == PolicyVersion.version),
    )
    hashes = {use_case_id: document_hash(document) for use_case_id, document in session.execute(in_force)}
    for use_case_id in sorted(set(rows) | set(derived)):
        row = rows.get(use_case_id)
        state = derived.get(use_case_id) or DerivedUseCase(use_case_id)
        version_hash = hashes.get(use_case_id, "none") if row is not None else None
        problems.extend(f"use case {use_case_id!r}: {p}" for p in state.mismatches(row, version_hash))
    return problems
