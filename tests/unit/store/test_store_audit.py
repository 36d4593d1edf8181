"""The hash-chained audit log: appends, verification, tampering detection, export."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_ai_governance.store import (
    GENESIS_HASH,
    AuditEvent,
    AuditEventRecord,
    NewAuditEvent,
    append_event,
    append_events,
    canonical_json,
    export_events,
    session_scope,
    start_run,
    verify_chain,
)

AUDIT = AuditEvent.__table__
Cli = Callable[..., tuple[int, str, str]]


def _fill(url: str, count: int = 10) -> None:
    append_events(
        url,
        [NewAuditEvent("test", "alice", {"i": i}, "uc-a" if i % 2 else "uc-b") for i in range(1, count + 1)],
    )


def test_events_link_to_their_predecessor(db_url: str) -> None:
    first = append_event(
        db_url, event_type="run_started", actor="airflow", payload={"b": 1, "a": [1.5, None]}
    )
    second = append_event(db_url, event_type="run_finished", actor="airflow", use_case_id="uc")
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash == first.expected_hash()
    assert first.payload == '{"a":[1.5,null],"b":1}'
    assert first.at.tzinfo is not None
    assert verify_chain(db_url).ok


def test_batch_is_contiguous_and_stored_as_returned(sqlite_url: str) -> None:
    records = append_events(sqlite_url, [NewAuditEvent("e", "bob", {"i": i}) for i in range(5)])
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert [e["hash"] for e in export_events(sqlite_url)] == [r.hash for r in records]
    assert append_events(sqlite_url, []) == []


def test_append_joins_the_callers_transaction(db_url: str) -> None:
    def work_that_fails() -> None:
        with session_scope(db_url) as session:
            append_event(session, event_type="lost", actor="a")
            raise RuntimeError("the caller's work failed")

    with pytest.raises(RuntimeError):
        work_that_fails()
    assert verify_chain(db_url).checked == 0


def test_record_and_its_audit_event_are_atomic(db_url: str) -> None:
    with pytest.raises(sa.exc.IntegrityError):  # unknown use case: foreign key
        start_run(db_url, use_case_id="nope", policy_version=1, dag_id="d", run_id="r", task_id="t")
    assert verify_chain(db_url).checked == 0


def test_canonical_json() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert (
        canonical_json({"b": when, "a": {"z", "y"}, "é": 1})
        == '{"a":["y","z"],"b":"2024-05-01T12:00:00+00:00","é":1}'
    )
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": math.nan})
    with pytest.raises(TypeError, match="not JSON-serializable"):
        canonical_json({"x": object()})


# -------------------------------------------------------------------------------- verify
def test_verify_ok_via_cli(db_url: str, run_cli: Cli) -> None:
    code, out, _ = run_cli("--db-url", db_url, "audit", "verify")
    assert (code, out.split(":")[0]) == (0, "audit chain OK")
    _fill(db_url)
    code, out, _ = run_cli("--db-url", db_url, "audit", "verify", "--json")
    result = json.loads(out)
    assert (code, result["ok"], result["checked"], result["head_seq"]) == (0, True, 10, 10)


def _swap_seqs(conn: sa.Connection, a: int, b: int) -> None:
    for old, new in ((a, -1), (b, a), (-1, b)):
        conn.execute(AUDIT.update().where(AUDIT.c.seq == old).values(seq=new))


def _edit_and_rehash(conn: sa.Connection, seq: int) -> None:
    row = conn.execute(sa.select(AUDIT).where(AUDIT.c.seq == seq)).one()
    forged = AuditEventRecord(**{**row._asdict(), "payload": '{"i":999}'})
    conn.execute(
        AUDIT.update().where(AUDIT.c.seq == seq).values(payload=forged.payload, hash=forged.expected_hash())
    )


def _update(position: int, **values: Any) -> Callable[[sa.Connection], Any]:
    return lambda conn: conn.execute(AUDIT.update().where(AUDIT.c.seq == position).values(**values))


def _delete(seq: int) -> Callable[[sa.Connection], Any]:
    return lambda conn: conn.execute(AUDIT.delete().where(AUDIT.c.seq == seq))


# kind: (change, first bad seq, words of the reason)
TAMPERING: dict[str, tuple[Callable[[sa.Connection], Any], int, str]] = {
    "update payload": (_update(5, payload='{"i":999}'), 5, "was altered"),
    "delete middle": (_delete(5), 5, "seq 5 is missing"),
    "swap order": (lambda conn: _swap_seqs(conn, 3, 7), 3, "was altered"),
}
# The same detection logic, once more on SQLite only (verification does not depend on the backend).
MORE_TAMPERING: dict[str, tuple[Callable[[sa.Connection], Any], int, str]] = {
    "update actor": (_update(1, actor="eve"), 1, "was altered"),
    "update payload and recompute its hash": (lambda conn: _edit_and_rehash(conn, 5), 6, "does not link"),
    "delete first": (_delete(1), 1, "seq 1 is missing"),
    "renumber last": (_update(10, seq=11), 10, "seq 10 is missing"),
    "swap neighbours' contents": (lambda conn: _swap_seqs(conn, 9, 10), 9, "was altered"),
}


def _check_tampering(
    url: str, run_cli: Cli, tamper: Any, kind: tuple[Callable[[sa.Connection], Any], int, str]
) -> None:
    _fill(url)
    assert verify_chain(url).ok
    change, bad_seq, why = kind
    with tamper(url) as conn:
        change(conn)
    code, out, _ = run_cli("--db-url", url, "audit", "verify")
    assert code == 1
    assert out.startswith(f"audit chain BROKEN at seq {bad_seq}: ")
    assert why in out
    code, out, _ = run_cli("--db-url", url, "audit", "verify", "--json")
    result = json.loads(out)
    assert (code, result["ok"], result["first_bad_seq"], result["checked"]) == (
        1,
        False,
        bad_seq,
        bad_seq - 1,
    )


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_is_detected_by_cli(db_url: str, run_cli: Cli, tamper: Any, kind: str) -> None:
    _check_tampering(db_url, run_cli, tamper, TAMPERING[kind])


@pytest.mark.parametrize("kind", MORE_TAMPERING)
def test_more_tampering_is_detected(sqlite_url: str, run_cli: Cli, tamper: Any, kind: str) -> None:
    _check_tampering(sqlite_url, run_cli, tamper, MORE_TAMPERING[kind])


# -------------------------------------------------------------------------------- export
def test_export_filters(db_url: str) -> None:
    _fill(db_url, 4)
    later = append_event(db_url, event_type="late", actor="bob", use_case_id="uc-a")
    assert [e["seq"] for e in export_events(db_url)] == [1, 2, 3, 4, 5]
    assert [e["seq"] for e in export_events(db_url, use_case_id="uc-a")] == [1, 3, 5]
    assert [e["seq"] for e in export_events(db_url, since=later.at)] == [5]
    assert [e["seq"] for e in export_events(db_url, until=later.at)] == [1, 2, 3, 4]
    window = export_events(db_url, use_case_id="uc-a", since=later.at - timedelta(days=1), until=later.at)
    assert [e["seq"] for e in window] == [1, 3]
    event = next(export_events(db_url))
    assert event["payload"] == {"i": 1}
    assert datetime.fromisoformat(event["at"]).utcoffset() == timedelta(0)


def test_export_cli_jsonl_and_csv(db_url: str, run_cli: Cli, tmp_path: Path) -> None:
    _fill(db_url, 6)
    code, out, err = run_cli("--db-url", db_url, "audit", "export", "--use-case", "uc-b")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [e["seq"] for e in lines] == [2, 4, 6]
    assert "exported 3 audit events" in err
    for event in lines:  # an export can be verified offline
        fields = {
            **event,
            "at": datetime.fromisoformat(event["at"]),
            "payload": canonical_json(event["payload"]),
        }
        assert AuditEventRecord(**fields).expected_hash() == event["hash"]

    target = tmp_path / "audit.csv"
    code, _, _ = run_cli("--db-url", db_url, "audit", "export", "--format", "csv", "--output", str(target))
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert code == 0
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["payload"] == '{"i":1}'  # the canonical text that was hashed
    assert rows[1]["prev_hash"] == rows[0]["hash"]

    code, out, _ = run_cli("--db-url", db_url, "audit", "export", "--since", "2999-01-01")
    assert (code, out) == (0, "")
    with pytest.raises(SystemExit) as info:
        run_cli("--db-url", db_url, "audit", "export", "--since", "yesterday")
    assert info.value.code == 2
