"""``aigov policy validate|sync|changes|approve-change|reject-change``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from airflow_ai_governance.cli import EXIT_USAGE
from airflow_ai_governance.cli._common import add_json_flag, emit_json, mark, non_blank
from airflow_ai_governance.cli._identity import (
    REQUIRE_VERIFIED_ENV,
    TOKEN_ENV,
    URL_ENV,
    cli_actor,
    require_verified_approver,
)
from airflow_ai_governance.exceptions import PolicyError
from airflow_ai_governance.policy import build_checklist, load_policies
from airflow_ai_governance.policy.lifecycle import readiness_target
from airflow_ai_governance.policy.loader import collect_policies


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("policy", help="validate and register policy files, decide policy changes")
    sub = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)

    validate = sub.add_parser(
        "validate",
        help="check policy files; exit 2 if invalid, 1 if not ready for their declared state",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="policy files or directories")
    add_json_flag(validate)
    validate.set_defaults(func=_validate)

    sync = sub.add_parser(
        "sync",
        help="register policies in the sidecar (all files or none); a change that loosens control of "
        "a live use case waits for approve-change",
    )
    sync.add_argument("paths", nargs="+", metavar="PATH", help="policy files or directories")
    sync.add_argument(
        "--by", default=None, help="who syncs (default: the verified Airflow user, else the OS user)"
    )
    sync.set_defaults(func=_sync)

    changes = sub.add_parser(
        "changes", help="policy changes waiting for a second person (--all: decided too)"
    )
    changes.add_argument("use_case_id", nargs="?", metavar="ID", help="only this use case")
    changes.add_argument(
        "--all", action="store_true", help="include approved, rejected and superseded changes"
    )
    add_json_flag(changes)
    changes.set_defaults(func=_changes)

    for name, verb, func in (
        ("approve-change", "approve (a second person: not the owner, not the author)", _approve),
        ("reject-change", "reject (the version in force stays)", _reject),
    ):
        decide = sub.add_parser(name, help=f"{verb} a pending policy change")
        decide.add_argument("use_case_id", metavar="ID")
        decide.add_argument(
            "--version", type=int, required=True, help="the pending version (see `policy changes`)"
        )
        decide.add_argument("--by", required=True, type=non_blank, help="the person deciding (recorded)")
        decide.add_argument("--reason", required=True, type=non_blank, help="why (recorded)")
        decide.set_defaults(func=func)


def _validate(args: argparse.Namespace) -> int:
    # Every file is reported: those that do not load (exit 2) and the readiness of those that do.
    loaded, problems, files = collect_policies(args.paths)
    # A suspended use case may resume, so it is held to production's checklist (as sync does).
    results = [(lp, build_checklist(lp.policy, readiness_target(lp.policy.state))) for lp in loaded]
    if args.json:
        emit_json(
            [{"source": str(lp.source), **cl.as_dict()} for lp, cl in results]
            + [{"source": loc, "error": msg} for loc, msg in problems]
        )
    else:
        for lp, checklist in results:
            declared = "" if lp.policy.state == checklist.target else f" (declared {lp.policy.state})"
            failures = checklist.failures
            verdict = (
                f"ready for {checklist.target}"
                if checklist.passed
                else f"not ready for {checklist.target}: {len(failures)} item(s) missing"
            )
            print(f"{mark(checklist.passed)}  {lp.policy.id} ({lp.source}): {verdict}{declared}")
            for item in failures:
                print(f"      {item.key}: {item.detail}")
        if problems:
            print(f"aigov: error: {len(problems)} problem(s) in {files} policy file(s)", file=sys.stderr)
            for loc, msg in problems:
                print(f"  {loc}: {msg}" if loc else f"  {msg}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    return 0 if all(cl.passed for _, cl in results) else 1


def _sync(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import sync_policies

    loaded = load_policies(args.paths)
    actor = cli_actor(args.by)
    with session_scope(args.db_url) as session:
        report = sync_policies(session, loaded, actor=actor)
    for use_case in report.created:
        print(f"registered  {use_case} (version 1, state proposed)")
    for use_case, version in report.versioned:
        print(f"versioned   {use_case} -> version {version}")
    for use_case, version in report.superseded:
        print(f"superseded  {use_case}: the pending change to version {version} is withdrawn")
    for use_case, version, base, loosened in report.pending:
        print(
            f"pending     {use_case} -> version {version} loosens control; version {base} stays in force "
            "until someone other than the owner and the author approves it:"
        )
        for entry in loosened:
            print(f"              - {entry.message}")
        print(
            f"            aigov policy approve-change {use_case} --version {version} --by USER --reason TEXT"
        )
    for use_case in report.unchanged:
        print(f"unchanged   {use_case}")
    return 0


def _changes(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import list_changes

    with session_scope(args.db_url, readonly=True) as session:
        rows: list[dict[str, Any]] = [
            {
                "use_case": c.use_case_id,
                "version": c.version,
                "base_version": c.base_version,
                "status": c.status,
                "loosenings": c.loosenings,
                "requested_by": c.requested_by,
                "requested_identity": c.requested_identity,
                "requested_at": c.requested_at.isoformat(),
                "decided_by": c.decided_by,
                "decided_identity": c.decided_identity,
                "decided_at": c.decided_at.isoformat() if c.decided_at else None,
                "reason": c.reason,
            }
            for c in list_changes(session, args.use_case_id, pending_only=not args.all)
        ]
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("no pending policy changes" if not args.all else "no policy changes")
    for r in rows:
        ident = r["requested_identity"] or {}
        print(
            f"{r['use_case']} version {r['version']} (in force: {r['base_version']}) {r['status']}, "
            f"by {r['requested_by']} (OS {ident.get('os_user')}@{ident.get('host')}"
            f"{', Airflow ' + ident['airflow_user'] if ident.get('airflow_user') else ''}) at {r['requested_at']}"
        )
        for entry in r["loosenings"]:
            print(f"    - {entry['message']}")
        if r["decided_by"]:
            print(f"    {r['status']} by {r['decided_by']} at {r['decided_at']}: {r['reason']}")
    return 0


def _approve(args: argparse.Namespace) -> int:
    from airflow_ai_governance.exceptions import ChangeApprovalRefused
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import approve_change, record_refused_approval

    actor = cli_actor(args.by)
    if actor.airflow_user is None and require_verified_approver():
        raise PolicyError(
            f"this deployment requires approvers of policy changes to prove their Airflow identity "
            f"({REQUIRE_VERIFIED_ENV}): set {TOKEN_ENV} and {URL_ENV} (see docs/cli.md)"
        )
    try:
        with session_scope(args.db_url) as session:
            change = approve_change(session, args.use_case_id, args.version, actor, args.reason)
            version = change.version
    except ChangeApprovalRefused as refused:
        record_refused_approval(args.db_url, refused)
        raise
    print(f"approved    {args.use_case_id} -> version {version} is in force (approved by {actor.describe()})")
    return 0


def _reject(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import reject_change

    actor = cli_actor(args.by)
    with session_scope(args.db_url) as session:
        change = reject_change(session, args.use_case_id, args.version, actor, args.reason)
        base = change.base_version
    print(f"rejected    {args.use_case_id} version {args.version}; version {base} stays in force")
    return 0
