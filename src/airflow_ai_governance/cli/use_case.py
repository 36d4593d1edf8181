"""``aigov use-case list|show``."""

from __future__ import annotations

import argparse
from typing import Any

from airflow_ai_governance.cli._common import add_json_flag, emit_json
from airflow_ai_governance.policy import LifecycleState


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("use-case", help="inspect the use-case registry")
    sub = parser.add_subparsers(dest="use_case_command", metavar="ACTION", required=True)
    list_ = sub.add_parser("list", help="list registered use cases")
    list_.add_argument(
        "--state",
        default=None,
        choices=[s.value for s in LifecycleState],
        help="only use cases in this lifecycle state",
    )
    add_json_flag(list_)
    list_.set_defaults(func=_list)
    show = sub.add_parser("show", help="one use case: policy, state, versions and transitions")
    show.add_argument("use_case_id", metavar="ID")
    add_json_flag(show)
    show.set_defaults(func=_show)


def _list(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import list_use_cases

    with session_scope(args.db_url, readonly=True) as session:
        rows = [
            {
                "id": r.id,
                "title": r.title,
                "tier": r.tier,
                "state": r.state,
                "owner": r.owner,
                "version": r.current_version,
            }
            for r in list_use_cases(session, args.state)
        ]
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("no use cases registered (run `aigov policy sync DIR`)")
    for r in rows:
        print(
            f"{r['id']:<28} tier {r['tier']}  {r['state']:<10}  v{r['version']:<3} "
            f"owner {r['owner'] or '-':<12} {r['title']}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from airflow_ai_governance.policy import score
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import current_policy, list_changes, transitions

    with session_scope(args.db_url, readonly=True) as session:
        row, policy = current_policy(session, args.use_case_id)
        records = transitions(session, args.use_case_id)
        history = [
            {
                "from": t.from_state,
                "to": t.to_state,
                "by": t.actor,
                "at": t.at.isoformat(),  # ISO 8601 with offset in --json
                "reason": t.reason,
                "version": t.policy_version,
                "identity": t.identity,
            }
            for t in records
        ]
        pending: list[dict[str, Any]] = [
            {"version": c.version, "requested_by": c.requested_by, "loosenings": c.loosenings}
            for c in list_changes(session, args.use_case_id)
        ]
        data = {
            "id": row.id,
            "state": row.state,
            "version": row.current_version,
            "score": score(policy.selection).value,
            "gates": policy.effective_gates.model_dump(),
            "transitions": history,
            "pending_changes": pending,
            "policy": policy.document(),
        }
    if args.json:
        emit_json(data)
        return 0
    print(f"{row.id}: {policy.title}")
    print(
        f"  state {data['state']}, tier {int(policy.tier)}, policy version {data['version']}, score {data['score']}"
    )
    print(
        f"  owner {policy.owner.id if policy.owner else '-'}; reviewers {', '.join(policy.reviewer_ids()) or '-'}"
    )
    gates = policy.effective_gates
    print(
        f"  gates: approval={f'{gates.min_reviewers} reviewer(s)' if gates.human_approval else 'no'}, "
        f"review every {gates.review_cadence_days} days"
    )
    for change in pending:
        print(
            f"  pending change to version {change['version']} by {change['requested_by']} (waits for a "
            f"second person): {'; '.join(e['message'] for e in change['loosenings'])}"
        )
    print("  transitions:")
    for t in records:
        print(
            f"    {t.at:%Y-%m-%d %H:%M} {t.from_state or '-'} -> {t.to_state} by {t.actor} "
            f"(v{t.policy_version}): {t.reason}"
        )
    return 0
