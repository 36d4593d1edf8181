"""The append-only, keyed, hash-chained audit log.

Each event stores its predecessor's link (the first one stores :data:`GENESIS_HASH`) and its own
``hash = HMAC-SHA256(audit key, canonical JSON of ["aigov-audit-v1", seq, event_id, at,
use_case_id, governed_run_id, actor, event_type, payload, prev_hash, key_id])``, where ``payload``
is the canonical JSON text stored in the row, ``at`` is ISO 8601 UTC with microseconds and
``key_id`` is the key's fingerprint (:func:`chain_key`). Editing, deleting or reordering events
therefore breaks the chain, and :func:`verify_chain` names the first bad event; without the audit
key (:mod:`airflow_ai_governance.keys`, never in the sidecar) nobody can recompute the MACs of
edited or forged events. Events written before revision 0003 have no ``key_id`` and a plain
SHA-256 ``hash`` (without the tag and key id); they are accepted only before the first keyed
event, whose MAC covers the link to them.

Writes refuse without the audit key (:class:`~airflow_ai_governance.keys.KeyMissing`, saying how
to configure one). Tail truncation is the one edit a chain cannot reveal by itself: signed
checkpoints of the chain's head (:mod:`.checkpoint`, ``aigov audit checkpoint``), kept outside
the sidecar, let :func:`verify_chain` detect it too.

No fork, ever: appends are serialized per database. PostgreSQL takes a transaction-level advisory
lock and reads the tail after it, in one call of the ``lock_audit_tail()`` function (a fresh
snapshot sees the latest commit); SQLite write transactions begin IMMEDIATE (see :mod:`.engine`).
The lock is held until commit, so appending last in a transaction keeps it short. ``seq`` is the
primary key: even a misconfigured writer (e.g. REPEATABLE READ) fails with an IntegrityError
rather than forking the chain.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from airflow_ai_governance.keys import ENV_KEY_FILE, KeyMissing, require_key
from airflow_ai_governance.store.engine import DB, SCHEMA, read_connection, session_scope
from airflow_ai_governance.store.models import AuditEvent, utcnow

GENESIS_HASH = "0" * 64
MAC_TAG = "aigov-audit-v1"
#: A key read from the configuration or the secrets backend is reused this long in a process.
KEY_CACHE_SECONDS = 60.0
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
    key_id: str | None = None

    def expected_hash(self, key: ChainKey | None = None) -> str:
        """The link this event's content yields: its MAC under ``key`` (the configured audit key
        when not given) if it is keyed, else the plain SHA-256 of an event written before 0003."""
        if self.key_id is None:
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
        return (key or audit_chain_key()).mac_of(self)

    def as_row(self) -> dict[str, Any]:
        """The column values (a shallow copy; ``dataclasses.asdict`` deep-copies, slowly)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``at`` as ISO text, ``payload`` parsed), as exported."""
        return {**self.as_row(), "at": iso(self.at), "payload": json.loads(self.payload)}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What :func:`verify_chain` found. ``ok`` needs the chain, the checkpoints and the registry
    to agree; ``first_bad_seq``/``reason`` name the first bad event (or missing one),
    ``registry_problems`` each registry row that differs from the state its chain events give."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    event_id: str | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    key_id: str | None = None
    checkpoint_seq: int | None = None
    checkpoint_at: str | None = None
    registry_problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------- key
class ChainKey:
    """The audit key, ready to MAC events and checkpoints. ``key_id`` is its public fingerprint."""

    __slots__ = ("_template", "key_id")

    def __init__(self, key: bytes) -> None:
        self._template = hmac.new(key, digestmod=hashlib.sha256)
        self.key_id = self.mac(b"aigov audit key id")[:16]

    def mac(self, message: bytes) -> str:
        mac = self._template.copy()
        mac.update(message)
        return mac.hexdigest()

    def mac_of(self, event: AuditEventRecord) -> str:
        fields = [
            MAC_TAG,
            event.seq,
            event.event_id,
            iso(event.at),
            event.use_case_id,
            event.governed_run_id,
            event.actor,
            event.event_type,
            event.payload,
            event.prev_hash,
            event.key_id,
        ]
        return self.mac(canonical_json(fields).encode())

    def __repr__(self) -> str:  # never the key
        return f"ChainKey(key_id={self.key_id!r})"


def chain_key(key: bytes) -> ChainKey:
    return ChainKey(key)


_key_lock = threading.Lock()
_key_cache: dict[tuple[str, ...], tuple[float, ChainKey]] = {}


def audit_chain_key() -> ChainKey:
    """The configured audit key (:func:`airflow_ai_governance.keys.require_key`), cached briefly
    per process (a secrets backend is not asked on every append). Raises
    :class:`~airflow_ai_governance.keys.KeyMissing` saying how to configure one: without it the
    audit log cannot be written or verified."""
    marker = tuple(
        os.environ.get(name, "")
        for name in ("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY", ENV_KEY_FILE, "AIRFLOW_HOME", "AIRFLOW_CONFIG")
    )
    now = time.monotonic()
    with _key_lock:
        hit = _key_cache.get(marker)
        if hit is not None and now - hit[0] < KEY_CACHE_SECONDS:
            return hit[1]
    try:
        key = ChainKey(require_key("audit"))
    except KeyMissing as exc:
        raise KeyMissing(f"the audit log is keyed and cannot be written or verified: {exc}") from None
    with _key_lock:
        _key_cache.clear()
        _key_cache[marker] = (now, key)
    return key


def forget_audit_key() -> None:
    """Drop the cached audit key (after a key change in this process; tests)."""
    with _key_lock:
        _key_cache.clear()


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
    """The unkeyed SHA-256 link of events written before revision 0003 (verification only)."""
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
    key = audit_chain_key()  # fail closed before any write: no key, no event
    # Everything that does not depend on the chain's tail is done before taking the lock, the
    # canonical JSON of the MAC's fixed fields included (see :func:`_mac_message`).
    prepared = []
    for event in events:
        event_id, payload = str(uuid.uuid4()), canonical_json(dict(event.payload or {}))
        fixed = canonical_json(
            [event.use_case_id, event.governed_run_id, event.actor, event.event_type, payload]
        )
        prepared.append((event, event_id, payload, canonical_json(event_id), fixed[1:-1]))
    key_json = canonical_json(key.key_id)
    with session_scope(db) as session:
        session.flush()  # the caller's pending rows go first
        conn = session.connection()
        seq, prev_hash = _lock_tail(conn)  # held until commit
        at = utcnow()  # taken under the lock, so ``at`` never decreases along the chain
        at_json = canonical_json(iso(at))
        records = []
        for event, event_id, payload, event_id_json, fixed in prepared:
            seq += 1
            link = key.mac(_mac_message(seq, event_id_json, at_json, fixed, prev_hash, key_json))
            records.append(
                AuditEventRecord(
                    seq,
                    event_id,
                    at,
                    event.use_case_id,
                    event.governed_run_id,
                    event.actor,
                    event.event_type,
                    payload,
                    prev_hash,
                    link,
                    key.key_id,
                )
            )
            prev_hash = link
        conn.execute(_TABLE.insert(), [r.as_row() for r in records])
    return records


def seal_unkeyed(db: DB) -> AuditEventRecord | None:
    """If the chain ends with events written before the keyed chain (revision 0003), append an
    ``audit_chain_keyed`` event whose MAC covers the link to them, so that rewriting them is
    detected from now on (run by ``aigov db upgrade``). ``None`` when there is nothing to seal."""
    with session_scope(db) as session:
        conn = session.connection()
        tail = conn.execute(
            sa.select(_TABLE.c.seq, _TABLE.c.hash, _TABLE.c.key_id).order_by(_TABLE.c.seq.desc()).limit(1)
        ).first()
        if tail is None or tail.key_id is not None:
            return None
        return append_event(
            session,
            event_type="audit_chain_keyed",
            actor="aigov db upgrade",
            payload={"unkeyed_head_seq": tail.seq, "unkeyed_head_hash": tail.hash},
        )


_TAG_JSON = canonical_json(MAC_TAG)


def _mac_message(
    seq: int, event_id_json: str, at_json: str, fixed: str, prev_hash: str, key_json: str
) -> bytes:
    """``canonical_json([MAC_TAG, seq, event_id, at, use_case_id, governed_run_id, actor,
    event_type, payload, prev_hash, key_id])`` (what :meth:`ChainKey.mac_of` MACs), assembled from
    parts serialized before the chain lock was taken: a JSON array is its elements joined by ``,``.
    ``fixed`` is the elements use_case_id..payload; ``prev_hash`` is hex (needs no escaping)."""
    return f'[{_TAG_JSON},{seq},{event_id_json},{at_json},{fixed},"{prev_hash}",{key_json}]'.encode()


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


def verify_chain(
    db: Engine | str | None = None,
    *,
    key: ChainKey | None = None,
    checkpoints: Path | None = None,
    use_checkpoints: bool = True,
    registry: bool = True,
) -> VerifyResult:
    """Walk the chain in ``seq`` order (constant memory) and report the first bad event, if any.

    Detects edits (an event's MAC under the audit key differs), forged events (nobody without the
    key can compute a MAC), deletions (a missing ``seq``, or a ``prev_hash`` that is not the
    predecessor's link) and reorderings (an event MACed for another position). Against every
    signed checkpoint (:mod:`.checkpoint`; the configured file unless ``checkpoints`` is given) it
    also detects a truncated tail and a chain replaced wholesale. With ``registry``, each registry
    row must equal the state its lifecycle events give (:mod:`.integrity`). Reads one consistent
    snapshot, so it may run while writers append. Raises
    :class:`~airflow_ai_governance.keys.KeyMissing` without the audit key and
    :class:`~.checkpoint.CheckpointError` when the checkpoint file cannot be trusted.
    """
    from airflow_ai_governance.store.checkpoint import checkpoint_file, read_checkpoints
    from airflow_ai_governance.store.integrity import LIFECYCLE_EVENTS, DerivedUseCase, registry_problems

    key = key or audit_chain_key()
    marks = {}
    if use_checkpoints:
        marks = {cp.seq: cp for cp in read_checkpoints(checkpoints or checkpoint_file(), key)}
    last_mark = marks[max(marks)] if marks else None
    warnings: list[str] = []
    if last_mark is None and use_checkpoints:
        warnings.append(
            "no checkpoint yet: a truncated tail cannot be detected; run `aigov audit checkpoint` regularly"
        )
    derived: dict[str, DerivedUseCase] = {}
    expected_seq, prev_hash, checked, keyed_seen = 1, GENESIS_HASH, 0, False
    unkeyed_from: int | None = None

    def broken(event_id: str | None, reason: str) -> VerifyResult:
        return VerifyResult(
            False,
            checked,
            expected_seq,
            event_id,
            reason,
            expected_seq - 1,
            prev_hash,
            key.key_id,
            last_mark.seq if last_mark else None,
            last_mark.at if last_mark else None,
            warnings=tuple(warnings),
        )

    with read_connection(db, snapshot=True) as conn:
        stmt = _select_events().order_by(_TABLE.c.seq)
        for row in conn.execution_options(yield_per=_STREAM_BATCH).execute(stmt):
            event = AuditEventRecord(**row._asdict())
            reason = None
            if event.seq != expected_seq:
                reason = (
                    f"seq {expected_seq} is missing: the chain jumps from seq {expected_seq - 1} to seq "
                    f"{event.seq} (event {event.event_id}); events were deleted or renumbered"
                )
            elif event.key_id is None and keyed_seen:
                reason = (
                    f"event seq {event.seq} ({event.event_id}) carries no audit key id after keyed events: "
                    "it was rewritten or forged without the audit key"
                )
            elif event.key_id is not None and event.key_id != key.key_id:
                reason = (
                    f"event seq {event.seq} ({event.event_id}) was written with audit key {event.key_id}, "
                    f"but the configured key is {key.key_id}: configure the key this sidecar was written "
                    "with (or the event was forged)"
                )
            elif event.hash != event.expected_hash(key):
                reason = (
                    f"event seq {event.seq} ({event.event_id}) was altered: its stored "
                    f"{'MAC' if event.key_id else 'hash'} does not match its content (edited, forged "
                    "without the audit key, or moved from another position)"
                )
            elif event.prev_hash != prev_hash:
                reason = (
                    f"event seq {event.seq} ({event.event_id}) does not link to its predecessor: prev_hash "
                    f"{event.prev_hash[:12]}... != {prev_hash[:12]}...; events were deleted, replaced or reordered"
                )
            elif event.seq in marks and marks[event.seq].mac != event.hash:
                mark = marks[event.seq]
                reason = (
                    f"event seq {event.seq} ({event.event_id}) differs from the signed checkpoint of "
                    f"{mark.at}: the chain was replaced from here or before"
                )
            elif event.seq == 1 and last_mark is not None and last_mark.first not in (None, event.hash):
                reason = (
                    f"event seq 1 ({event.event_id}) differs from the one the checkpoint of {last_mark.at} "
                    "names: the chain was replaced wholesale (or the checkpoint file belongs to another sidecar)"
                )
            if reason:
                return broken(event.event_id, reason)
            if event.key_id is None:
                unkeyed_from = unkeyed_from or event.seq
            else:
                keyed_seen = True
            if registry and event.use_case_id is not None and event.event_type in LIFECYCLE_EVENTS:
                derived.setdefault(event.use_case_id, DerivedUseCase(event.use_case_id)).apply(event)
            expected_seq, prev_hash, checked = expected_seq + 1, event.hash, checked + 1
        if unkeyed_from is not None and not keyed_seen:
            return VerifyResult(
                False,
                checked,
                unkeyed_from,
                None,
                f"events seq {unkeyed_from}..{checked} are not keyed and no keyed event seals them: run "
                "`aigov db upgrade` to seal the events written before the keyed chain (if it reports "
                "nothing to seal, they were rewritten without the audit key)",
                checked,
                prev_hash,
                key.key_id,
                warnings=tuple(warnings),
            )
        if last_mark is not None and last_mark.seq > checked:
            return broken(
                None,
                f"the chain ends at seq {checked}, but the signed checkpoint of {last_mark.at} covers seq "
                f"{last_mark.seq}: events seq {checked + 1}..{last_mark.seq} were deleted (tail truncated)",
            )
        problems: tuple[str, ...] = ()
        if registry:
            from sqlalchemy.orm import Session

            with Session(bind=conn) as session:
                problems = tuple(registry_problems(session, derived))
    return VerifyResult(
        not problems,
        checked,
        None,
        None,
        f"the registry differs from the audit chain: {'; '.join(problems)}" if problems else None,
        checked,
        prev_hash,
        key.key_id,
        last_mark.seq if last_mark else None,
        last_mark.at if last_mark else None,
        problems,
        tuple(warnings),
    )


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
