"""The approval gate's rules as plain functions, on a real sidecar (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_ai_governance.gates import TaskRef, output_hash, preflight
from airflow_ai_governance.gates.approval import (
    allowed_responders,
    approvers_for,
    assigned_users,
    escalate,
    judge_response,
    record_timeout,
)
from airflow_ai_governance.store import list_approvals, session_scope
from airflow_ai_governance.store.registry import sync_policies, transition

OUTPUT = [
    {
        "claim_id": "CLM-101",
        "claim": "Throughput improves by 35% on our ingestion benchmark.",
        "benchmark_id": "BM-101",
    }
]


@pytest.fixture
def registered(db_url: str, examples_dir: Path) -> str:
    from airflow_ai_governance.policy import load_policies

    with session_scope(db_url) as session:
        sync_policies(session, load_policies([examples_dir]), actor="sam")
    for use_case in ("product-claims", "invoice-triage"):
        for state in ("approved", "pilot", "production"):
            with session_scope(db_url) as session:
                transition(session, use_case, state, actor="gina", reason="test")
    return db_url


def _ctx(url: str, use_case: str = "product-claims", run_id: str = "r1"):  # type: ignore[no-untyped-def]
    return preflight(use_case, TaskRef("claims", run_id, "approval"), gate="human_approval", db=url)


def _answer(ctx, user, chosen=("Approve",), params=None, output=OUTPUT, level=0):  # type: ignore[no-untyped-def]
    return judge_response(
        ctx,
        responder=user,
        chosen=list(chosen),
        params_input=params or {},
        output=output,
        digest=output_hash(output),
        level=level,
    )


def test_assignees_and_responders_never_include_the_owner(registered: str) -> None:
    ctx = _ctx(registered)
    assert [u["id"] for u in assigned_users(ctx.policy)] == ["lena", "eric", "rachel", "gina"]
    assert allowed_responders(ctx.policy, 0) == {"lena", "eric", "rachel"}
    assert allowed_responders(ctx.policy, 2) == {"lena", "eric", "rachel", "gina"}


def test_tier3_quorum_counts_distinct_reviewers_on_the_same_output(registered: str) -> None:
    ctx = _ctx(registered)
    assert _answer(ctx, "paula").kind == "refused"  # the owner
    assert _answer(ctx, "mallory").kind == "refused"  # not a reviewer
    assert _answer(ctx, "gina").kind == "refused"  # an escalation contact, not escalated to yet
    assert _answer(ctx, None).kind == "refused"  # a timeout default never approves
    first = _answer(ctx, "lena")
    assert (first.kind, first.approvers) == ("pending", ("lena",))
    assert _answer(ctx, "lena").kind == "pending"  # the same reviewer twice still counts once
    changed = [dict(OUTPUT[0], claim="Throughput improves by 36% on our ingestion benchmark.")]
    assert _answer(ctx, "eric", output=changed).kind == "pending"  # another output: a new count
    done = _answer(ctx, "eric")
    assert (done.kind, done.approvers) == ("approved", ("eric", "lena"))
    assert approvers_for(ctx, output_hash(OUTPUT)) == ("eric", "lena")
    assert len(list_approvals(registered, "claims", "r1", "approval")) == 3


def test_reject_is_recorded_with_its_comment(registered: str) -> None:
    ctx = _ctx(registered)
    verdict = _answer(ctx, "eric", ("Reject",), {"comment": "not comparable"})
    assert verdict.kind == "rejected"
    (decision,) = list_approvals(registered, "claims", "r1", "approval")
    assert (decision.reviewer, decision.choice, decision.comment) == ("eric", "reject", "not comparable")


def test_edits_are_kept_as_a_diff_and_rebind_the_approval(registered: str) -> None:
    ctx = _ctx(registered, "invoice-triage")  # allows edits, 1 reviewer
    output = [{"invoice_id": "INV-000001", "queue": "auto_pay", "confidence": 0.9}]
    edited = [dict(output[0], queue="dispute")]
    verdict = _answer(ctx, "rachel", params={"output": json.dumps(edited)}, output=output)
    assert verdict.kind == "approved"
    assert verdict.output == edited
    assert verdict.output_hash == output_hash(edited)
    (decision,) = list_approvals(registered, "claims", "r1", "approval")
    assert decision.output_hash == output_hash(edited)
    assert decision.edits is not None
    assert decision.edits["original_hash"] == output_hash(output)
    assert '+    "queue": "dispute"' in decision.edits["diff"]


def test_edits_are_refused_when_the_policy_does_not_allow_them(registered: str, examples_dir: Path) -> None:
    import yaml

    from airflow_ai_governance.policy import LoadedPolicy, parse_policy

    doc = yaml.safe_load((examples_dir / "product_claims.yaml").read_text())
    doc["review"]["allow_output_edits"] = False
    with session_scope(registered) as session:
        sync_policies(session, [LoadedPolicy(parse_policy(yaml.safe_dump(doc)), Path("x.yaml"))], actor="sam")
    ctx = _ctx(registered)
    verdict = _answer(ctx, "lena", params={"output": json.dumps([{"claim_id": "CLM-999"}])})
    assert verdict.kind == "refused"
    assert "does not allow reviewers to edit" in verdict.message
    assert list_approvals(registered, "claims", "r1", "approval") == []


def test_escalation_walks_the_path_then_times_out(registered: str) -> None:
    ctx = _ctx(registered)
    first = escalate(ctx, 1, "no decision in time")
    second = escalate(ctx, 2, "no decision in time")
    assert (first.id if first else None, second.id if second else None) == ("lena", "gina")
    assert escalate(ctx, 3, "no decision in time") is None
    assert _answer(ctx, "gina", level=2).kind == "pending"  # escalated to: now she counts
    record_timeout(ctx, output_hash(OUTPUT), "nobody answered")
    choices = sorted((d.reviewer, d.choice) for d in list_approvals(registered, "claims", "r1", "approval"))
    assert choices == [("(timeout)", "timeout"), ("gina", "approve")]
