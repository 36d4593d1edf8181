"""8 writer processes x 1,000 audit events leave one complete, verifiable chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing as mp
from collections import defaultdict
from typing import Any

import pytest

from airflow_ai_governance.store import (
    NewAuditEvent,
    append_event,
    append_events,
    export_events,
    verify_chain,
)

pytestmark = pytest.mark.integration

WRITERS = 8
EVENTS = 1000
SINGLE = 100  # per writer, one event per transaction; the rest in batches
BATCH = 25


def _writer(url: str, index: int, barrier: Any) -> None:
    actor = f"writer-{index}"
    barrier.wait()
    for i in range(SINGLE):
        append_event(url, event_type="single", actor=actor, payload={"i": i}, use_case_id=f"uc-{index % 2}")
    for first in range(SINGLE, EVENTS, BATCH):
        batch = [NewAuditEvent("batch", actor, {"i": i}) for i in range(first, min(first + BATCH, EVENTS))]
        append_events(url, batch)


def test_concurrent_writers_never_fork_the_chain(db_url: str) -> None:
    ctx = mp.get_context("fork")  # the store drops inherited pooled connections after fork
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_writer, args=(db_url, i, barrier)) for i in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
    assert [proc.exitcode for proc in procs] == [0] * WRITERS

    result = verify_chain(db_url)
    assert (result.ok, result.checked, result.head_seq) == (True, WRITERS * EVENTS, WRITERS * EVENTS)
    seqs, event_ids, per_writer = [], set(), defaultdict(list)
    for event in export_events(db_url):
        seqs.append(event["seq"])
        event_ids.add(event["event_id"])
        per_writer[event["actor"]].append(event["payload"]["i"])
    assert seqs == list(range(1, WRITERS * EVENTS + 1))
    assert len(event_ids) == WRITERS * EVENTS
    # every writer's events are all there, in the order it appended them
    assert {actor: order == list(range(EVENTS)) for actor, order in per_writer.items()} == {
        f"writer-{i}": True for i in range(WRITERS)
    }
