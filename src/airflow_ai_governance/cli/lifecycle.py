"""``aigov score|checklist|promote|retire``: selection, go-live and lifecycle decisions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_ai_governance.cli._common import add_json_flag, emit_json, mark, non_blank
from airflow_ai_governance.cli._identity import cli_actor
from airflow_ai_governance.policy import LifecycleState, UseCasePolicy, build_checklist, load_policy, score


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    sc = subparsers.add_parser("score", help="selection score: recurrence x measurability x decision impact")
    sc.add_argument("target", metavar="PATH|ID", help="a policy file or a registered use case id")
    add_json_flag(sc)
    sc.set_defaults(func=_score)

    cl = subparsers.add_parser("checklist", help="the go-live checklist of a registered use case")
    cl.add_argument("use_case_id", metavar="ID")
    cl.add_argument("--to", dest="target", default=None, choices=[s.value for s in LifecycleState])
    add_json_flag(cl)
    cl.set_defaults(func=_checklist)

    pr = subparsers.add_parser("promote", help="move a use case to another lifecycle state")
    pr.add_argument("use_case_id", metavar="ID")
    pr.add_argument("--to", dest="target", required=True, choices=[s.value for s in LifecycleState])
    pr.add_argument("--by", required=True, type=non_blank, help="the person deciding (recorded)")
    pr.add_argument("--reason", required=True, type=non_blank, help="why (recorded)")
    pr.set_defaults(func=_promote)

    rt = subparsers.add_parser("retire", help="retire a use case (final)")
    rt.add_argument("use_case_id", metavar="ID")
    rt.add_argument("--by", required=True, type=non_blank, help="the person deciding (recorded)")
    rt.add_argument("--reason", required=True, type=non_blank, help="why (recorded)")
    rt.set_defaults(func=_retire, target=LifecycleState.RETIRED.value)


def _resolve(target: str, db_url: str | None) -> tuple[UseCasePolicy, str | None]:
    """A policy from a file path, or the current version of a registered use case (and its state)."""
    if Path(target).suffix in (".yaml", ".yml") or Path(target).is_file():
        return load_policy(target).policy, None
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import current_policy

    with session_scope(db_url, readonly=True) as session:
        row, policy = current_policy(session, target)
        return policy, row.state


def _score(args: argparse.Namespace) -> int:
    policy, _ = _resolve(args.target, args.db_url)
    result = score(policy.selection)
    sel = policy.selection
    if args.json:
        emit_json(
            {
                "use_case": policy.id,
                "recurrence": sel.recurrence,
                "measurability": sel.measurability,
                "decision_impact": sel.decision_impact,
                "score": result.value,
                "recommendation": str(result.recommendation),
                "reasons": list(result.reasons),
            }
        )
    else:
        print(
            f"{policy.id}: score {result.value}/100 -> {result.recommendation} "
            f"(recurrence {sel.recurrence}, measurability {sel.measurability}, decision impact {sel.decision_impact})"
        )
        for reason in result.reasons:
            print(f"  - {reason}")
    return 0


def _checklist(args: argparse.Namespace) -> int:
    policy, state = _resolve(args.use_case_id, args.db_url)
    if state == LifecycleState.RETIRED and args.target is None:
        print(f"{policy.id} is retired; retirement is final, there is no next state to check.")
        return 1
    target = LifecycleState(args.target) if args.target else _next_target(policy, state)
    checklist = build_checklist(policy, target)
    if args.json:
        emit_json({**checklist.as_dict(), "state": state})
    else:
        print(f"Go-live checklist for {policy.id} (state {state or 'unregistered'}) -> {checklist.target}")
        for item in checklist.items:
            flag = mark(item.passed) if item.required or item.passed else "WARN"
            print(f"  [{flag}] {item.title}: {item.detail}")
        print(f"{'READY' if checklist.passed else 'NOT READY'} for {checklist.target}")
    return 0 if checklist.passed else 1


def _next_target(policy: UseCasePolicy, state: str | None) -> LifecycleState:
    """What to check without ``--to``: a file against its declared state; a registered use case
    against its next step (proposed -> approved -> pilot -> production; production and suspended
    against production)."""
    from airflow_ai_governance.policy.lifecycle import next_target

    return policy.state if state is None else next_target(state)


def _promote(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import transition

    actor = cli_actor(args.by)
    with session_scope(args.db_url) as session:
        record = transition(session, args.use_case_id, args.target, actor=actor, reason=args.reason)
    # Printed once committed: a failed commit must not leave a success message behind.
    print(
        f"{args.use_case_id}: {record.from_state} -> {record.to_state} by {actor.describe()} "
        f"(policy version {record.policy_version}) at {record.at:%Y-%m-%d %H:%M:%S %Z}"
    )
    return 0


_retire = _promote
