"""The approval gate's rules as plain functions, on a real sidecar (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airflow_ai_governance.gates import TaskRef, output_hash, preflight
from airflow_ai_governance.gates.approval import (
    Decision,
    allowed_responders,
    approvers_for,
    assigned_users,
    escalate,
    judge_response,
    record_timeout,
    report_uncounted,
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


_CLOCK = iter(range(10_000))


def _answer(ctx, user, chosen=("Approve",), params=None, output=OUTPUT, level=0, decisions=(), at=None):  # type: ignore[no-untyped-def]
    """One answer as Airflow delivers it (a distinct responded_at per answer unless ``at``)."""
    return judge_response(
        ctx,
        responder=user,
        chosen=list(chosen),
        params_input=params or {},
        output=output,
        digest=output_hash(output),
        level=level,
        decisions=decisions,
        responded_at=at or datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=next(_CLOCK)),
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
    again = _answer(ctx, "Lena", decisions=first.decisions)  # the same reviewer twice still counts once
    assert (again.kind, again.approvers) == ("pending", ("lena",))
    changed = [dict(OUTPUT[0], claim="Throughput improves by 36% on our ingestion benchmark.")]
    other = _answer(ctx, "eric", output=changed, decisions=again.decisions)  # another output: a new count
    assert (other.kind, other.approvers) == ("pending", ("eric",))
    done = _answer(ctx, "eric", decisions=other.decisions)
    assert (done.kind, done.approvers) == ("approved", ("eric", "lena"))
    assert approvers_for(done.decisions, output_hash(OUTPUT)) == ("eric", "lena")
    assert len(list_approvals(registered, "claims", "r1", "approval")) == 4  # every answer recorded


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


# ------------------------------------------------------------------ forged and replayed answers
def _forge(url: str, reviewer: str, output: object = OUTPUT, **where: object) -> None:
    """What an upstream task (or anyone with the sidecar's URL) can write: a decision row."""
    from airflow_ai_governance.store import record_approval

    ti = {"dag_id": "claims", "run_id": "r1", "task_id": "approval", "map_index": -1} | where
    record_approval(
        url,
        use_case_id="product-claims",
        **ti,  # type: ignore[arg-type]
        reviewer=reviewer,
        choice="approve",
        output_hash=output_hash(output),
    )


def _ignored(url: str) -> list[dict[str, object]]:
    from airflow_ai_governance.store import export_events

    return [e["payload"] for e in export_events(url) if e["event_type"] == "approval_ignored"]


def test_forged_decision_rows_never_count_toward_the_quorum(registered: str) -> None:
    """Issue 8.1: rows written by another task, by SQL, for another map index or try do not count;
    the quorum is counted on the answers Airflow delivered only (fails before the fix)."""
    ctx = _ctx(registered)
    _forge(registered, "eric")  # record_approval(...) from an upstream task
    _forge(registered, "rachel", map_index=0)  # another map index of the same task
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.models import ApprovalDecision

    with session_scope(registered) as session:  # direct SQL-level insert, claiming this try
        session.add(
            ApprovalDecision(
                use_case_id="product-claims", dag_id="claims", run_id="r1", task_id="approval", map_index=-1,
                reviewer="rachel", choice="approve", output_hash=output_hash(OUTPUT), try_number=1,
                responded_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
            )
        )  # fmt: skip
    verdict = _answer(ctx, "lena")  # one real answer: with the forged rows it would be 3 of 2
    assert (verdict.kind, verdict.approvers) == ("pending", ("lena",))
    reported = report_uncounted(ctx, verdict.decisions)
    assert len(reported) == 2  # the two rows of this task instance (map index -1); lena's own row is hers
    assert {e["reviewer"] for e in _ignored(registered)} == {"eric", "rachel"}
    assert report_uncounted(ctx, verdict.decisions, reported) == []  # reported once


def test_a_replayed_answer_is_refused_and_counted_once(registered: str) -> None:
    ctx = _ctx(registered)
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    first = _answer(ctx, "lena", at=at)
    replay = _answer(ctx, "lena", at=at, decisions=first.decisions)
    assert replay.kind == "refused"
    assert "replayed" in replay.message
    assert replay.decisions == first.decisions


def test_decisions_carried_in_kwargs_are_checked() -> None:
    kept = Decision("lena", "approve", "h", "2026-12-01T09:00:00+00:00")
    assert Decision.from_kwargs(kept.to_kwargs()) == kept
    with pytest.raises(ValueError, match="not a decision"):
        Decision.from_kwargs({**kept.to_kwargs(), "choice": "timeout"})


# --------------------------------------------------------------------------- reviewers' edits
INVOICE = [{"invoice_id": "INV-000001", "queue": "auto_pay", "confidence": 0.9}]


def _refusals(url: str) -> list[str]:
    from airflow_ai_governance.store import export_events

    return [
        str(e["payload"].get("reason")) for e in export_events(url) if e["event_type"] == "approval_refused"
    ]


@pytest.mark.parametrize("raw", ["not json", '{"invoice_id": ', "[1, 2"])
def test_a_malformed_edit_is_refused_with_the_reason_not_a_crash(registered: str, raw: str) -> None:
    """Issue 8.9: non-JSON in "Edited output" raised JSONDecodeError and failed the task."""
    ctx = _ctx(registered, "invoice-triage")
    verdict = _answer(ctx, "rachel", params={"output": raw}, output=INVOICE)
    assert verdict.kind == "refused"
    assert "not valid JSON" in verdict.message
    assert verdict.output == INVOICE and verdict.output_hash == output_hash(INVOICE)
    assert list_approvals(registered, "claims", "r1", "approval") == []
    assert any("not valid JSON" in r for r in _refusals(registered))  # recorded, with the reason


def test_an_edit_that_fails_the_output_standard_is_refused(registered: str) -> None:
    ctx = _ctx(registered, "invoice-triage")
    bad = [dict(INVOICE[0], queue="shred_it", confidence=7)]
    verdict = _answer(ctx, "rachel", params={"output": json.dumps(bad)}, output=INVOICE)
    assert verdict.kind == "refused"
    assert "fails the output standard" in verdict.message
    assert "queue" in verdict.message
    assert list_approvals(registered, "claims", "r1", "approval") == []


def test_an_accepted_edit_restarts_the_quorum_on_its_hash(registered: str) -> None:
    ctx = _ctx(registered)  # product-claims: 2 reviewers, edits allowed
    first = _answer(ctx, "lena")
    edited = [dict(OUTPUT[0], claim="Throughput improves by 30% on our ingestion benchmark.")]
    edit = _answer(ctx, "eric", params={"output": json.dumps(edited)}, decisions=first.decisions)
    assert (edit.kind, edit.edited, edit.output, edit.approvers) == ("pending", True, edited, ("eric",))
    assert "restarts" in edit.message  # lena approved the original: she must approve the edit
    done = _answer(ctx, "lena", output=edited, decisions=edit.decisions)
    assert (done.kind, done.output_hash, done.approvers) == (
        "approved",
        output_hash(edited),
        ("eric", "lena"),
    )


def test_an_answer_left_over_from_an_earlier_try_is_recorded_not_counted(registered: str) -> None:
    """A retry starts the quorum over; the answer Airflow still holds from the failed try is
    recorded as not counted (never silently dropped)."""
    from types import SimpleNamespace

    from airflow_ai_governance.gates import TaskRef, preflight
    from airflow_ai_governance.gates.approval import report_leftover_answer

    ctx = preflight(
        "product-claims",
        TaskRef("claims", "r1", "approval", try_number=2),
        gate="human_approval",
        db=registered,
    )
    detail = SimpleNamespace(
        response_received=True,
        responded_by_user=SimpleNamespace(id="lena", name="Lena"),
        responded_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        chosen_options=["Approve"],
    )
    report_leftover_answer(ctx, detail)
    (event,) = _ignored(registered)
    assert event["try_number"] == 2 and event["chosen"] == ["Approve"]
    assert "starts the quorum over" in str(event["reason"])
    assert list_approvals(registered, "claims", "r1", "approval") == []
