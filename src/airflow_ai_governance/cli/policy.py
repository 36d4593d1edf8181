"""``aigov policy validate|sync``."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from airflow_ai_governance.cli._common import add_json_flag, emit_json, mark
from airflow_ai_governance.policy import build_checklist, load_policies
from airflow_ai_governance.policy.lifecycle import readiness_target


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("policy", help="validate and register policy files")
    sub = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)

    validate = sub.add_parser(
        "validate",
        help="check policy files; exit 2 if invalid, 1 if not ready for their declared state",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="policy files or directories")
    add_json_flag(validate)
    validate.set_defaults(func=_validate)

    sync = sub.add_parser("sync", help="register policies in the sidecar (all files or none)")
    sync.add_argument("paths", nargs="+", metavar="PATH", help="policy files or directories")
    sync.add_argument("--by", default=None, help="who syncs (default: the OS user)")
    sync.set_defaults(func=_sync)


def _validate(args: argparse.Namespace) -> int:
    loaded = load_policies(args.paths)
    # A suspended use case may resume, so it is held to production's checklist (as sync does).
    results = [(lp, build_checklist(lp.policy, readiness_target(lp.policy.state))) for lp in loaded]
    if args.json:
        emit_json([{"source": str(lp.source), **cl.as_dict()} for lp, cl in results])
    else:
        for lp, checklist in results:
            declared = "" if lp.policy.state == checklist.target else f" (declared {lp.policy.state})"
            print(
                f"{mark(checklist.passed)}  {lp.policy.id} ({lp.source}): ready for {checklist.target}{declared}"
            )
            for item in checklist.failures:
                print(f"      {item.key}: {item.detail}")
    return 0 if all(cl.passed for _, cl in results) else 1


def _sync(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import sync_policies

    loaded = load_policies(args.paths)
    with session_scope(args.db_url) as session:
        report = sync_policies(session, loaded, actor=args.by or getpass.getuser())
    for use_case in report.created:
        print(f"registered  {use_case} (version 1, state proposed)")
    for use_case, version in report.versioned:
        print(f"versioned   {use_case} -> version {version}")
    for use_case in report.unchanged:
        print(f"unchanged   {use_case}")
    return 0
