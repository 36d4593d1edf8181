"""Issue 8 item 5: rewrites of the audit chain and of the registry by someone holding the sidecar's
database credentials (triggers off), but not the audit key, are detected by ``aigov audit verify``
(naming the first bad seq) and refused at run time by the registry lookup the gates use."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from airflow_ai_governance.exceptions import RegistryTampered
from airflow_ai_governance.gates import TaskRef, preflight
from airflow_ai_governance.keys import KeyMissing
from airflow_ai_governance.policy import load_policies
from airflow_ai_governance.store import (
    AuditEvent,
    AuditEventRecord,
    NewAuditEvent,
    PolicyVersion,
    UseCase,
    append_event,
    append_events,
    session_scope,
    verify_chain,
)
from airflow_ai_governance.store.audit import chain_hash, forget_audit_key
from airflow_ai_governance.store.registry import current_policy, sync_policies, transition
from helpers.setup import register_and_promote

AUDIT = AuditEvent.__table__
Cli = Callable[..., tuple[int, str, str]]
EXAMPLES = Path(__file__).resolve().parents[3] / "dags" / "governance"
USE_CASE = "meeting-summaries"


@pytest.fixture(autouse=True)
def checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own checkpoint file (the configured one)."""
    path = tmp_path / "checkpoints" / "audit.jsonl"
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__AUDIT_CHECKPOINT_FILE", str(path))
    return path


def _fill(url: str, count: int = 10) -> None:
    append_events(url, [NewAuditEvent("test", "alice", {"i": i}) for i in range(1, count + 1)])


def _rows(conn: sa.Connection, start: int = 1) -> list[AuditEventRecord]:
    names = [c for c in AuditEventRecord.__slots__ if c in AUDIT.c]
    stmt = sa.select(*(AUDIT.c[n] for n in names)).where(AUDIT.c.seq >= start).order_by(AUDIT.c.seq)
    return [AuditEventRecord(**row._asdict()) for row in conn.execute(stmt)]


def _unkeyed(event: AuditEventRecord) -> str:
    """What an attacker without the key can compute: the plain SHA-256 chain link."""
    fields = [getattr(event, n) for n in AuditEventRecord.__slots__[:9]]
    return chain_hash(*fields)


def _verify(run_cli: Cli, url: str) -> tuple[int, dict[str, Any], str]:
    code, out, _ = run_cli("--db-url", url, "audit", "verify", "--json")
    data = json.loads(out)
    _, text, _ = run_cli("--db-url", url, "audit", "verify")
    return code, data, text


# ------------------------------------------------------------------------ chain rewrites
def test_edit_and_recompute_the_unkeyed_hashes_is_detected(db_url: str, run_cli: Cli, tamper: Any) -> None:
    """Trigger off, event 5 edited, the hashes of 5..10 recomputed as the old chain defined them."""
    _fill(db_url)
    with tamper(db_url) as conn:
        prev = _rows(conn)[3].hash
        for event in _rows(conn, 5):
            forged = replace(event, prev_hash=prev, payload='{"i":999}' if event.seq == 5 else event.payload)
            link = _unkeyed(forged)
            conn.execute(
                AUDIT.update()
                .where(AUDIT.c.seq == event.seq)
                .values(payload=forged.payload, prev_hash=prev, hash=link)
            )
            prev = link
    code, result, text = _verify(run_cli, db_url)
    assert (code, result["ok"], result["first_bad_seq"]) == (1, False, 5)
    assert text.startswith("audit chain BROKEN at seq 5: ")
    assert "was altered" in text


def test_edit_and_recompute_with_the_key_id_kept_is_detected(
    sqlite_url: str, run_cli: Cli, tamper: Any
) -> None:
    """The same, keeping ``key_id`` and MACing with a guessed key: still not the audit key."""
    from airflow_ai_governance.store.audit import chain_key

    _fill(sqlite_url)
    guessed = chain_key(b"g" * 40)
    with tamper(sqlite_url) as conn:
        event = _rows(conn, 10)[0]
        forged = replace(event, payload='{"i":999}')
        conn.execute(
            AUDIT.update()
            .where(AUDIT.c.seq == 10)
            .values(payload=forged.payload, hash=guessed.mac_of(forged))
        )
    code, result, _ = _verify(run_cli, sqlite_url)
    assert (code, result["first_bad_seq"]) == (1, 10)


def test_an_appended_forged_event_is_detected(db_url: str, run_cli: Cli, tamper: Any) -> None:
    _fill(db_url)
    with tamper(db_url) as conn:
        head = _rows(conn, 10)[0]
        forged = AuditEventRecord(
            11, "00000000-0000-0000-0000-000000000011", head.at, None, None, "eve", "approval_recorded",
            '{"decision":"approved"}', head.hash, "",
        )  # fmt: skip
        conn.execute(AUDIT.insert().values(**{**forged.as_row(), "hash": _unkeyed(forged), "key_id": None}))
    code, result, text = _verify(run_cli, db_url)
    assert (code, result["ok"], result["first_bad_seq"]) == (1, False, 11)
    assert "without the audit key" in text


def test_a_deleted_tail_is_detected_against_the_checkpoint(db_url: str, run_cli: Cli, tamper: Any) -> None:
    _fill(db_url)
    code, out, _ = run_cli("--db-url", db_url, "audit", "checkpoint")
    assert code == 0, out
    assert "seq 10" in out
    _fill(db_url, 2)  # seq 11, 12 after the checkpoint: fine
    assert verify_chain(db_url).ok
    with tamper(db_url) as conn:
        conn.execute(AUDIT.delete().where(AUDIT.c.seq >= 8))
    code, result, text = _verify(run_cli, db_url)
    assert (code, result["ok"], result["first_bad_seq"], result["checkpoint_seq"]) == (1, False, 8, 10)
    assert "seq 8..10 were deleted (tail truncated)" in text


def test_a_deleted_middle_event_is_named(db_url: str, run_cli: Cli, tamper: Any) -> None:
    _fill(db_url)
    with tamper(db_url) as conn:
        conn.execute(AUDIT.delete().where(AUDIT.c.seq == 4))
    code, result, _ = _verify(run_cli, db_url)
    assert (code, result["first_bad_seq"]) == (1, 4)


def test_rewriting_before_the_checkpoint_is_named(sqlite_url: str, run_cli: Cli, tamper: Any) -> None:
    """Even the key's holder cannot rewrite history behind a checkpoint unnoticed: the chain from
    seq 3 on is rebuilt with the key (a rewrite), the checkpoint at seq 10 no longer matches."""
    from airflow_ai_governance.store.audit import audit_chain_key

    _fill(sqlite_url)
    assert run_cli("--db-url", sqlite_url, "audit", "checkpoint")[0] == 0
    key = audit_chain_key()
    with tamper(sqlite_url) as conn:
        prev = _rows(conn)[1].hash
        for event in _rows(conn, 3):
            forged = replace(event, prev_hash=prev, payload='{"i":0}' if event.seq == 3 else event.payload)
            forged = replace(forged, hash=key.mac_of(forged))
            conn.execute(
                AUDIT.update()
                .where(AUDIT.c.seq == event.seq)
                .values(payload=forged.payload, prev_hash=prev, hash=forged.hash)
            )
            prev = forged.hash
    code, result, text = _verify(run_cli, sqlite_url)
    assert (code, result["first_bad_seq"]) == (1, 10)
    assert "differs from the signed checkpoint" in text


def test_a_forged_or_edited_checkpoint_line_is_refused(
    sqlite_url: str, run_cli: Cli, checkpoints: Path
) -> None:
    _fill(sqlite_url)
    assert run_cli("--db-url", sqlite_url, "audit", "checkpoint")[0] == 0
    line = json.loads(checkpoints.read_text())
    assert oct(checkpoints.stat().st_mode & 0o777) == "0o600"
    checkpoints.write_text(json.dumps({**line, "seq": 3}) + "\n")
    code, out, _ = run_cli("--db-url", sqlite_url, "audit", "verify")
    assert code == 1
    assert "line 1 has a bad signature" in out


def test_a_broken_chain_is_never_checkpointed(
    sqlite_url: str, run_cli: Cli, tamper: Any, checkpoints: Path
) -> None:
    _fill(sqlite_url)
    with tamper(sqlite_url) as conn:
        conn.execute(AUDIT.update().where(AUDIT.c.seq == 2).values(actor="eve"))
    code, out, err = run_cli("--db-url", sqlite_url, "audit", "checkpoint")
    assert (code, checkpoints.exists()) == (1, False)
    assert "BROKEN at seq 2" in out and "no checkpoint written" in err


def test_without_the_key_writes_and_verify_refuse(
    sqlite_url: str, run_cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fill(sqlite_url, 2)
    monkeypatch.delenv("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY")
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__KEY_FILE", str(tmp_path / "no-keys.json"))
    forget_audit_key()
    with pytest.raises(
        KeyMissing, match=r"audit log is keyed.*AIRFLOW__AI_GOVERNANCE__AUDIT_KEY.*aigov db upgrade"
    ):
        append_event(sqlite_url, event_type="e", actor="a")
    code, _, err = run_cli("--db-url", sqlite_url, "audit", "verify")
    assert code == 2
    assert "no audit key is configured" in err


def test_another_key_is_named(sqlite_url: str, run_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(sqlite_url, 2)
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY", "k" * 40)
    code, result, text = _verify(run_cli, sqlite_url)
    assert (code, result["first_bad_seq"]) == (1, 1)
    assert "was written with audit key" in text


def test_events_of_before_the_keyed_chain_are_sealed_and_stay_verifiable(
    db_url: str, run_cli: Cli, tamper: Any
) -> None:
    """Rows written by the unkeyed chain (before 0003) verify; `db upgrade` seals them with a keyed
    event, after which rewriting them (and recomputing their hashes) is detected."""
    _fill(db_url, 3)
    with tamper(db_url) as conn:  # make them what the unkeyed chain wrote
        prev = "0" * 64
        for event in _rows(conn):
            old = replace(event, prev_hash=prev, key_id=None)
            conn.execute(
                AUDIT.update()
                .where(AUDIT.c.seq == event.seq)
                .values(prev_hash=prev, hash=_unkeyed(old), key_id=None)
            )
            prev = _unkeyed(old)
    code, result, _ = _verify(run_cli, db_url)
    assert (code, result["first_bad_seq"]) == (1, 1)
    assert "aigov db upgrade" in result["reason"]
    code, out, _ = run_cli("--db-url", db_url, "db", "upgrade")
    assert code == 0 and "Sealed the 3 audit events" in out
    _fill(db_url, 1)
    code, result, _ = _verify(run_cli, db_url)
    assert (code, result["ok"], result["checked"]) == (0, True, 5)
    with tamper(db_url) as conn:
        prev = _rows(conn)[0].hash
        event = replace(_rows(conn, 2)[0], payload='{"i":42}')
        conn.execute(
            AUDIT.update().where(AUDIT.c.seq == 2).values(payload=event.payload, hash=_unkeyed(event))
        )
        following = replace(_rows(conn, 3)[0], prev_hash=_unkeyed(event))
        conn.execute(
            AUDIT.update()
            .where(AUDIT.c.seq == 3)
            .values(prev_hash=following.prev_hash, hash=_unkeyed(following))
        )
    code, result, _ = _verify(run_cli, db_url)
    assert (code, result["first_bad_seq"]) == (1, 4)  # the seal's MAC covers the old link
    assert prev  # (seq 1 untouched)


# ---------------------------------------------------------------------------- registry
@pytest.fixture
def live(db_url: str) -> str:
    """meeting-summaries registered and in production through the registry (events in the chain)."""
    register_and_promote(db_url, [EXAMPLES / "meeting_summaries.yaml"], actor="gina")
    return db_url


def _sql(tamper: Any, url: str, statement: str) -> None:
    """Run ``statement`` as the sidecar's DB user with the append-only triggers out of the way."""
    with tamper(url) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS policy_version_no_update")
        conn.exec_driver_sql(
            statement.replace("{s}", "ai_governance." if conn.dialect.name == "postgresql" else "")
        )


def _preflight(url: str) -> None:
    preflight(USE_CASE, TaskRef("d", "r", "t"), gate="ai_task", db=url)


def test_a_retired_use_case_set_back_to_production_is_detected_and_refused(
    live: str, run_cli: Cli, tamper: Any
) -> None:
    _preflight(live)  # runs while in production
    with session_scope(live) as session:
        transition(session, USE_CASE, "retired", actor="gina", reason="replaced")
    assert verify_chain(live).ok
    _sql(tamper, live, "UPDATE {s}use_case SET state = 'production' WHERE id = 'meeting-summaries'")
    code, result, text = _verify(run_cli, live)
    assert (code, result["ok"], result["first_bad_seq"]) == (1, False, None)
    assert "REGISTRY TAMPERED" in text
    assert "registry state is 'production' but the audit chain gives 'retired'" in text
    with pytest.raises(
        RegistryTampered, match=r"registry state is 'production' but the audit chain gives 'retired'"
    ):
        _preflight(live)
    with session_scope(live, readonly=True) as session:
        runs = session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "run_started")
        )
    assert runs == 1  # no run was started after the tampering
    with session_scope(live, readonly=True) as session:
        refused = session.scalars(
            sa.select(AuditEvent.payload).where(AuditEvent.event_type == "run_refused")
        ).all()
    assert len(refused) == 1 and "registry does not match the audit chain" in refused[0]


def test_current_version_moved_back_is_detected_and_refused(
    db_url: str, run_cli: Cli, tamper: Any, tmp_path: Path
) -> None:
    """v2 (tier 3) is in force; someone sets current_version back to v1 (tier 2) by SQL."""
    register_and_promote(db_url, [EXAMPLES / "meeting_summaries.yaml"], actor="gina", to="approved")
    changed = tmp_path / "meeting_summaries.yaml"
    changed.write_text(
        (EXAMPLES / "meeting_summaries.yaml")
        .read_text()
        .replace("Internal meeting summaries", "Summaries v2")
    )
    with session_scope(db_url) as session:
        sync_policies(session, load_policies([changed]), actor="gina")
    with session_scope(db_url, readonly=True) as session:
        assert current_policy(session, USE_CASE)[0].current_version == 2
    assert verify_chain(db_url).ok
    _sql(tamper, db_url, "UPDATE {s}use_case SET current_version = 1 WHERE id = 'meeting-summaries'")
    code, result, text = _verify(run_cli, db_url)
    assert (code, result["ok"]) == (1, False)
    assert "registry current_version is 1 but the audit chain gives 2" in text
    with (
        session_scope(db_url, readonly=True) as session,
        pytest.raises(RegistryTampered, match="current_version is 1"),
    ):
        current_policy(session, USE_CASE)


def test_an_edited_policy_document_is_detected_and_refused(live: str, run_cli: Cli, tamper: Any) -> None:
    with session_scope(live, readonly=True) as session:
        document = session.scalar(
            sa.select(PolicyVersion.document).where(PolicyVersion.use_case_id == USE_CASE)
        )
    assert document is not None
    weakened = json.dumps({**document, "title": "tier lowered"}).replace("'", "''")
    _sql(
        tamper,
        live,
        f"UPDATE {{s}}policy_version SET document = '{weakened}', content_hash = 'x' WHERE use_case_id = 'meeting-summaries'",
    )
    code, _, text = _verify(run_cli, live)
    assert code == 1
    assert "the stored policy document was changed" in text
    with pytest.raises(RegistryTampered, match="the stored policy document was changed"):
        _preflight(live)


def test_a_use_case_inserted_by_sql_is_refused(db_url: str, run_cli: Cli) -> None:
    with session_scope(db_url) as session:
        session.add(UseCase(id="sneaky", title="t", tier=1, state="production", current_version=1))
    code, _, text = _verify(run_cli, db_url)
    assert code == 1
    assert "use case 'sneaky': the audit chain has no use_case_registered event" in text


def test_a_forged_lifecycle_event_with_the_key_cannot_resurrect(live: str, run_cli: Cli, tamper: Any) -> None:
    """Even a correctly MACed event cannot undo retirement: the replay refuses the transition."""
    with session_scope(live) as session:
        transition(session, USE_CASE, "retired", actor="gina", reason="replaced")
    append_event(
        live,
        event_type="lifecycle_transition",
        actor="eve",
        use_case_id=USE_CASE,
        payload={"from": "retired", "to": "production"},
    )
    _sql(tamper, live, "UPDATE {s}use_case SET state = 'production' WHERE id = 'meeting-summaries'")
    code, _, text = _verify(run_cli, live)
    assert code == 1
    assert "retirement is final" in text
    with pytest.raises(RegistryTampered, match="retirement is final"):
        _preflight(live)


def test_registry_changes_through_the_registry_verify(live: str, run_cli: Cli) -> None:
    with session_scope(live) as session:
        transition(session, USE_CASE, "suspended", actor="gina", reason="pause")
    code, result, text = _verify(run_cli, live)
    assert (code, result["ok"], result["registry_problems"]) == (0, True, [])
    assert "registry matches the chain" in text


def test_a_waiting_run_does_not_resume_on_a_tampered_registry(live: str, tamper: Any) -> None:
    """A run waiting for its reviewers resumes only if the state is the chain's: suspended by the
    registry, set back to production by SQL, it is refused."""
    from airflow_ai_governance.gates.preflight import resume

    ctx = preflight(USE_CASE, TaskRef("d", "r", "t"), gate="human_approval", db=live)
    assert (
        resume(ctx.governed_run_id, TaskRef("d", "r", "t"), gate="human_approval", db=live).state
        == "production"
    )
    with session_scope(live) as session:
        transition(session, USE_CASE, "suspended", actor="gina", reason="incident")
    _sql(tamper, live, "UPDATE {s}use_case SET state = 'production' WHERE id = 'meeting-summaries'")
    with pytest.raises(
        RegistryTampered, match="registry state is 'production' but the audit chain gives 'suspended'"
    ):
        resume(ctx.governed_run_id, TaskRef("d", "r", "t"), gate="human_approval", db=live)


def test_the_mac_assembled_under_the_lock_is_the_mac_of_the_event(sqlite_url: str) -> None:
    """append_events serializes the fixed fields before taking the chain lock; the result must be
    exactly the MAC of the canonical event (what verify recomputes)."""
    from airflow_ai_governance.store.audit import audit_chain_key

    events = [
        NewAuditEvent('é "quoted" \\ type', "Zoë\u2028", {"k": ["\u0000", 1.5, None]}, "uc-ü", None),
        NewAuditEvent("plain", "a", None, None, "run-1"),
    ]
    key = audit_chain_key()
    for record in append_events(sqlite_url, events):
        assert record.hash == key.mac_of(record)
    assert verify_chain(sqlite_url).ok
