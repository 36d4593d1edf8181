"""Concurrent registry writes (two lifecycle decisions, two syncs of a new use case): the second sees the first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import Aigov, snapshot
from sqlalchemy.orm import Session

from airflow_ai_governance.exceptions import LifecycleError
from airflow_ai_governance.store import session_scope
from airflow_ai_governance.store.registry import transition


def _race(db_url: str, first: Callable[[Session], Any], second: Callable[[Session], Any]) -> dict[str, Any]:
    """Run ``first`` in a transaction held open while ``second`` starts its own and waits on it.

    Returns each side's result, or the exception it raised, under ``"first"`` / ``"second"``.
    """
    first_done, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def run(name: str, fn: Callable[[Session], Any], hold: bool) -> None:
        try:
            with session_scope(db_url) as session:
                outcome[name] = fn(session)
                if hold:
                    first_done.set()
                    release.wait(10)  # hold the transaction (and its locks) open
        except BaseException as exc:
            outcome[name] = exc
        finally:
            first_done.set()

    threads = [threading.Thread(target=run, args=("first", first, True))]
    threads.append(threading.Thread(target=lambda: (first_done.wait(10), run("second", second, False))))
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the second transaction is now waiting for the first one's lock
    release.set()
    for thread in threads:
        thread.join(30)
    return outcome


def test_concurrent_promotions_do_not_both_start_from_the_same_state(
    aigov: Aigov, db_url: str, examples_dir: Path
) -> None:
    assert aigov("policy", "sync", examples_dir).code == 0
    assert aigov("promote", "invoice-triage", "--to", "approved", "--by", "a", "--reason", "ok").code == 0
    outcome = _race(
        db_url,
        lambda session: transition(session, "invoice-triage", "pilot", actor="first", reason="go"),
        lambda session: transition(session, "invoice-triage", "pilot", actor="second", reason="go too"),
    )
    assert not isinstance(outcome["first"], BaseException)
    assert isinstance(outcome["second"], LifecycleError)
    assert "cannot move from pilot to pilot" in str(outcome["second"])
    moves = [(row[2], row[3], row[4]) for row in snapshot(db_url)["lifecycle_transition"]]
    assert moves.count(("approved", "pilot", "first")) == 1
    assert not [m for m in moves if m[2] == "second"]
    assert aigov("audit", "verify").code == 0


pytestmark = pytest.mark.timeout(60)


def test_concurrent_syncs_of_a_new_use_case_register_it_once(db_url: str, examples_dir: Path) -> None:
    from airflow_ai_governance.policy import load_policies
    from airflow_ai_governance.store.registry import sync_policies

    loaded = [p for p in load_policies([examples_dir]) if p.policy.id == "meeting-summaries"]
    outcome = _race(
        db_url,
        lambda session: sync_policies(session, loaded, actor="first"),
        lambda session: sync_policies(session, loaded, actor="second"),
    )
    assert outcome["first"].created == ["meeting-summaries"]
    assert outcome["second"].unchanged == ["meeting-summaries"] and not outcome["second"].created
    tables = snapshot(db_url)
    assert len(tables["use_case"]) == 1 and len(tables["policy_version"]) == 1
    assert [row[3] for row in tables["lifecycle_transition"]] == ["proposed"]
