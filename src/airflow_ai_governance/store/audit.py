"""The append-only, hash-chained audit log.

Each event stores its predecessor's hash (the first one stores :data:`GENESIS_HASH`) and its own
``hash = sha256(canonical JSON of [seq, event_id, at, use_case_id, governed_run_id, actor,
event_type, payload, prev_hash])``, where ``payload`` is the canonical JSON text stored in the row
and ``at`` is ISO 8601 UTC with microseconds. Editing, deleting or reordering events therefore
breaks the chain, and :func:`verify_chain` names the first bad event.

No fork, ever: appends are serialized per database. PostgreSQL takes a transaction-level advisory
lock and reads the tail after it, in one call of the ``lock_audit_tail()`` function (a fresh
snapshot sees the latest commit); SQLite write transactions begin IMMEDIATE (see :mod:`.engine`).
The lock is held until commit, so appending last in a transaction keeps it short. ``seq`` is the
primary key: even a misconfigured writer (e.g. REPEATABLE READ) fails with an IntegrityError
rather than forking the chain.
Tail truncation is the one edit a chain cannot reveal by itself: keep the head that
``aigov audit verify`` prints somewhere else if that matters (PostgreSQL's trigger refuses DELETE).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from airflow_ai_governance.store.engine import DB, SCHEMA, read_connection, session_scope
from airflow_ai_governance.store.models import AuditEvent, utcnow

GENESIS_HASH = "0" * 64
_STREAM_BATCH = 1000
_TABLE: sa.Table = AuditEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class NewAuditEvent:
    """An event to append; :func:`append_events` assigns its place in the chain."""

    event_type: str
    actor: str
    payload: Mapping[str, Any] | None = None
    use_case_id: str | None = None
    governed_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEventRecord:
    """A stored event. ``payload`` is the canonical JSON text that was hashed."""

    seq: int
    event_id: str
    at: datetime
    use_case_id: str | None
    governed_run_id: str | None
    actor: str
    event_type: str
    payload: str
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return chain_hash(
            self.seq,
            self.event_id,
            self.at,
            self.use_case_id,
            self.governed_run_id,
            self.actor,
            self.event_type,
            self.payload,
            self.prev_hash,
        )

    def as_row(self) -> dict[str, Any]:
        """The column values (a shallow copy; ``dataclasses.asdict`` deep-copies, slowly)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``at`` as ISO text, ``payload`` parsed), as exported."""
        return {**self.as_row(), "at": iso(self.at), "payload": json.loads(self.payload)}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    event_id: str | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH


# ----------------------------------------------------------------------------------- hashing
def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"audit payload value {value!r} ({type(value).__name__}) is not JSON-serializable")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def chain_hash(
    seq: int,
    event_id: str,
    at: datetime,
    use_case_id: str | None,
    governed_run_id: str | None,
    actor: str,
    event_type: str,
    payload: str,
    prev_hash: str,
) -> str:
    fields = [seq, event_id, iso(at), use_case_id, governed_run_id, actor, event_type, payload, prev_hash]
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


# ------------------------------------------------------------------------------------ append
def append_event(
    db: DB,
    *,
    event_type: str,
    actor: str,
    payload: Mapping[str, Any] | None = None,
    use_case_id: str | None = None,
    governed_run_id: str | None = None,
) -> AuditEventRecord:
    """Append one event. Given a Session, it joins that transaction (append last: see module doc)."""
    event = NewAuditEvent(event_type, actor, payload, use_case_id, governed_run_id)
    return append_events(db, [event])[0]


def append_events(db: DB, events: Sequence[NewAuditEvent]) -> list[AuditEventRecord]:
    """Append ``events`` in order, in one transaction (one lock, one commit for the batch)."""
    if not events:
        return []
    # Everything that does not depend on the chain's tail is done before taking the lock.
    prepared = [(event, str(uuid.uuid4()), canonical_json(dict(event.payload or {}))) for event in events]
    with session_scope(db) as session:
        session.flush()  # the caller's pending rows go first
        conn = session.connection()
        seq, prev_hash = _lock_tail(conn)  # held until commit
        at = utcnow()  # taken under the lock, so ``at`` never decreases along the chain
        records = []
        for event, event_id, payload in prepared:
            seq += 1
            unsealed = AuditEventRecord(
                seq,
                event_id,
                at,
                event.use_case_id,
                event.governed_run_id,
                event.actor,
                event.event_type,
                payload,
                prev_hash,
                hash="",
            )
            records.append(replace(unsealed, hash=unsealed.expected_hash()))
            prev_hash = records[-1].hash
        conn.execute(_TABLE.insert(), [r.as_row() for r in records])
    return records


def _lock_tail(conn: Connection) -> tuple[int, str]:
    """Take the chain lock (held until commit) and return the tail's ``(seq, hash)``.

    PostgreSQL: the migration's ``lock_audit_tail()`` takes the advisory lock and reads the tail
    in one round trip, which keeps the serialized section short. SQLite: the transaction began
    IMMEDIATE, so this connection already is the only writer.
    """
    stmt: sa.Executable = sa.select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
    if conn.dialect.name == "postgresql":
        stmt = sa.text(f"SELECT seq, hash FROM {SCHEMA}.lock_audit_tail()")
    tail = conn.execute(stmt).first()
    return (tail.seq, tail.hash) if tail and tail.seq is not None else (0, GENESIS_HASH)


# ------------------------------------------------------------------------------------- read
def _stream(db: Engine | str | None, stmt: sa.Select[Any]) -> Iterator[AuditEventRecord]:
    """Rows of ``stmt`` as records, fetched in batches (server-side cursor on PostgreSQL)."""
    with read_connection(db) as conn:
        for row in conn.execution_options(yield_per=_STREAM_BATCH).execute(stmt):
            yield AuditEventRecord(**row._asdict())


def _select_events() -> sa.Select[Any]:
    return sa.select(*(_TABLE.c[name] for name in AuditEventRecord.__slots__))


def verify_chain(db: Engine | str | None = None) -> VerifyResult:
    """Walk the chain in ``seq`` order (constant memory) and report the first bad event, if any.

    Detects edits (stored hash differs from the content's hash), deletions (a missing ``seq``, or a
    ``prev_hash`` that is not the predecessor's hash) and reorderings (an event hashed for another
    position). Sees one consistent snapshot, so it may run while writers append.
    """
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for event in _stream(db, _select_events().order_by(_TABLE.c.seq)):
        reason = None
        if event.seq != expected_seq:
            reason = (
                f"seq {expected_seq} is missing: the chain jumps from seq {expected_seq - 1} to seq "
                f"{event.seq} (event {event.event_id}); events were deleted or renumbered"
            )
        elif event.hash != event.expected_hash():
            reason = (
                f"event seq {event.seq} ({event.event_id}) was altered: its stored hash does not match "
                "its content (edited, or moved from another position)"
            )
        elif event.prev_hash != prev_hash:
            reason = (
                f"event seq {event.seq} ({event.event_id}) does not link to its predecessor: prev_hash "
                f"{event.prev_hash[:12]}... != {prev_hash[:12]}...; events were deleted, replaced or reordered"
            )
        if reason:
            return VerifyResult(
                False, checked, expected_seq, event.event_id, reason, expected_seq - 1, prev_hash
            )
        expected_seq, prev_hash, checked = expected_seq + 1, event.hash, checked + 1
    return VerifyResult(True, checked, head_seq=checked, head_hash=prev_hash)


def export_events(
    db: Engine | str | None = None,
    *,
    use_case_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Stream events in ``seq`` order as dicts (see :meth:`AuditEventRecord.to_dict`).

    ``since`` is inclusive, ``until`` exclusive; both must be timezone-aware.
    """
    stmt = _select_events().order_by(_TABLE.c.seq)
    if use_case_id is not None:
        stmt = stmt.where(_TABLE.c.use_case_id == use_case_id)
    if since is not None:
        stmt = stmt.where(_TABLE.c.at >= since)
    if until is not None:
        stmt = stmt.where(_TABLE.c.at < until)
    for event in _stream(db, stmt):
        yield event.to_dict()


EXPORT_FORMATS = ("jsonl", "csv")


def export_lines(events: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Exported events as text lines: JSON lines, or CSV (header first) whose ``payload`` column is
    the canonical JSON text that was hashed. Used by ``aigov audit export`` and the API's export."""
    if fmt == "jsonl":
        for event in events:
            yield json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        return
    if fmt != "csv":
        raise ValueError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=AuditEventRecord.__slots__)
    writer.writeheader()
    for event in events:
        writer.writerow({**event, "payload": canonical_json(event["payload"])})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the header of an empty export
        yield buffer.getvalue()
