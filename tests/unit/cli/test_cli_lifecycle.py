"""``aigov promote|retire|checklist|score|use-case``: recorded decisions, refused ones, final retirement.

Every test that touches the registry runs on SQLite and PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import json
import os
import pwd
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import Aigov, example_doc, snapshot, write_policy
from cli_support import events as _events
from cli_support import show as _show

STATES = ["proposed", "approved", "pilot", "production", "suspended", "retired"]


@pytest.fixture
def synced(aigov: Aigov, examples_dir: Path) -> Aigov:
    """The three examples registered (state proposed)."""
    result = aigov("policy", "sync", examples_dir, "--by", "sam")
    assert result.code == 0, result.err
    return aigov


def _register(aigov: Aigov, tmp_path: Path, examples_dir: Path, use_case: str, **edits: Any) -> None:
    """Register a variant of the invoice-triage example as ``use_case``; ``None`` deletes a field."""
    doc = example_doc(examples_dir, "invoice_triage.yaml")
    doc["id"] = use_case
    for key, value in edits.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    path = write_policy(tmp_path / "variants" / f"{use_case}.yaml", doc)
    result = aigov("policy", "sync", path)
    assert result.code == 0, result.err


def _promote(aigov: Aigov, use_case: str, to: str, by: str = "dana", reason: str = "ok") -> Any:
    return aigov("promote", use_case, "--to", to, "--by", by, "--reason", reason)


# -------------------------------------------------------------------------------- promote
def test_promotion_path_records_who_when_why_and_version(synced: Aigov, db_url: str) -> None:
    aigov = synced
    start = datetime.now(UTC) - timedelta(seconds=1)
    steps = [
        ("approved", "alice", "selection score 91, six things named"),
        ("pilot", "bob", "two-week pilot with the AP team"),
        ("production", "carol", "pilot met queue_accuracy >= 0.95"),
        ("suspended", "carol", "drift alert on amount"),
        ("production", "carol", "drift explained, model retrained"),
    ]
    previous = "proposed"
    os_identity = f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"
    for to, by, reason in steps:
        result = _promote(aigov, "invoice-triage", to, by, reason)
        assert result.code == 0, result.err
        assert result.out.startswith(
            f"invoice-triage: {previous} -> {to} by {by} (OS {os_identity}) (policy version 1) at "
        ), result.out
        previous = to

    shown = _show(aigov, "invoice-triage")
    assert shown["state"] == "production"
    history = shown["transitions"]
    assert [(t["from"], t["to"], t["by"], t["reason"], t["version"]) for t in history[1:]] == [
        (frm, to, by, reason, 1)
        for (frm, (to, by, reason)) in zip(
            ["proposed", "approved", "pilot", "production", "suspended"], steps, strict=True
        )
    ]
    times = [datetime.fromisoformat(t["at"]) for t in history]
    assert all(t.tzinfo is not None for t in times)
    assert times == sorted(times)
    assert start <= times[1] <= datetime.now(UTC)

    decisions = [e for e in _events(aigov) if e["event_type"] == "lifecycle_transition"]
    assert [(e["actor"], e["payload"]["from"], e["payload"]["to"]) for e in decisions] == [
        (by, frm, to)
        for (frm, (to, by, _)) in zip(
            ["proposed", "approved", "pilot", "production", "suspended"], steps, strict=True
        )
    ]
    assert all(e["payload"]["policy_version"] == 1 and e["payload"]["reason"] for e in decisions)
    # never only the free-text --by: the OS account that ran each command is recorded beside it
    assert {(e["payload"]["identity"]["os_user"], e["payload"]["identity"]["uid"]) for e in decisions} == {
        (pwd.getpwuid(os.getuid()).pw_name, os.getuid())
    }
    assert [t["identity"]["by"] for t in history[1:]] == [by for _, by, _ in steps]
    assert aigov("audit", "verify").code == 0
    assert len(snapshot(db_url)["lifecycle_transition"]) == 3 + len(steps)


def test_a_decision_pins_the_current_policy_version(
    synced: Aigov, policies: Path, examples_dir: Path
) -> None:
    aigov = synced
    assert _promote(aigov, "meeting-summaries", "approved").code == 0
    doc = example_doc(examples_dir, "meeting_summaries.yaml")
    doc["success_measure"]["target"] = 0.95
    write_policy(policies / "meeting_summaries.yaml", doc)
    assert (
        aigov("policy", "sync", policies).out.splitlines()[0] == "versioned   meeting-summaries -> version 2"
    )
    result = _promote(aigov, "meeting-summaries", "pilot")
    assert "(policy version 2)" in result.out
    versions = [(t["to"], t["version"]) for t in _show(aigov, "meeting-summaries")["transitions"]]
    assert versions == [("proposed", 1), ("approved", 1), ("pilot", 2)]


def test_failing_checklist_refuses_promotion_and_changes_nothing(
    aigov: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    _register(aigov, tmp_path, examples_dir, "no-escalation", escalation=None)
    before = snapshot(db_url)
    result = _promote(aigov, "no-escalation", "approved", "alice", "looks fine")
    assert result.code == 1
    assert result.out == ""
    assert "cannot enter approved: the go-live checklist fails" in result.err
    assert "escalation: no escalation path" in result.err
    assert "aigov checklist no-escalation --to approved" in result.err
    assert snapshot(db_url) == before  # no transition row, no audit event, state unchanged
    assert _show(aigov, "no-escalation")["state"] == "proposed"

    checklist = aigov("checklist", "no-escalation")
    assert checklist.code == 1
    assert "  [FAIL] An escalation path is set: no escalation path" in checklist.out
    assert "  [PASS] An owner is named: owner: oscar" in checklist.out
    assert checklist.out.splitlines()[-1] == "NOT READY for approved"


def test_production_checklist_is_enforced_at_the_last_step(
    aigov: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    _register(
        aigov,
        tmp_path,
        examples_dir,
        "no-monitoring",
        success_measure=None,
        monitoring={"logging": True},
    )
    assert _promote(aigov, "no-monitoring", "approved").code == 0
    assert _promote(aigov, "no-monitoring", "pilot").code == 0
    before = snapshot(db_url)
    result = _promote(aigov, "no-monitoring", "production")
    assert result.code == 1
    assert "success_measure: no success_measure" in result.err
    assert "monitoring: no monitoring.drift_task" in result.err
    assert snapshot(db_url) == before
    assert _show(aigov, "no-monitoring")["state"] == "pilot"

    checklist = aigov("checklist", "no-monitoring", "--json")
    assert checklist.code == 1
    data = json.loads(checklist.out)
    assert (data["state"], data["target"], data["passed"]) == ("pilot", "production", False)
    failed = {i["key"] for i in data["items"] if not i["passed"]}
    assert failed == {"success_measure", "monitoring"}


@pytest.mark.parametrize(
    ("path", "target"),
    [(["approved"], "production"), ([], "pilot"), (["approved", "pilot", "production"], "approved")],
    ids=["approved-to-production", "proposed-to-pilot", "production-to-approved"],
)
def test_illegal_jump_is_refused(synced: Aigov, db_url: str, path: list[str], target: str) -> None:
    for step in path:
        assert _promote(synced, "invoice-triage", step).code == 0
    state = path[-1] if path else "proposed"
    before = snapshot(db_url)
    result = _promote(synced, "invoice-triage", target)
    assert result.code == 1
    assert f"cannot move from {state} to {target}; allowed from {state}:" in result.err
    assert snapshot(db_url) == before


def test_proposed_straight_to_production_is_refused(synced: Aigov, db_url: str) -> None:
    before = snapshot(db_url)
    result = _promote(synced, "invoice-triage", "production")
    assert result.code == 1
    assert result.err.strip() == (
        "aigov: Use case 'invoice-triage' cannot move from proposed to production; "
        "allowed from proposed: approved, retired."
    )
    assert snapshot(db_url) == before


# --------------------------------------------------------------------------------- retire
def test_retire_from_every_state_is_final(
    aigov: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    paths = {
        "proposed": [],
        "approved": ["approved"],
        "pilot": ["approved", "pilot"],
        "production": ["approved", "pilot", "production"],
        "suspended": ["approved", "pilot", "production", "suspended"],
    }
    for state, steps in paths.items():
        use_case = f"uc-{state}"
        _register(aigov, tmp_path, examples_dir, use_case)
        for step in steps:
            assert _promote(aigov, use_case, step).code == 0
        result = aigov("retire", use_case, "--by", "rita", "--reason", f"retired while {state}")
        assert result.code == 0, result.err
        assert result.out.startswith(
            f"{use_case}: {state} -> retired by rita (OS {pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}) "
            "(policy version 1)"
        )
        last = _show(aigov, use_case)["transitions"][-1]
        assert (last["from"], last["to"], last["by"], last["reason"]) == (
            state,
            "retired",
            "rita",
            f"retired while {state}",
        )

    before = snapshot(db_url)
    for state in paths:
        use_case = f"uc-{state}"
        for target in STATES:
            result = _promote(aigov, use_case, target)
            assert result.code == 1, (use_case, target)
            assert "is retired; retirement is final" in result.err
        again = aigov("retire", use_case, "--by", "rita", "--reason", "again")
        assert again.code == 1
        assert "retirement is final" in again.err
    assert snapshot(db_url) == before
    listed = json.loads(aigov("use-case", "list", "--state", "retired", "--json").out)
    assert [r["id"] for r in listed] == [f"uc-{s}" for s in sorted(paths)]


def test_a_retired_use_case_cannot_come_back(
    synced: Aigov, db_url: str, policies: Path, examples_dir: Path
) -> None:
    aigov = synced
    for step in ("approved", "pilot", "production"):
        assert _promote(aigov, "product-claims", step).code == 0
    assert aigov("retire", "product-claims", "--by", "rita", "--reason", "campaign over").code == 0
    before = snapshot(db_url)

    # Not by promotion ...
    assert "retirement is final" in _promote(aigov, "product-claims", "production").err
    # ... not by a changed policy ...
    doc = example_doc(examples_dir, "product_claims.yaml")
    doc["title"] = "Public product performance claims, revived"
    write_policy(policies / "product_claims.yaml", doc)
    result = aigov("policy", "sync", policies)
    assert result.code == 1
    assert f"{policies / 'product_claims.yaml'}: use case 'product-claims' is retired" in result.err
    assert "Register a new use case id instead" in result.err
    assert snapshot(db_url) == before
    # ... and an unchanged re-sync leaves it retired.
    write_policy(policies / "product_claims.yaml", example_doc(examples_dir, "product_claims.yaml"))
    result = aigov("policy", "sync", policies)
    assert (result.code, "unchanged   product-claims" in result.out) == (0, True)
    assert snapshot(db_url) == before

    shown = _show(aigov, "product-claims")
    assert (shown["state"], shown["version"]) == ("retired", 1)
    assert [t["to"] for t in shown["transitions"]] == [
        "proposed",
        "approved",
        "pilot",
        "production",
        "retired",
    ]
    listed = {r["id"]: r["state"] for r in json.loads(aigov("use-case", "list", "--json").out)}
    assert listed == {
        "invoice-triage": "proposed",
        "meeting-summaries": "proposed",
        "product-claims": "retired",
    }
    text = aigov("use-case", "show", "product-claims")
    assert "  state retired, tier 3, policy version 1" in text.out
    assert "production -> retired by rita (v1): campaign over" in text.out
    checklist = aigov("checklist", "product-claims")
    assert checklist.code == 1
    assert "retirement is final" in checklist.out


# ------------------------------------------------------------------- checklist and score
def test_checklist_follows_the_next_step(synced: Aigov) -> None:
    aigov = synced
    expected = [("proposed", "approved"), ("approved", "pilot"), ("pilot", "production")]
    for state, target in expected:
        result = aigov("checklist", "invoice-triage")
        assert result.code == 0, result.out
        assert result.out.splitlines()[0] == (
            f"Go-live checklist for invoice-triage (state {state}) -> {target}"
        )
        assert result.out.splitlines()[-1] == f"READY for {target}"
        assert all(line.startswith("  [PASS] ") for line in result.out.splitlines()[1:-1])
        assert _promote(aigov, "invoice-triage", target).code == 0
    result = aigov("checklist", "invoice-triage", "--json")
    data = json.loads(result.out)
    assert (result.code, data["state"], data["target"], data["passed"]) == (
        0,
        "production",
        "production",
        True,
    )
    assert {i["key"] for i in data["items"]} >= {"logging", "success_measure", "monitoring"}


def test_checklist_warns_about_recommended_items(aigov: Aigov, tmp_path: Path, examples_dir: Path) -> None:
    doc = example_doc(examples_dir, "meeting_summaries.yaml")
    del doc["monitoring"]["drift_task"]  # tier 1: a drift monitor is recommended, not required
    path = write_policy(tmp_path / "tier1.yaml", doc)
    result = aigov("checklist", path)
    assert result.code == 0
    assert "(state unregistered) -> production" in result.out  # a file: its declared state
    assert (
        "  [WARN] The owner monitors quality (drift task scheduled): no monitoring.drift_task" in result.out
    )


def test_checklist_of_a_file_uses_its_declared_state(
    aigov: Aigov, tmp_path: Path, examples_dir: Path
) -> None:
    doc = example_doc(examples_dir, "invoice_triage.yaml")
    doc["state"] = "approved"
    del doc["success_measure"]  # needed for production only
    path = write_policy(tmp_path / "approved.yaml", doc)
    result = aigov("checklist", path)
    assert result.code == 0, result.out
    assert result.out.splitlines()[-1] == "READY for approved"
    assert aigov("checklist", path, "--to", "production").code == 1


def test_score_of_a_file_and_of_its_registration_agree(synced: Aigov, examples_dir: Path) -> None:
    for name, use_case in [
        ("invoice_triage.yaml", "invoice-triage"),
        ("meeting_summaries.yaml", "meeting-summaries"),
        ("product_claims.yaml", "product-claims"),
    ]:
        by_path = synced("score", examples_dir / name)
        by_id = synced("score", use_case)
        assert (by_path.code, by_id.code) == (0, 0)
        assert by_path.out == by_id.out
        assert by_path.out.startswith(f"{use_case}: score ")
        as_json = json.loads(synced("score", use_case, "--json").out)
        assert as_json == json.loads(synced("score", examples_dir / name, "--json").out)
        assert f"score {as_json['score']}/100 -> {as_json['recommendation']}" in by_id.out
    invoice = json.loads(synced("score", "invoice-triage", "--json").out)
    assert invoice == {
        "use_case": "invoice-triage",
        "recurrence": 5,
        "measurability": 5,
        "decision_impact": 4,
        "score": 91.0,
        "recommendation": "strong",
        "reasons": ["recurs, is measurable and changes a decision"],
    }


# ------------------------------------------------------------------- usage and config errors
USAGE_ERRORS = {
    "promote-no-by": ["promote", "invoice-triage", "--to", "approved", "--reason", "ok"],
    "promote-no-reason": ["promote", "invoice-triage", "--to", "approved", "--by", "alice"],
    "promote-no-to": ["promote", "invoice-triage", "--by", "alice", "--reason", "ok"],
    "promote-bad-state": ["promote", "invoice-triage", "--to", "live", "--by", "alice", "--reason", "ok"],
    "promote-blank-by": ["promote", "invoice-triage", "--to", "approved", "--by", " ", "--reason", "ok"],
    "promote-blank-reason": ["promote", "invoice-triage", "--to", "approved", "--by", "a", "--reason", ""],
    "retire-no-by": ["retire", "invoice-triage", "--reason", "done"],
    "retire-no-reason": ["retire", "invoice-triage", "--by", "alice"],
    "list-bad-state": ["use-case", "list", "--state", "live"],
    "no-command": [],
}


def test_usage_errors_exit_2_before_touching_the_registry(synced: Aigov, db_url: str) -> None:
    before = snapshot(db_url)
    for name, argv in USAGE_ERRORS.items():
        result = synced(*argv)
        assert result.code == 2, name
        assert "usage: aigov" in result.err, name
        assert "error: " in result.err, name
    assert "argument --by: must not be empty" in synced(*USAGE_ERRORS["promote-blank-by"]).err
    assert "the following arguments are required: --by" in synced(*USAGE_ERRORS["retire-no-by"]).err
    assert snapshot(db_url) == before


def test_unknown_use_case_exits_2_naming_the_known_ids(synced: Aigov) -> None:
    for argv in (
        ["use-case", "show", "nope"],
        ["checklist", "nope"],
        ["score", "nope"],
        ["promote", "nope", "--to", "approved", "--by", "alice", "--reason", "ok"],
        ["retire", "nope", "--by", "alice", "--reason", "ok"],
    ):
        result = synced(*argv)
        assert result.code == 2, argv
        assert result.out == ""
        assert "aigov: error: Unknown use case 'nope'" in result.err
        assert "Known use cases: invoice-triage, meeting-summaries, product-claims." in result.err


def test_empty_registry(aigov: Aigov) -> None:
    assert aigov("use-case", "list").out.strip() == "no use cases registered (run `aigov policy sync DIR`)"
    assert json.loads(aigov("use-case", "list", "--json").out) == []
    result = aigov("use-case", "show", "anything")
    assert result.code == 2
    assert "Unknown use case 'anything'" in result.err
    assert "Known use cases" not in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "sync", "EXAMPLES"],
        ["use-case", "list"],
        ["use-case", "show", "invoice-triage"],
        ["checklist", "invoice-triage"],
        ["score", "invoice-triage"],
        ["promote", "invoice-triage", "--to", "approved", "--by", "alice", "--reason", "ok"],
        ["retire", "invoice-triage", "--by", "alice", "--reason", "ok"],
    ],
    ids=["sync", "list", "show", "checklist", "score", "promote", "retire"],
)
def test_unreachable_sidecar_exits_2_with_a_clear_message(
    cli: Aigov, examples_dir: Path, argv: list[str]
) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/x"
    result = cli("--db-url", url, *[str(examples_dir) if a == "EXAMPLES" else a for a in argv])
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"aigov: error: AI governance sidecar at {url} is unreachable: ")
    assert "Check [ai_governance] sql_alchemy_conn" in result.err
    assert "Traceback" not in result.err


def test_unmigrated_sqlite_file_exits_2(cli: Aigov, tmp_path: Path) -> None:
    result = cli("--db-url", f"sqlite:///{tmp_path / 'nothing.db'}", "use-case", "list")
    assert result.code == 2
    assert "is not initialised" in result.err
    assert "aigov db upgrade" in result.err


def test_changed_policy_must_still_pass_the_checklist_of_its_state(
    aigov: Aigov, db_url: str, examples_dir: Path, tmp_path: Path
) -> None:
    import shutil

    policies = tmp_path / "p"
    shutil.copytree(examples_dir, policies)
    assert aigov("policy", "sync", policies, "--by", "gina").code == 0
    for state in ("approved", "pilot", "production"):
        assert (
            aigov("promote", "invoice-triage", "--to", state, "--by", "gina", "--reason", "go-live").code == 0
        )
    before = snapshot(db_url)
    path = policies / "invoice_triage.yaml"
    path.write_text(path.read_text().replace("  drift_task: invoice_triage.drift_monitor\n", ""))
    result = aigov("policy", "sync", policies, "--by", "gina")
    assert result.code == 1
    assert "is production, but the changed policy fails the production checklist" in result.err
    assert "monitoring" in result.err
    assert snapshot(db_url) == before


def test_audit_export_of_an_unknown_use_case_is_an_error(aigov: Aigov) -> None:
    result = aigov("audit", "export", "--use-case", "nope")
    assert result.code == 2
    assert "Unknown use case 'nope'" in result.err
    assert "exported" not in result.err
