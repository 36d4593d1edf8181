"""Audit-log write throughput on PostgreSQL: 8 writer processes, chain verified afterwards.

Creates (and drops) its own database ``aigov_bench_<random>`` on the local server and runs three
phases with the same writers, each writer committing every transaction (synchronous_commit on):

1. baseline: plain INSERTs of the same rows, one per transaction, no chain and no lock;
2. chain, single-event appends: ``append_event`` per event (lock, tail read, insert, commit);
3. chain, batched: ``append_events`` with ``--batch`` events per transaction.

The headline figure is phase 3 (how writers should append under load); phase 2 is reported too.
Usage: python bench/audit_write.py [--writers 8] [--events 1000] [--batch 20]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
import uuid
from multiprocessing.synchronize import Barrier
from typing import Any

TARGET = 2000.0
PG_HOST = os.environ.get("AIGOV_TEST_PG_HOST", "127.0.0.1")
PHASES = ("baseline", "single", "batched")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def _writer(url: str, index: int, events: int, batch: int, barrier: Barrier, results: Any) -> None:
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

    def payload(i: int) -> dict[str, Any]:
        return {"writer": index, "i": i, "note": "benchmark event"}

    for phase in PHASES:
        barrier.wait()
        start = time.perf_counter()
        if phase == "baseline":
            for i in range(events):
                with engine.begin() as conn:
                    row = {
                        "event_id": str(uuid.uuid4()),
                        "at": utcnow(),
                        "use_case_id": "bench",
                        "actor": actor,
                    }
                    row |= {"event_type": "bench", "payload": canonical_json(payload(i))}
                    conn.execute(plain.insert(), {**row, "prev_hash": GENESIS_HASH, "hash": GENESIS_HASH})
        elif phase == "single":
            for i in range(events):
                append_event(engine, event_type="bench", actor=actor, payload=payload(i), use_case_id="bench")
        else:
            for first in range(0, events, batch):
                chunk = range(first, min(first + batch, events))
                append_events(engine, [NewAuditEvent("bench", actor, payload(i), "bench") for i in chunk])
        results.put((phase, start, time.perf_counter()))


def _prepare(url: str) -> None:
    import sqlalchemy as sa

    from airflow_ai_governance.store import upgrade
    from airflow_ai_governance.store.engine import create_engine

    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:  # same columns as audit_event, no chain, no trigger
        conn.execute(
            sa.text(
                "CREATE TABLE ai_governance.bench_plain (seq BIGSERIAL PRIMARY KEY, event_id VARCHAR(36) UNIQUE,"
                " at TIMESTAMPTZ NOT NULL, use_case_id VARCHAR(128), governed_run_id VARCHAR(36),"
                " actor VARCHAR(256) NOT NULL, event_type VARCHAR(64) NOT NULL, payload TEXT NOT NULL,"
                " prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL)"
            )
        )
        conn.execute(sa.text("CREATE INDEX ON ai_governance.bench_plain (use_case_id, seq)"))
        conn.execute(sa.text("CREATE INDEX ON ai_governance.bench_plain (at)"))
    engine.dispose()


def run(writers: int, events: int, batch: int) -> bool:
    from airflow_ai_governance.store import dispose_engines, verify_chain

    name = f"aigov_bench_{uuid.uuid4().hex[:10]}"
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        _prepare(url)
        ctx = mp.get_context("spawn")
        barrier, results = ctx.Barrier(writers + 1), ctx.Queue()
        procs = [
            ctx.Process(target=_writer, args=(url, i, events, batch, barrier, results))
            for i in range(writers)
        ]
        for proc in procs:
            proc.start()
        rates: dict[str, float] = {}
        for phase in PHASES:
            barrier.wait(timeout=120)
            spans = [results.get(timeout=300)[1:] for _ in range(writers)]
            elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
            rates[phase] = writers * events / elapsed
        for proc in procs:
            proc.join(timeout=60)
        if any(proc.exitcode != 0 for proc in procs):
            print("a writer process failed", file=sys.stderr)
            return False
        started = time.perf_counter()
        result = verify_chain(url)
        verify_rate = result.checked / (time.perf_counter() - started)
        dispose_engines()
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    expected = 2 * writers * events
    base = rates["baseline"]
    print(f"PostgreSQL, {writers} writer processes x {events} events per phase, every transaction committed")
    print(f"baseline, plain INSERT per transaction (no chain, no lock): {base:8.0f} events/s")
    print(
        f"chain, single-event appends:   {rates['single']:8.0f} events/s ({rates['single'] / base:.2f} x baseline)"
    )
    print(
        f"chain, batches of {batch:3d} events:   {rates['batched']:8.0f} events/s ({rates['batched'] / base:.2f} x baseline)"
    )
    verified = result.ok and result.checked == expected
    status = "OK" if verified else f"BROKEN ({result.reason})"
    print(
        f"chain verified: {status}, {result.checked}/{expected} events, {verify_rate:.0f} events/s verified"
    )
    figure = rates["batched"]
    passed = verified and figure >= TARGET
    print(f"bench audit_write: {figure:.0f} events/s (target >= {TARGET:.0f}) {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--events", type=int, default=1000, help="events per writer and phase")
    parser.add_argument("--batch", type=int, default=20, help="events per transaction in the batched phase")
    args = parser.parse_args()
    return 0 if run(args.writers, args.events, args.batch) else 1


if __name__ == "__main__":
    sys.exit(main())
