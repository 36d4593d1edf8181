"""Latency of the governance API through Airflow's real app, at 10,000 use cases and 1,000,000 audit events.

Creates (and drops) two PostgreSQL databases on the local server: the governance sidecar, bulk-loaded
with 10,000 use cases (a policy version and four lifecycle decisions each), 100,000 governed runs on
2,000 DAGs, 200,000 gate checks, 10,000 approval requests (2,000 open), 50,000 drift measurements
and a 1,000,000-event audit chain; and Airflow's metadata database (2,000 DAGs registered). Then it
builds Airflow's API server app (``create_app()``, this plugin loaded, SimpleAuthManager) and times
requests with a real token, as an admin (governance role) and as a user who reads every DAG (the
per-use-case access path), against Airflow's own ``GET /api/v2/version`` as the baseline floor of
the stack. Reported: p50/p95 per endpoint; the target is p95 < 100 ms for each.

Usage: python bench/api.py [--use-cases 10000] [--events 1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_MS = 100.0
PG_HOST = os.environ.get("AIGOV_TEST_PG_HOST", "127.0.0.1")
REPO = Path(__file__).resolve().parent.parent
STATES = ["production"] * 6 + ["pilot", "approved", "suspended", "retired"]


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def _policy_doc(use_case: str, tier: int, owner: str) -> dict[str, Any]:
    import yaml

    from airflow_ai_governance.policy import UseCasePolicy

    doc = yaml.safe_load((REPO / "dags/governance/product_claims.yaml").read_text())
    doc.update(id=use_case, title=f"Use case {use_case}", tier=tier, owner={"id": owner})
    if tier < 3:
        doc["gates"] = {}
    return UseCasePolicy.model_validate(doc).document()


def _content_hash(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _copy(conn: Any, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    quoted = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor().copy(f"COPY ai_governance.{table} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def seed(url: str, use_cases: int, events: int) -> None:
    """Bulk-load the sidecar with COPY (the chain is hashed like ``append_events`` does)."""
    import psycopg

    from airflow_ai_governance.store import GENESIS_HASH, canonical_json, upgrade
    from airflow_ai_governance.store.audit import AuditEventRecord

    upgrade(url)
    rng = random.Random(42)
    now = datetime.now(UTC)
    ids = [f"uc-{i:05d}" for i in range(use_cases)]
    tiers = {uc: 1 + i % 3 for i, uc in enumerate(ids)}
    templates = {t: _policy_doc("template", t, "owner") for t in (1, 2, 3)}
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.monotonic()
    with psycopg.connect(dsn) as conn:
        docs = {}
        for uc in ids:
            doc = {
                **templates[tiers[uc]],
                "id": uc,
                "title": f"Use case {uc}",
                "owner": {"id": f"owner{int(uc[3:]) % 97}"},
            }
            docs[uc] = doc
        _copy(
            conn,
            "use_case",
            ["id", "title", "tier", "state", "owner", "current_version", "created_at", "updated_at"],
            (
                (
                    uc,
                    docs[uc]["title"],
                    tiers[uc],
                    STATES[i % len(STATES)],
                    docs[uc]["owner"]["id"],
                    1,
                    now,
                    now,
                )
                for i, uc in enumerate(ids)
            ),
        )
        _copy(
            conn,
            "policy_version",
            ["use_case_id", "version", "content_hash", "document", "source_path", "created_by", "created_at"],
            (
                (uc, 1, _content_hash(docs[uc]), json.dumps(docs[uc]), f"/policies/{uc}.yaml", "bench", now)
                for uc in ids
            ),
        )
        _copy(
            conn,
            "lifecycle_transition",
            ["use_case_id", "from_state", "to_state", "actor", "reason", "policy_version", "at"],
            (
                (uc, frm, to, "gina", "bench", 1, now - timedelta(days=60 - k))
                for uc in ids
                for k, (frm, to) in enumerate(
                    [
                        (None, "proposed"),
                        ("proposed", "approved"),
                        ("approved", "pilot"),
                        ("pilot", "production"),
                    ]
                )
            ),
        )
        runs = []
        for i in range(use_cases * 10):
            uc = ids[i % use_cases]
            runs.append(
                (
                    str(uuid.uuid4()),
                    uc,
                    f"dag_{i % 2000:04d}",
                    now - timedelta(minutes=rng.randrange(60 * 24 * 45)),
                )
            )
        _copy(
            conn,
            "governed_run",
            [
                "id",
                "use_case_id",
                "policy_version",
                "dag_id",
                "run_id",
                "task_id",
                "try_number",
                "map_index",
                "status",
                "started_at",
                "ended_at",
            ],
            (
                (rid, uc, 1, dag, f"run_{k}", "ai_task", 1, -1, "success", at, at + timedelta(seconds=3))
                for k, (rid, uc, dag, at) in enumerate(runs)
            ),
        )
        _copy(
            conn,
            "check_result",
            ["governed_run_id", "use_case_id", "check", "outcome", "details", "at"],
            (
                (rid, uc, check, "fail" if rng.random() < 0.05 else "pass", json.dumps({"found": {}}), at)
                for rid, uc, _, at in runs
                for check in ("data_boundary", "output_standard")
            ),
        )
        output = [
            {
                "claim_id": f"CLM-{k:03d}",
                "claim": "Model B answers in 12 ms on average.",
                "benchmark_id": "BM-1",
            }
            for k in range(20)
        ]
        _copy(
            conn,
            "approval_request",
            [
                "id",
                "use_case_id",
                "governed_run_id",
                "policy_version",
                "dag_id",
                "run_id",
                "task_id",
                "map_index",
                "try_number",
                "output_hash",
                "output",
                "status",
                "level",
                "approvals_needed",
                "approvers",
                "opened_at",
                "updated_at",
                "deadline",
                "closed_at",
            ],
            (
                (
                    str(uuid.uuid4()),
                    uc,
                    rid,
                    1,
                    dag,
                    f"run_{k}",
                    "approve",
                    -1,
                    1,
                    "0" * 64,
                    json.dumps(output),
                    "open" if k % 5 == 0 else "approved",
                    0,
                    2,
                    json.dumps([] if k % 5 == 0 else ["lena", "eric"]),
                    at,
                    at,
                    at + timedelta(days=2),
                    None if k % 5 == 0 else at + timedelta(hours=3),
                )
                for k, (rid, uc, dag, at) in enumerate(runs[:use_cases])
            ),
        )
        _copy(
            conn,
            "drift_measurement",
            ["use_case_id", "feature", "statistic", "value", "threshold", "drifted", "at"],
            (
                (ids[k % use_cases], f"f{k % 5}", "psi", v, 0.2, v > 0.2, now - timedelta(hours=k % 500))
                for k in range(50_000)
                for v in [rng.random() * 0.3]
            ),
        )
        conn.commit()
        print(f"  sidecar rows loaded in {time.monotonic() - started:.1f} s", flush=True)

        started = time.monotonic()
        types = ["run_started", "run_finished", "check_recorded", "approval_recorded", "lifecycle_transition"]

        def chain() -> Iterator[tuple[Any, ...]]:
            prev = GENESIS_HASH
            t0 = now - timedelta(days=45)
            for seq in range(1, events + 1):
                uc = ids[seq % use_cases]
                payload = canonical_json({"i": seq, "dag_id": f"dag_{seq % 2000:04d}"})
                record = AuditEventRecord(
                    seq,
                    str(uuid.uuid4()),
                    t0 + timedelta(seconds=seq * 3),
                    uc,
                    None,
                    "airflow" if seq % 7 else "gina",
                    types[seq % len(types)],
                    payload,
                    prev,
                    "",
                )
                digest = record.expected_hash()
                yield (
                    seq,
                    record.event_id,
                    record.at,
                    uc,
                    None,
                    record.actor,
                    record.event_type,
                    payload,
                    prev,
                    digest,
                )
                prev = digest

        _copy(
            conn,
            "audit_event",
            [
                "seq",
                "event_id",
                "at",
                "use_case_id",
                "governed_run_id",
                "actor",
                "event_type",
                "payload",
                "prev_hash",
                "hash",
            ],
            chain(),
        )
        conn.commit()
        print(
            f"  {events:,} audit events chained and loaded in {time.monotonic() - started:.1f} s", flush=True
        )
        conn.execute("ANALYZE")
        conn.commit()


def _airflow_env(home: Path, metadata_url: str, sidecar_url: str) -> None:
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": "admin", "reader": "reader"}))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",  # not a line per request
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url.replace(
                "postgresql+psycopg://", "postgresql+psycopg_async://"
            ),
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,reader:user",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex * 2,
            "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN": sidecar_url,
        }
    )


def _register_dags(n: int) -> None:
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(DagBundleModel(name="bench"))
        session.flush()
        session.add_all(
            DagModel(dag_id=f"dag_{i:04d}", bundle_name="bench", fileloc=f"/dags/dag_{i:04d}.py")
            for i in range(n)
        )


def _time(fn: Callable[[], Any], n: int) -> list[float]:
    for _ in range(5):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-cases", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still drop the databases (finally)
    sys.path.insert(0, str(REPO / "src"))
    from airflow_ai_governance.testing import create_postgres_database, drop_postgres_database

    tag = uuid.uuid4().hex[:8]
    sidecar_db, airflow_db = f"aigov_bench_api_{tag}", f"aigov_bench_api_af_{tag}"
    _admin(f'CREATE DATABASE "{sidecar_db}"')
    sidecar_url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{sidecar_db}"
    home = Path(tempfile.mkdtemp(prefix="aigov-bench-api-"))
    try:
        print(f"Seeding {args.use_cases:,} use cases and {args.events:,} audit events ...", flush=True)
        seed(sidecar_url, args.use_cases, args.events)
        metadata_url = create_postgres_database(airflow_db, host=PG_HOST)
        _airflow_env(home, metadata_url, sidecar_url)
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        _register_dags(2000)
        client = TestClient(create_app())
        rng = random.Random(7)

        def headers(user: str) -> dict[str, str]:
            token = client.post("/auth/token", json={"username": user, "password": user}).json()[
                "access_token"
            ]
            return {"Authorization": f"Bearer {token}"}

        def get(path: str, who: dict[str, str]) -> Callable[[], Any]:
            def call() -> None:
                target = path.format(
                    uc=f"uc-{rng.randrange(args.use_cases):05d}", seq=rng.randrange(args.events)
                )
                response = client.get(target, headers=who)
                assert response.status_code == 200, (target, response.status_code, response.text[:300])

            return call

        admin, reader = headers("admin"), headers("reader")
        api = "/ai-governance/api/v1"
        cases = [
            ("baseline: Airflow GET /api/v2/version", "/api/v2/version", admin, False),
            ("registry list (50)", f"{api}/use-cases?limit=50", admin, True),
            ("registry search + cursor", f"{api}/use-cases?limit=50&q=uc-0&after={{uc}}", admin, True),
            ("use-case detail", f"{api}/use-cases/{{uc}}", admin, True),
            ("approvals inbox (50)", f"{api}/approvals?status=open&limit=50", admin, True),
            ("audit filter: use case", f"{api}/audit?use_case={{uc}}&limit=100", admin, True),
            (
                "audit filter: event type + cursor",
                f"{api}/audit?event_type=lifecycle_transition&after_seq={{seq}}&limit=100",
                admin,
                True,
            ),
            (
                "audit filter: since/until",
                f"{api}/audit?since=2026-01-01T00:00:00Z&after_seq={{seq}}&limit=100",
                admin,
                True,
            ),
            ("reader: registry list (access per use case)", f"{api}/use-cases?limit=50", reader, True),
            ("reader: use-case detail", f"{api}/use-cases/{{uc}}", reader, True),
            ("reader: approvals inbox", f"{api}/approvals?status=open&limit=50", reader, True),
            ("reader: audit filter: use case", f"{api}/audit?use_case={{uc}}&limit=100", reader, True),
        ]
        worst = 0.0
        print(f"\n{'endpoint':<48}{'p50 ms':>9}{'p95 ms':>9}")
        for label, path, who, targeted in cases:
            times = _time(get(path, who), args.requests)
            p50, p95 = statistics.median(times), _p(times, 95)
            print(f"{label:<48}{p50:>9.1f}{p95:>9.1f}", flush=True)
            if targeted:
                worst = max(worst, p95)
        verdict = "PASS" if worst < TARGET_MS else "FAIL"
        print(f"bench api: {worst:.1f} ms p95 worst endpoint (target < {TARGET_MS:.0f}) {verdict}")
        return 0 if verdict == "PASS" else 1
    finally:
        from airflow_ai_governance.store import dispose_engines

        dispose_engines()
        _admin(f'DROP DATABASE IF EXISTS "{sidecar_db}" WITH (FORCE)')
        drop_postgres_database(airflow_db, host=PG_HOST)


if __name__ == "__main__":
    sys.exit(main())
