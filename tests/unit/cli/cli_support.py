"""Helpers of the CLI tests: policy variants on disk, and snapshots of the whole sidecar."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Result:
    """What one ``aigov`` invocation returned and printed."""

    code: int
    out: str
    err: str


Aigov = Callable[..., Result]


def example_doc(examples_dir: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((examples_dir / name).read_text(encoding="utf-8"))
    return loaded


def write_policy(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based number of the first line of ``path`` that contains ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def show(aigov: Aigov, use_case: str) -> dict[str, Any]:
    """``aigov use-case show ID --json``."""
    result = aigov("use-case", "show", use_case, "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def events(aigov: Aigov) -> list[dict[str, Any]]:
    """The whole audit log through ``aigov audit export``, payloads parsed."""
    exported = [json.loads(line) for line in aigov("audit", "export").out.splitlines()]
    for event in exported:
        if isinstance(event["payload"], str):
            event["payload"] = json.loads(event["payload"])
    return exported


def snapshot(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every sidecar table, in primary-key order: equal snapshots = nothing changed."""
    import sqlalchemy as sa

    from airflow_ai_governance.store import metadata, session_scope

    with session_scope(db_url, readonly=True) as session:
        return {
            table.name: [
                tuple(row) for row in session.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def counts(db_url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(db_url).items()}
