"""Test set-up shared by the conftests: throw-away PostgreSQL databases and a prepared sidecar."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_HOST = os.environ.get("AIGOV_TEST_PG_HOST", "127.0.0.1")
GO_LIVE = ("approved", "pilot", "production")


def pg_admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def temporary_pg_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (its SQLAlchemy URL), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        pg_admin_execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # pragma: no cover - environment problem, reported clearly
        pytest.fail(f"PostgreSQL at {PG_HOST}:5432 is not usable ({exc}); run scripts/ensure-postgres.sh")
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    finally:
        pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def register_and_promote(
    url: str, policy_dirs: Sequence[Path], actor: str, to: str = "production"
) -> list[str]:
    """Migrate the sidecar, sync the policies of ``policy_dirs`` and promote each use case to ``to``."""
    from airflow_ai_governance.policy import load_policies
    from airflow_ai_governance.store import session_scope, upgrade
    from airflow_ai_governance.store.registry import sync_policies, transition

    upgrade(url)
    loaded = load_policies(policy_dirs)
    with session_scope(url) as session:
        sync_policies(session, loaded, actor=actor)
    for item in loaded:
        for state in GO_LIVE[: GO_LIVE.index(to) + 1]:
            with session_scope(url) as session:
                transition(session, item.policy.id, state, actor=actor, reason="test go-live")
    return [item.policy.id for item in loaded]
