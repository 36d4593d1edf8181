"""Audit-log write throughput on PostgreSQL: 8 writer processes, chain verified afterwards.

Creates (and drops) its own database ``aigov_bench_<random>`` on the local server. The same writer
processes run four phases; every transaction commits (synchronous_commit on):

1. baseline: plain INSERTs of the same rows into a table without chain, lock or trigger,
   one event per transaction;
2. chain: ``append_event``, one event per transaction (lock, tail read, insert, commit);
3. baseline again, ``--batch`` events per transaction;
4. chain: ``append_events``, ``--batch`` events per transaction.

Each chain phase is reported against the baseline with the same batching. The headline figure is
phase 4, how busy writers should append: the chain serializes transactions, so its rate is
bounded by commit latency, not by events. Phase 2 is reported too.
Usage: python bench/audit_write.py [--writers 8] [--events 1000] [--single-events 150] [--batch 50]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from typing import Any

TARGET = 2000.0
PG_HOST = os.environ.get("AIGOV_TEST_PG_HOST", "127.0.0.1")


@dataclass(frozen=True)
class Phase:
    label: str
    chained: bool
    events: int  # per writer
    per_transaction: int


def _phases(events: int, single_events: int, batch: int) -> list[Phase]:
    return [
        Phase("baseline: plain INSERT", False, single_events, 1),
        Phase("chain: append_event", True, single_events, 1),
        Phase("baseline: plain INSERT", False, events, batch),
        Phase("chain: append_events", True, events, batch),
    ]


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def _writer(url: str, index: int, phases: list[Phase], barrier: Barrier, results: Any) -> None:
    import sqlalchemy as sa

    from airflow_ai_governance.store import (
        GENESIS_HASH,
        NewAuditEvent,
        append_event,
        append_events,
        canonical_json,
        get_engine,
        session_scope,
        utcnow,
    )

    engine = get_engine(url)
    plain = sa.Table("bench_plain", sa.MetaData(), schema="ai_governance", autoload_with=engine)
    with session_scope(engine, readonly=True):  # connect and check the schema before timing
        pass
    actor = f"writer-{index}"

    def event(i: int) -> NewAuditEvent:
        return NewAuditEvent("bench", actor, {"writer": index, "i": i, "note": "benchmark event"}, "bench")

    def plain_row(i: int) -> dict[str, Any]:
        e = event(i)
        return {
            "event_id": str(uuid.uuid4()),
            "at": utcnow(),
            "use_case_id": e.use_case_id,
            "actor": actor,
            "event_type": e.event_type,
            "payload": canonical_json(e.payload),
            "prev_hash": GENESIS_HASH,
            "hash": GENESIS_HASH,
        }

    for phase in phases:
        barrier.wait()
        start = time.perf_counter()
        for first in range(0, phase.events, phase.per_transaction):
            chunk = range(first, min(first + phase.per_transaction, phase.events))
            if not phase.chained:
                with engine.begin() as conn:
                    conn.execute(plain.insert(), [plain_row(i) for i in chunk])
            elif phase.per_transaction == 1:
                e = event(first)
                append_event(
                    engine, event_type=e.event_type, actor=actor, payload=e.payload, use_case_id="bench"
                )
            else:
                append_events(engine, [event(i) for i in chunk])
        results.put((start, time.perf_counter()))


def _prepare(url: str) -> None:
    import sqlalchemy as sa

    from airflow_ai_governance.store import upgrade
    from airflow_ai_governance.store.engine import create_engine

    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:  # the columns and indexes of audit_event; no chain, lock or trigger
        conn.execute(
            sa.text(
                "CREATE TABLE ai_governance.bench_plain (seq BIGSERIAL PRIMARY KEY, event_id VARCHAR(36) UNIQUE,"
                " at TIMESTAMPTZ NOT NULL, use_case_id VARCHAR(128), governed_run_id VARCHAR(36),"
                " actor VARCHAR(256) NOT NULL, event_type VARCHAR(64) NOT NULL, payload TEXT NOT NULL,"
                " prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL)"
            )
        )
        for columns in ("use_case_id, seq", "at", "governed_run_id"):
            conn.execute(sa.text(f"CREATE INDEX ON ai_governance.bench_plain ({columns})"))
    engine.dispose()


def run(writers: int, events: int, single_events: int, batch: int) -> bool:
    from airflow_ai_governance.store import dispose_engines, verify_chain

    phases = _phases(events, single_events, batch)
    name = f"aigov_bench_{uuid.uuid4().hex[:10]}"
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        _prepare(url)
        ctx = mp.get_context("spawn")
        barrier, results = ctx.Barrier(writers + 1), ctx.Queue()
        procs = [ctx.Process(target=_writer, args=(url, i, phases, barrier, results)) for i in range(writers)]
        for proc in procs:
            proc.start()
        rates = []
        for phase in phases:
            barrier.wait(timeout=120)
            spans = [results.get(timeout=300) for _ in range(writers)]
            elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
            rates.append(writers * phase.events / elapsed)
        for proc in procs:
            proc.join(timeout=60)
        if any(proc.exitcode != 0 for proc in procs):
            print("a writer process failed", file=sys.stderr)
            return False
        started = time.perf_counter()
        result = verify_chain(url, use_checkpoints=False)  # a fresh database: no checkpoints of it
        verify_rate = result.checked / (time.perf_counter() - started)
        dispose_engines()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"PostgreSQL, {writers} writer processes, every transaction committed (synchronous_commit on)")
    for i, (phase, rate) in enumerate(zip(phases, rates, strict=True)):
        versus = f"  ({rate / rates[i - 1]:.2f} x baseline)" if phase.chained else ""
        print(
            f"{phase.label:24s} {phase.events:5d} events/writer, {phase.per_transaction:3d}/transaction: "
            f"{rate:7.0f} events/s{versus}"
        )
    expected = writers * sum(phase.events for phase in phases if phase.chained)
    verified = result.ok and result.checked == expected
    status = "OK" if verified else f"BROKEN ({result.reason})"
    print(f"chain verified: {status}, {result.checked}/{expected} events ({verify_rate:.0f} events/s)")
    figure = rates[-1]
    passed = verified and figure >= TARGET
    print(f"bench audit_write: {figure:.0f} events/s (target >= {TARGET:.0f}) {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--events", type=int, default=1000, help="events per writer, batched phases")
    parser.add_argument(
        "--single-events", type=int, default=150, help="events per writer, 1/transaction phases"
    )
    parser.add_argument("--batch", type=int, default=50, help="events per transaction in the batched phases")
    args = parser.parse_args()
    # The chain is keyed: without a configured audit key, the bench (and its writers) use a random one.
    os.environ.setdefault("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY", secrets.token_hex(32))
    return 0 if run(args.writers, args.events, args.single_events, args.batch) else 1


if __name__ == "__main__":
    sys.exit(main())
