"""Approved inputs are judged by the real path: ``..`` never helps, a symlink is judged by its
target, and the file that is read is the file that was checked (issue 8, item 2).

Each attack below passed the gate before the fix (``fnmatch`` on the path string, then
``open(path)``): ``approved/../secret/creds.jsonl`` matched ``approved/*.jsonl`` and a symlink in
``approved/`` was read through.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import sqlalchemy as sa
import yaml

from airflow_ai_governance.exceptions import DataBoundaryViolation
from airflow_ai_governance.gates import TaskRef, preflight
from airflow_ai_governance.gates.boundary import (
    enforce_boundary,
    read_input_files,
    resolve_input,
    unapproved_inputs,
)
from airflow_ai_governance.gates.preflight import GovernedRunContext
from airflow_ai_governance.policy import load_policy
from airflow_ai_governance.store import AuditEvent, CheckResult, GovernedRun, session_scope
from helpers.setup import register_and_promote

SECRET = "this is not JSON: reading it would raise JSONDecodeError, never DataBoundaryViolation"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``root/approved/ok.jsonl`` (approved), ``root/secret/creds.jsonl`` (outside)."""
    root = tmp_path / "inputs"
    (root / "approved").mkdir(parents=True)
    (root / "secret").mkdir()
    (root / "approved" / "ok.jsonl").write_text(json.dumps({"text": "quarterly figures"}) + "\n")
    (root / "approved" / "other.jsonl").write_text(json.dumps({"text": "more figures"}) + "\n")
    (root / "secret" / "creds.jsonl").write_text(SECRET)
    return root


def _policy_dir(tmp_path: Path, examples_dir: Path, pattern: str) -> Path:
    doc = yaml.safe_load((examples_dir / "meeting_summaries.yaml").read_text())
    doc["approved_inputs"] = [{"path": pattern}]
    if pattern.startswith("/") and ".." not in pattern:
        doc["approved_inputs"].append({"asset": f"file://{pattern}"})
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "meeting_summaries.yaml").write_text(yaml.safe_dump(doc))
    return folder


@pytest.fixture
def policy_dir(tmp_path: Path, examples_dir: Path, tree: Path) -> Path:
    return _policy_dir(tmp_path, examples_dir, f"{tree}/approved/*.jsonl")


@pytest.fixture
def ctx(db_url: str, policy_dir: Path) -> GovernedRunContext:
    register_and_promote(db_url, [policy_dir], actor="gina")
    return preflight("meeting-summaries", TaskRef("d", "r", "t.boundary"), gate="data_boundary", db=db_url)


def _policy(policy_dir: Path) -> Any:
    return load_policy(policy_dir / "meeting_summaries.yaml").policy


def parse_jsonl(fh: BinaryIO, path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in fh.read().decode().splitlines() if line.strip()]


def _checks(url: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(url, readonly=True) as session:
        return [
            (r.outcome, r.details) for r in session.scalars(sa.select(CheckResult).order_by(CheckResult.id))
        ]


# ----------------------------------------------------------------- declared inputs (path strings)
def test_dot_dot_never_helps(tree: Path, policy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = _policy(policy_dir)
    sneaky = f"{tree}/approved/../secret/creds.jsonl"
    assert unapproved_inputs(policy, [f"path:{tree}/approved/ok.jsonl"]) == []
    assert unapproved_inputs(policy, [f"path:{sneaky}"]) == [
        f"path:{tree}/secret/creds.jsonl (given as path:{sneaky})"
    ]
    # the same through a relative path and through an encoded file:// asset
    monkeypatch.chdir(tree / "approved")
    assert unapproved_inputs(policy, ["path:../secret/creds.jsonl"])
    assert unapproved_inputs(policy, ["path:ok.jsonl"]) == []
    assert unapproved_inputs(policy, [f"file://{tree}/approved/%2e%2e/secret/creds.jsonl"])
    assert unapproved_inputs(policy, [f"asset:file://{tree}/approved/../secret/creds.jsonl"])
    assert unapproved_inputs(policy, [f"asset:file://{tree}/approved/ok.jsonl"]) == []


def test_a_symlink_is_judged_by_its_target(tree: Path, policy_dir: Path) -> None:
    policy = _policy(policy_dir)
    (tree / "approved" / "link.jsonl").symlink_to(tree / "secret" / "creds.jsonl")
    assert unapproved_inputs(policy, [f"path:{tree}/approved/link.jsonl"]) == [
        f"path:{tree}/secret/creds.jsonl (given as path:{tree}/approved/link.jsonl)"
    ]
    # a directory symlink inside the approved tree, and one that makes a look-alike tree
    (tree / "approved" / "sub").symlink_to(tree / "secret")
    assert unapproved_inputs(policy, [f"path:{tree}/approved/sub/creds.jsonl"])
    decoy = tree.parent / "decoy" / tree.name
    decoy.mkdir(parents=True)
    (decoy / "approved").symlink_to(tree / "secret")
    assert unapproved_inputs(policy, [f"path:{decoy}/approved/creds.jsonl"])
    # and a symlink that points into the approved directory is fine: its target is approved
    (tree / "secret" / "alias.jsonl").symlink_to(tree / "approved" / "ok.jsonl")
    assert unapproved_inputs(policy, [f"path:{tree}/secret/alias.jsonl"]) == []


def test_star_stays_within_one_directory(tree: Path, policy_dir: Path) -> None:
    policy = _policy(policy_dir)
    (tree / "approved" / "deeper").mkdir()
    (tree / "approved" / "deeper" / "x.jsonl").write_text("{}\n")
    assert unapproved_inputs(policy, [f"path:{tree}/approved/deeper/x.jsonl"])


def test_resolve_input_leaves_names_alone() -> None:
    assert resolve_input("table:finance.invoices") == "table:finance.invoices"
    assert resolve_input("connection:erp") == "connection:erp"
    assert resolve_input("s3://bucket/a/../b") == "asset:s3://bucket/a/../b"


# --------------------------------------------------------------------------- files that are read
def test_files_outside_are_blocked_unread_and_recorded(tree: Path, ctx: GovernedRunContext) -> None:
    (tree / "approved" / "link.jsonl").symlink_to(tree / "secret" / "creds.jsonl")
    files = [f"{tree}/approved/ok.jsonl", f"{tree}/approved/link.jsonl"]
    with pytest.raises(DataBoundaryViolation, match="not read") as caught:
        read_input_files(ctx, files, parse_jsonl)
    assert caught.value.details["unapproved_inputs"] == [
        f"path:{tree}/secret/creds.jsonl (given as path:{tree}/approved/link.jsonl)"
    ]
    ((outcome, details),) = _checks(ctx.db or "")
    assert outcome == "fail" and details["unapproved_inputs"] == caught.value.details["unapproved_inputs"]
    with session_scope(ctx.db, readonly=True) as session:
        assert session.scalars(sa.select(GovernedRun.status)).all() == ["blocked"]
        assert SECRET not in json.dumps([e.payload for e in session.scalars(sa.select(AuditEvent))])


def test_dot_dot_file_is_blocked_unread(tree: Path, ctx: GovernedRunContext) -> None:
    with pytest.raises(DataBoundaryViolation, match=r"secret/creds.jsonl \(given as"):
        read_input_files(ctx, [f"{tree}/approved/../secret/creds.jsonl"], parse_jsonl)


def test_approved_files_are_read_by_their_real_path(
    tree: Path, ctx: GovernedRunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def parse(fh: BinaryIO, path: str) -> Any:
        seen.append(path)
        return parse_jsonl(fh, path)

    monkeypatch.chdir(tree / "secret")
    data = read_input_files(ctx, ["../approved/ok.jsonl", f"{tree}/approved/other.jsonl"], parse)
    assert data == [[{"text": "quarterly figures"}], [{"text": "more figures"}]]
    assert seen == [f"{tree}/approved/ok.jsonl", f"{tree}/approved/other.jsonl"]


def _swap_then_parse(action: Callable[[], None]) -> Callable[[BinaryIO, str], Any]:
    """A parser that, while the first file is read, swaps what the second checked path points at:
    the window between the check (done for all files first) and the second open."""

    def parse(fh: BinaryIO, path: str) -> Any:
        if path.endswith("ok.jsonl"):
            action()
        return parse_jsonl(fh, path)

    return parse


def test_file_swapped_for_a_symlink_after_the_check_is_refused(tree: Path, ctx: GovernedRunContext) -> None:
    target = tree / "approved" / "other.jsonl"

    def swap() -> None:
        target.unlink()
        target.symlink_to(tree / "secret" / "creds.jsonl")

    files = [f"{tree}/approved/ok.jsonl", str(target)]
    with pytest.raises(DataBoundaryViolation, match="replaced by a symlink after it was checked"):
        read_input_files(ctx, files, _swap_then_parse(swap))
    assert [outcome for outcome, _ in _checks(ctx.db or "")] == ["fail"]


def test_directory_swapped_for_a_symlink_after_the_check_is_refused(
    tree: Path, ctx: GovernedRunContext
) -> None:
    # Checked: approved/other.jsonl. Then the whole approved directory is swapped for a link to a
    # tree that has a file of the same name (O_NOFOLLOW alone would not see this).
    (tree / "secret" / "other.jsonl").write_text(SECRET)

    def swap() -> None:
        os.rename(tree / "approved", tree / "approved.old")
        (tree / "approved").symlink_to(tree / "secret")

    files = [f"{tree}/approved/ok.jsonl", f"{tree}/approved/other.jsonl"]
    with pytest.raises(DataBoundaryViolation, match="changed after it was checked"):
        read_input_files(ctx, files, _swap_then_parse(swap))


@pytest.mark.timeout(60)
def test_a_fifo_or_device_is_not_read(tree: Path, ctx: GovernedRunContext) -> None:
    fifo = tree / "approved" / "pipe.jsonl"
    os.mkfifo(fifo)  # opening it for reading would block forever without a writer
    with pytest.raises(DataBoundaryViolation, match="not a regular file"):
        read_input_files(ctx, [str(fifo)], parse_jsonl)


def test_declared_inputs_are_resolved_in_the_gate_too(tree: Path, ctx: GovernedRunContext) -> None:
    (tree / "approved" / "link.jsonl").symlink_to(tree / "secret" / "creds.jsonl")
    with pytest.raises(DataBoundaryViolation, match="outside the approved inputs"):
        enforce_boundary(ctx, [{"text": "hello"}], [f"path:{tree}/approved/link.jsonl"], close_run=False)


# -------------------------------------------------------------------------- patterns in policies
@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("*/example_data/invoices/*.jsonl", "starts with '*', which matches any directory"),
        ("example_data/invoices/*.jsonl", "must be absolute"),
        ("/data/approved/../secret/*.jsonl", "contains '.' or '..'"),
        ("/**", "names no directory"),
        ("**/*.jsonl", "names no directory"),
        ("/data/in**/*.jsonl", "'**' must be a whole path segment"),
    ],
)
def test_policy_refuses_patterns_that_approve_too_much(
    tmp_path: Path, examples_dir: Path, pattern: str, problem: str
) -> None:
    from airflow_ai_governance.exceptions import PolicyError

    folder = _policy_dir(tmp_path, examples_dir, pattern)
    with pytest.raises(PolicyError, match=r"meeting_summaries.yaml:\d+: approved_inputs\[0\]") as caught:
        load_policy(folder / "meeting_summaries.yaml")
    assert problem in str(caught.value)


def test_double_star_prefix_is_the_deliberate_anywhere(tmp_path: Path, examples_dir: Path) -> None:
    policy = load_policy(
        _policy_dir(tmp_path, examples_dir, "**/example_data/invoices/*.jsonl") / "meeting_summaries.yaml"
    ).policy
    assert unapproved_inputs(policy, ["path:/srv/dags/example_data/invoices/a.jsonl"]) == []
    assert unapproved_inputs(policy, ["path:/example_data/invoices/a.jsonl"]) == []
    assert unapproved_inputs(policy, ["path:/srv/example_data/invoices/deeper/a.jsonl"])
    assert unapproved_inputs(policy, ["path:/srv/example_data/invoices/../secret/a.jsonl"])
