"""``aigov policy validate|sync``: precise errors, readiness, versioning, and all-or-nothing sync.

Sync tests run on SQLite and PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_support import Aigov, example_doc, line_of, snapshot, write_policy

from airflow_ai_governance.policy import load_policy

EXAMPLE_IDS = ["invoice-triage", "meeting-summaries", "product-claims"]


# ------------------------------------------------------------------------------ validate
def test_validate_examples_exit_0(cli: Aigov, examples_dir: Path) -> None:
    result = cli("policy", "validate", examples_dir)
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert [line.split()[:2] for line in lines] == [["PASS", i] for i in EXAMPLE_IDS]
    assert all(line.endswith("ready for production") for line in lines)


def test_validate_json(cli: Aigov, examples_dir: Path) -> None:
    result = cli("policy", "validate", examples_dir / "invoice_triage.yaml", "--json")
    assert result.code == 0
    (entry,) = json.loads(result.out)
    assert entry["use_case"] == "invoice-triage"
    assert (entry["target"], entry["passed"]) == ("production", True)
    assert entry["source"].endswith("invoice_triage.yaml")
    assert {i["key"] for i in entry["items"]} >= {"owner", "escalation", "success_measure", "monitoring"}


def test_validate_unknown_field_names_file_line_and_path(cli: Aigov, policies: Path) -> None:
    bad = policies / "invoice_triage.yaml"
    bad.write_text(bad.read_text().replace("  measurability: 5", "  measurabilty: 5"))
    result = cli("policy", "validate", bad)
    assert result.code == 2
    assert result.out == ""
    line = line_of(bad, "measurabilty")
    assert f"{bad}:{line}: selection.measurabilty: unknown field" in result.err
    assert f"{bad}:" in result.err and "selection.measurability: required field is missing" in result.err


def test_validate_wrong_type_names_file_line_and_path(cli: Aigov, policies: Path) -> None:
    bad = policies / "meeting_summaries.yaml"
    text = bad.read_text()
    text = text.replace("tier: 1", "tier: high").replace("approval_timeout: 24h", "approval_timeout: soon")
    bad.write_text(text)
    result = cli("policy", "validate", bad)
    assert result.code == 2
    assert f"{bad}:{line_of(bad, 'tier: high')}: tier: Input should be 1, 2 or 3" in result.err
    timeout_line = line_of(bad, "approval_timeout: soon")
    assert f"{bad}:{timeout_line}: escalation.approval_timeout: expected a duration" in result.err


def test_validate_nested_list_item_error(cli: Aigov, policies: Path) -> None:
    bad = policies / "product_claims.yaml"
    bad.write_text(bad.read_text().replace("type: string, min_length: 20", "type: text, min_length: 20"))
    result = cli("policy", "validate", bad)
    assert result.code == 2
    line = line_of(bad, "type: text")
    assert f"{bad}:{line}: output_standard.fields[1].type:" in result.err


def test_validate_bad_yaml_names_file_and_line(cli: Aigov, policies: Path) -> None:
    bad = policies / "invoice_triage.yaml"
    bad.write_text(bad.read_text().replace("tier: 2", "tier: [2"))
    result = cli("policy", "validate", bad)
    assert result.code == 2
    assert f"{bad}:" in result.err and "not valid YAML" in result.err


def test_validate_reports_every_bad_file_at_once(cli: Aigov, policies: Path) -> None:
    (policies / "invoice_triage.yaml").write_text("- just\n- a list\n")
    claims = policies / "product_claims.yaml"
    claims.write_text(claims.read_text().replace("recurrence: 3", "recurrence: 9"))
    result = cli("policy", "validate", policies)
    assert result.code == 2
    # The file that loads is still judged: only it has a verdict line
    assert result.out.splitlines() == [
        f"PASS  meeting-summaries ({policies / 'meeting_summaries.yaml'}): ready for production"
    ]
    assert "2 problem(s) in 3 policy file(s)" in result.err
    assert f"{policies / 'invoice_triage.yaml'}:1: a policy must be a YAML mapping" in result.err
    line = line_of(claims, "recurrence: 9")
    assert f"{claims}:{line}: selection.recurrence: Input should be less than or equal to 5" in result.err


@pytest.mark.parametrize(
    "argv_tail",
    [("missing.yaml",), ("empty-dir",)],
    ids=["missing-file", "no-policy-files"],
)
def test_validate_unreadable_input_exits_2(cli: Aigov, tmp_path: Path, argv_tail: tuple[str]) -> None:
    (tmp_path / "empty-dir").mkdir()
    result = cli("policy", "validate", *(tmp_path / a for a in argv_tail))
    assert result.code == 2
    assert str(tmp_path / argv_tail[0]) in result.err
    assert ("cannot read policy file" in result.err) or ("no policy files" in result.err)


def test_validate_not_ready_for_declared_state_exits_1(
    cli: Aigov, tmp_path: Path, examples_dir: Path
) -> None:
    doc = example_doc(examples_dir, "invoice_triage.yaml")
    assert doc["state"] == "production"
    del doc["success_measure"]
    del doc["monitoring"]["drift_task"]
    path = write_policy(tmp_path / "not_ready.yaml", doc)
    result = cli("policy", "validate", path, examples_dir / "meeting_summaries.yaml")
    assert result.code == 1
    assert result.err == ""
    assert f"FAIL  invoice-triage ({path}): not ready for production: 2 item(s) missing" in result.out
    assert "PASS  meeting-summaries" in result.out
    assert "      success_measure: no success_measure" in result.out
    assert "      monitoring: no monitoring.drift_task" in result.out
    # The same policy declared `proposed` is ready for what it declares.
    doc["state"] = "proposed"
    write_policy(path, doc)
    assert cli("policy", "validate", path).code == 0


def test_validate_proposed_idea_without_the_six_things(cli: Aigov, tmp_path: Path) -> None:
    path = write_policy(
        tmp_path / "idea.yaml",
        {
            "id": "idea",
            "title": "An idea",
            "description": "Something we might automate later.",
            "tier": 1,
            "selection": {"recurrence": 3, "measurability": 3, "decision_impact": 3},
        },
    )
    assert cli("policy", "validate", path).code == 0
    doc = {**yaml.safe_load(path.read_text()), "state": "approved"}
    write_policy(path, doc)
    result = cli("policy", "validate", path)
    assert result.code == 1
    for key in ("owner", "reviewers", "data_boundary", "approved_inputs", "output_standard", "escalation"):
        assert f"      {key}: " in result.out


def test_a_folder_of_three_bad_files_reports_three_problems(
    cli: Aigov, tmp_path: Path, examples_dir: Path
) -> None:
    """A file that does not load and a file that is not ready are both reported (exit 2)."""
    no_owner = example_doc(examples_dir, "product_claims.yaml")
    del no_owner["owner"]
    write_policy(tmp_path / "no_owner.yaml", no_owner)
    (tmp_path / "broken.yaml").write_text("id: x\ntier: [\n")
    write_policy(tmp_path / "tier.yaml", {**example_doc(examples_dir, "invoice_triage.yaml"), "tier": 7})
    result = cli("policy", "validate", tmp_path)
    assert result.code == 2
    assert result.out.splitlines() == [
        f"FAIL  product-claims ({tmp_path / 'no_owner.yaml'}): not ready for production: 1 item(s) missing",
        "      owner: no owner: name who owns the result",
    ]
    assert "2 problem(s) in 3 policy file(s)" in result.err
    assert f"{tmp_path / 'broken.yaml'}:3: not valid YAML" in result.err
    assert "tier: Input should be 1, 2 or 3" in result.err
    as_json = json.loads(cli("policy", "validate", tmp_path, "--json").out)
    assert {Path(item["source"]).name for item in as_json if "error" not in item} == {"no_owner.yaml"}
    assert sum("error" in item for item in as_json) == 2


# ---------------------------------------------------------------------------------- sync
def test_sync_registers_the_examples(aigov: Aigov, db_url: str, examples_dir: Path) -> None:
    result = aigov("policy", "sync", examples_dir, "--by", "sam")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"registered  {i} (version 1, state proposed)" for i in EXAMPLE_IDS]

    db = snapshot(db_url)
    assert len(db["use_case"]) == 3
    listed = json.loads(aigov("use-case", "list", "--json").out)
    assert [(r["id"], r["state"], r["version"]) for r in listed] == [(i, "proposed", 1) for i in EXAMPLE_IDS]
    assert {(r["id"], r["tier"], r["owner"]) for r in listed} == {
        ("invoice-triage", 2, "oscar"),
        ("meeting-summaries", 1, "olivia"),
        ("product-claims", 3, "paula"),
    }

    shown = json.loads(aigov("use-case", "show", "invoice-triage", "--json").out)
    (registered,) = shown["transitions"]
    assert (registered["from"], registered["to"], registered["by"], registered["version"]) == (
        None,
        "proposed",
        "sam",
        1,
    )
    assert "invoice_triage.yaml" in registered["reason"]
    policy = load_policy(examples_dir / "invoice_triage.yaml").policy
    assert shown["policy"] == policy.document()
    assert len(db["policy_version"]) == 3
    assert len(db["lifecycle_transition"]) == 3

    events = [json.loads(line) for line in aigov("audit", "export", "--format", "jsonl").out.splitlines()]
    assert [(e["event_type"], e["use_case_id"], e["actor"]) for e in events] == [
        ("use_case_registered", i, "sam") for i in EXAMPLE_IDS
    ]
    payload = events[0]["payload"]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload["version"] == 1
    assert payload["content_hash"] == policy.content_hash


def test_resync_unchanged_changes_nothing(aigov: Aigov, db_url: str, examples_dir: Path) -> None:
    assert aigov("policy", "sync", examples_dir).code == 0
    before = snapshot(db_url)
    result = aigov("policy", "sync", examples_dir)
    assert result.code == 0
    assert result.out.splitlines() == [f"unchanged   {i}" for i in EXAMPLE_IDS]
    assert snapshot(db_url) == before


def test_changed_policy_gets_a_new_version_and_v1_stays(
    aigov: Aigov, db_url: str, policies: Path, examples_dir: Path
) -> None:
    assert aigov("policy", "sync", policies).code == 0
    before = snapshot(db_url)
    v1_hash = load_policy(examples_dir / "invoice_triage.yaml").policy.content_hash

    doc = example_doc(examples_dir, "invoice_triage.yaml")
    doc["success_measure"]["target"] = 0.97
    doc["title"] = "Invoice triage (stricter)"
    write_policy(policies / "invoice_triage.yaml", doc)
    result = aigov("policy", "sync", policies, "--by", "vera")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "versioned   invoice-triage -> version 2",
        "unchanged   meeting-summaries",
        "unchanged   product-claims",
    ]

    after = snapshot(db_url)
    # Version 1 is untouched (same row, hash and document); version 2 is a new row.
    assert after["policy_version"][: len(before["policy_version"])] == before["policy_version"]
    versions = {
        (row.use_case_id, row.version): row
        for row in _policy_versions(db_url)
        if row.use_case_id == "invoice-triage"
    }
    assert sorted(versions) == [("invoice-triage", 1), ("invoice-triage", 2)]
    v1, v2 = versions["invoice-triage", 1], versions["invoice-triage", 2]
    assert v1.content_hash == v1_hash
    assert v1.document["success_measure"]["target"] == 0.95
    assert v2.document["success_measure"]["target"] == 0.97
    assert v2.content_hash != v1_hash
    assert v2.created_by == "vera"
    # The registry points at version 2; no lifecycle decision was made by a sync.
    assert after["lifecycle_transition"] == before["lifecycle_transition"]
    shown = json.loads(aigov("use-case", "show", "invoice-triage", "--json").out)
    assert (shown["version"], shown["state"], shown["policy"]["title"]) == (
        2,
        "proposed",
        "Invoice triage (stricter)",
    )
    events = [json.loads(line) for line in aigov("audit", "export").out.splitlines()]
    assert events[-1]["event_type"] == "policy_versioned"
    assert events[-1]["actor"] == "vera"
    # A third sync of the same content is "unchanged" against version 2.
    assert aigov("policy", "sync", policies).out.splitlines()[0] == "unchanged   invoice-triage"


def _policy_versions(db_url: str) -> list:  # type: ignore[type-arg]
    import sqlalchemy as sa

    from airflow_ai_governance.store import PolicyVersion, session_scope

    with session_scope(db_url, readonly=True) as session:
        return list(session.scalars(sa.select(PolicyVersion).order_by(PolicyVersion.id)))


@pytest.mark.parametrize("preloaded", [False, True], ids=["empty-db", "registered-db"])
def test_sync_with_one_malformed_file_changes_nothing(
    aigov: Aigov, db_url: str, policies: Path, examples_dir: Path, preloaded: bool
) -> None:
    if preloaded:
        assert aigov("policy", "sync", examples_dir).code == 0
    # A changed policy, a brand-new one, and one malformed file in the same directory.
    doc = example_doc(examples_dir, "invoice_triage.yaml")
    doc["success_measure"]["target"] = 0.99
    write_policy(policies / "invoice_triage.yaml", doc)
    write_policy(policies / "new_one.yaml", {**doc, "id": "new-one"})
    bad = policies / "product_claims.yaml"
    bad.write_text(bad.read_text().replace("min_rows: 1", "min_rows: lots"))
    before = snapshot(db_url)

    result = aigov("policy", "sync", policies)
    assert result.code == 2
    assert result.out == ""
    assert f"{bad}:{line_of(bad, 'min_rows: lots')}: output_standard.min_rows:" in result.err
    assert snapshot(db_url) == before  # every table, audit_event included


def test_sync_refused_by_the_registry_rolls_back_every_file(
    aigov: Aigov, db_url: str, policies: Path, examples_dir: Path
) -> None:
    assert aigov("policy", "sync", policies).code == 0
    assert aigov("retire", "product-claims", "--by", "rita", "--reason", "no longer needed").code == 0
    # Valid files: a new use case (sorted first), a changed policy, and a changed retired one.
    base = example_doc(examples_dir, "meeting_summaries.yaml")
    write_policy(policies / "aaa_new.yaml", {**base, "id": "aaa-new"})
    changed = {**base, "title": "Internal meeting summaries v2"}
    write_policy(policies / "meeting_summaries.yaml", changed)
    claims = example_doc(examples_dir, "product_claims.yaml")
    claims["success_measure"]["target"] = 0.99
    write_policy(policies / "product_claims.yaml", claims)
    before = snapshot(db_url)

    result = aigov("policy", "sync", policies)
    assert result.code == 1
    assert result.out == ""
    assert str(policies / "product_claims.yaml") in result.err
    assert "'product-claims' is retired" in result.err
    assert snapshot(db_url) == before
    assert "aaa-new" not in aigov("use-case", "list").out
    assert aigov("audit", "verify").code == 0
    # Without the retired one's change, the rest goes through in one transaction.
    write_policy(policies / "product_claims.yaml", example_doc(examples_dir, "product_claims.yaml"))
    result = aigov("policy", "sync", policies)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "registered  aaa-new (version 1, state proposed)",
        "versioned   meeting-summaries -> version 2",
        "unchanged   invoice-triage",
        "unchanged   product-claims",
    ]


def test_sync_of_a_duplicate_id_is_a_config_error(aigov: Aigov, db_url: str, policies: Path) -> None:
    (policies / "copy.yaml").write_text((policies / "invoice_triage.yaml").read_text())
    before = snapshot(db_url)
    result = aigov("policy", "sync", policies)
    assert result.code == 2
    assert "use case id 'invoice-triage' is also defined in" in result.err
    assert snapshot(db_url) == before


def test_gate_override_weaker_than_the_tier_exits_2(cli: Aigov, policies: Path) -> None:
    path = policies / "invoice_triage.yaml"
    path.write_text(path.read_text() + "gates: {human_approval: false, review_cadence_days: 365}\n")
    result = cli("policy", "validate", path)
    assert result.code == 2
    assert (
        "gates.human_approval: tier 2 requires human_approval; an override may not turn it off" in result.err
    )
    assert "gates.review_cadence_days: tier 2 reviews at least every 90 days, not 365" in result.err


def test_gate_override_with_a_quoted_number_is_a_precise_error(cli: Aigov, policies: Path) -> None:
    path = policies / "invoice_triage.yaml"
    path.write_text(path.read_text() + 'gates: {min_reviewers: "0"}\n')
    result = cli("policy", "validate", path)
    assert result.code == 2
    assert "gates.min_reviewers" in result.err


def test_a_suspended_policy_is_validated_against_production(cli: Aigov, policies: Path) -> None:
    path = policies / "meeting_summaries.yaml"
    text = path.read_text().replace("state: production", "state: suspended")
    path.write_text(text)
    assert cli("policy", "validate", path).code == 0
    assert "ready for production (declared suspended)" in cli("policy", "validate", path).out
    start = text.index("success_measure:")
    path.write_text(text[:start] + text[text.index("monitoring:") :])  # no success measure
    result = cli("policy", "validate", path)
    assert result.code == 1
    assert "success_measure: no success_measure" in result.out
