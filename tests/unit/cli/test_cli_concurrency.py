"""Two lifecycle decisions on one use case at the same time: the second sees the first's outcome."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from cli_support import Aigov, snapshot

from airflow_ai_governance.exceptions import LifecycleError
from airflow_ai_governance.store import session_scope
from airflow_ai_governance.store.registry import transition


def test_concurrent_promotions_do_not_both_start_from_the_same_state(
    aigov: Aigov, db_url: str, examples_dir: Path
) -> None:
    assert aigov("policy", "sync", examples_dir).code == 0
    assert aigov("promote", "invoice-triage", "--to", "approved", "--by", "a", "--reason", "ok").code == 0
    first_done, release = threading.Event(), threading.Event()
    errors: dict[str, BaseException] = {}

    def first() -> None:
        try:
            with session_scope(db_url) as session:
                transition(session, "invoice-triage", "pilot", actor="first", reason="go")
                first_done.set()
                release.wait(10)  # hold the transaction (and the row) open
        except BaseException as exc:  # pragma: no cover - reported below
            errors["first"] = exc
            first_done.set()

    def second() -> None:
        first_done.wait(10)
        try:
            with session_scope(db_url) as session:
                transition(session, "invoice-triage", "pilot", actor="second", reason="go too")
        except BaseException as exc:
            errors["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the second decision is now waiting for the first one's lock
    release.set()
    for thread in threads:
        thread.join(30)

    assert "first" not in errors
    assert isinstance(errors.get("second"), LifecycleError)
    assert "cannot move from pilot to pilot" in str(errors["second"])
    moves = [(row[2], row[3], row[4]) for row in snapshot(db_url)["lifecycle_transition"]]
    assert moves.count(("approved", "pilot", "first")) == 1
    assert not [m for m in moves if m[2] == "second"]
    assert aigov("audit", "verify").code == 0


pytestmark = pytest.mark.timeout(60)


def test_concurrent_syncs_of_a_new_use_case_register_it_once(db_url: str, examples_dir: Path) -> None:
    from airflow_ai_governance.policy import load_policies
    from airflow_ai_governance.store.registry import SyncReport, sync_policies

    loaded = [p for p in load_policies([examples_dir]) if p.policy.id == "meeting-summaries"]
    first_done, release = threading.Event(), threading.Event()
    reports: dict[str, SyncReport] = {}
    errors: dict[str, BaseException] = {}

    def first() -> None:
        try:
            with session_scope(db_url) as session:
                reports["first"] = sync_policies(session, loaded, actor="first")
                first_done.set()
                release.wait(10)  # the new row is inserted but not committed yet
        except BaseException as exc:  # pragma: no cover - reported below
            errors["first"] = exc
            first_done.set()

    def second() -> None:
        first_done.wait(10)
        try:
            with session_scope(db_url) as session:
                reports["second"] = sync_policies(session, loaded, actor="second")
        except BaseException as exc:
            errors["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the second sync now waits on the first one's new row
    release.set()
    for thread in threads:
        thread.join(30)

    assert errors == {}
    assert reports["first"].created == ["meeting-summaries"]
    assert reports["second"].unchanged == ["meeting-summaries"] and not reports["second"].created
    tables = snapshot(db_url)
    assert len(tables["use_case"]) == 1 and len(tables["policy_version"]) == 1
    assert [row[3] for row in tables["lifecycle_transition"]] == ["proposed"]
