from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_ai_governance.exceptions import LifecycleError, PolicyError
from airflow_ai_governance.policy import (
    LifecycleState,
    Recommendation,
    Tier,
    build_checklist,
    check_transition,
    load_policies,
    load_policy,
    parse_policy,
    score,
)
from airflow_ai_governance.policy.models import Selection


def _doc(examples_dir: Path, name: str = "invoice_triage.yaml") -> dict:
    return yaml.safe_load((examples_dir / name).read_text())


def test_examples_are_valid_and_ready_for_their_state(examples_dir: Path) -> None:
    loaded = load_policies([examples_dir])
    assert sorted(lp.policy.tier for lp in loaded) == [Tier.INTERNAL, Tier.BUSINESS, Tier.PUBLIC]
    for lp in loaded:
        checklist = build_checklist(lp.policy)
        assert checklist.passed, (lp.source, [i.detail for i in checklist.failures])


def test_error_names_file_line_and_field(tmp_path: Path, examples_dir: Path) -> None:
    text = (examples_dir / "invoice_triage.yaml").read_text()
    lines = text.splitlines()
    tier_line = next(i for i, line in enumerate(lines, 1) if line.startswith("tier:"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("tier: 2", "tier: 7").replace("recurrence: 5", "recurence: 5"))
    with pytest.raises(PolicyError) as info:
        load_policy(bad)
    message = str(info.value)
    assert f"{bad}:{tier_line}: tier: Input should be 1, 2 or 3" in message
    assert "selection.recurence: unknown field" in message
    assert "selection.recurrence: required field is missing" in message
    assert {loc.split(": ")[-1] for loc, _ in info.value.problems} >= {"tier", "selection.recurence"}


def test_nested_error_points_at_list_item_line(tmp_path: Path, examples_dir: Path) -> None:
    text = (examples_dir / "invoice_triage.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("min: 0, max: 1,", "min: 2, max: 1,"))
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if "min: 2, max: 1" in ln)
    with pytest.raises(
        PolicyError, match=rf"bad.yaml:{line}: output_standard.fields\[2\]: min \(2.0\) is greater"
    ):
        load_policy(bad)


def test_invalid_yaml_and_non_mapping(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("id: x\n  bad: [\n")
    with pytest.raises(PolicyError, match=r"x.yaml:2: not valid YAML"):
        load_policy(f)
    with pytest.raises(PolicyError, match="must be a YAML mapping"):
        parse_policy("- a\n- b\n", "list.yaml")
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.yaml")


def test_duration_error_says_what_is_expected(examples_dir: Path) -> None:
    doc = _doc(examples_dir)
    doc["escalation"]["approval_timeout"] = "soon"
    with pytest.raises(PolicyError, match=r"escalation.approval_timeout: expected a duration such as 30m"):
        parse_policy(yaml.safe_dump(doc), "p.yaml")


def test_duplicate_ids_across_files(tmp_path: Path, examples_dir: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text((examples_dir / "meeting_summaries.yaml").read_text())
    with pytest.raises(PolicyError, match="also defined in"):
        load_policies([tmp_path])


def test_gate_override_may_only_be_stricter(examples_dir: Path) -> None:
    doc = _doc(examples_dir, "product_claims.yaml")
    doc["gates"] = {"min_reviewers": 1}
    with pytest.raises(PolicyError, match="tier 3 requires at least 2"):
        parse_policy(yaml.safe_dump(doc))
    doc["gates"] = {"human_approval": False}
    with pytest.raises(PolicyError, match="may not turn it off"):
        parse_policy(yaml.safe_dump(doc))
    doc["gates"] = {"review_cadence_days": 60}
    with pytest.raises(PolicyError, match="at least every 30 days"):
        parse_policy(yaml.safe_dump(doc))
    doc["gates"] = {"min_reviewers": 3, "review_cadence_days": 14}
    gates = parse_policy(yaml.safe_dump(doc)).effective_gates
    assert (gates.min_reviewers, gates.review_cadence_days) == (3, 14)
    doc["gates"] = {"human_approval": "no"}  # YAML strings are coerced before the floor check
    with pytest.raises(PolicyError, match="may not turn it off"):
        parse_policy(yaml.safe_dump(doc))
    doc["gates"] = {"bogus": True}
    with pytest.raises(PolicyError, match="unknown gate"):
        parse_policy(yaml.safe_dump(doc))


def test_owner_cannot_review(examples_dir: Path) -> None:
    doc = _doc(examples_dir)
    doc["reviewers"].append({"id": "oscar"})
    with pytest.raises(PolicyError, match="cannot also be a reviewer"):
        parse_policy(yaml.safe_dump(doc))


def test_proposed_without_six_things_is_valid_but_not_ready_to_approve() -> None:
    doc = {
        "id": "idea",
        "title": "An idea",
        "description": "Something we might automate",
        "tier": 1,
        "selection": {"recurrence": 3, "measurability": 3, "decision_impact": 3},
    }
    policy = parse_policy(yaml.safe_dump(doc))
    assert build_checklist(policy).passed  # proposed: nothing required yet
    checklist = build_checklist(policy, LifecycleState.APPROVED)
    assert not checklist.passed
    assert {i.key for i in checklist.failures} >= {
        "owner",
        "reviewers",
        "data_boundary",
        "approved_inputs",
        "output_standard",
        "escalation",
        "infrastructure",
    }


def test_public_with_personal_data_needs_reviewed_justification(examples_dir: Path) -> None:
    doc = _doc(examples_dir)
    doc["infrastructure"]["choice"] = "public"
    policy = parse_policy(yaml.safe_dump(doc))
    item = next(i for i in build_checklist(policy).items if i.key == "infrastructure")
    assert not item.passed and "public_justification" in item.detail
    doc["infrastructure"]["public_justification"] = {
        "text": "Vendor contract with a DPA and EU data residency",
        "reviewed_by": "oscar",
        "reviewed_on": "2026-10-01",
    }
    item = next(
        i for i in build_checklist(parse_policy(yaml.safe_dump(doc))).items if i.key == "infrastructure"
    )
    assert not item.passed and "other than the owner" in item.detail
    doc["infrastructure"]["public_justification"]["reviewed_by"] = "dpo"
    item = next(
        i for i in build_checklist(parse_policy(yaml.safe_dump(doc))).items if i.key == "infrastructure"
    )
    assert item.passed


def test_boundary_wider_than_declared_sensitivity_fails(examples_dir: Path) -> None:
    doc = _doc(examples_dir)
    doc["data_boundary"]["allowed_data_classes"] = ["personal"]
    item = next(
        i for i in build_checklist(parse_policy(yaml.safe_dump(doc))).items if i.key == "infrastructure"
    )
    assert not item.passed and "admits personal data" in item.detail


def test_production_checklist_needs_monitoring_and_reachable_escalation(examples_dir: Path) -> None:
    doc = _doc(examples_dir)
    doc["monitoring"] = {"logging": False}
    doc["escalation"]["contacts"][1]["address"] = "not a channel"
    checklist = build_checklist(parse_policy(yaml.safe_dump(doc)), "production")
    assert {i.key for i in checklist.failures} == {"logging", "monitoring", "escalation_reachable"}
    assert build_checklist(parse_policy(yaml.safe_dump(doc)), "pilot").passed


def test_tier1_drift_monitor_is_only_recommended(examples_dir: Path) -> None:
    doc = _doc(examples_dir, "meeting_summaries.yaml")
    doc["monitoring"] = {"logging": True}
    checklist = build_checklist(parse_policy(yaml.safe_dump(doc)), "production")
    item = next(i for i in checklist.items if i.key == "monitoring")
    assert not item.passed and not item.required and checklist.passed


@pytest.mark.parametrize(
    ("r", "m", "d", "expected"),
    [
        (5, 5, 5, Recommendation.STRONG),
        (4, 4, 3, Recommendation.CANDIDATE),
        (5, 2, 5, Recommendation.WEAK),
        (5, 5, 1, Recommendation.REJECT),
        (2, 2, 2, Recommendation.WEAK),
    ],
)
def test_score(r: int, m: int, d: int, expected: Recommendation) -> None:
    result = score(Selection(recurrence=r, measurability=m, decision_impact=d))
    assert result.recommendation is expected
    assert 0 <= result.value <= 100


def test_score_extremes() -> None:
    assert score(Selection(recurrence=5, measurability=5, decision_impact=5)).value == 100
    assert score(Selection(recurrence=1, measurability=1, decision_impact=1)).value == 0


def test_lifecycle_transitions() -> None:
    check_transition("x", "proposed", "approved")
    check_transition("x", "production", "suspended")
    check_transition("x", "suspended", "production")
    with pytest.raises(LifecycleError, match="cannot move from proposed to production"):
        check_transition("x", "proposed", "production")
    with pytest.raises(LifecycleError, match="retirement is final"):
        check_transition("x", "retired", "production")


def test_content_hash_is_stable_and_sensitive(examples_dir: Path) -> None:
    a = load_policy(examples_dir / "invoice_triage.yaml").policy
    doc = _doc(examples_dir)
    assert parse_policy(yaml.safe_dump(doc)).content_hash == a.content_hash
    doc["title"] = "Invoice triage v2"
    assert parse_policy(yaml.safe_dump(doc)).content_hash != a.content_hash


def test_whole_policy_rules_name_the_field_and_line(examples_dir: Path) -> None:
    text = (examples_dir / "invoice_triage.yaml").read_text()
    text = text.replace("reviewers:\n", "reviewers:\n  - {id: oscar}\n", 1)
    text += "gates:\n  min_reviewers: 0\n  review_cadence_days: 365\n"
    lines = text.splitlines()
    reviewers_line, gates_line = lines.index("reviewers:") + 1, lines.index("gates:") + 1
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "triage.yaml")
    where = dict(caught.value.problems)
    # the owner rule fails only once the gate rules pass: check the gate rules first
    assert where[f"triage.yaml:{gates_line + 1}: gates.min_reviewers"] == "tier 2 requires at least 1, not 0"
    assert where[f"triage.yaml:{gates_line + 2}: gates.review_cadence_days"].startswith(
        "tier 2 reviews at least"
    )
    text = text.rsplit("gates:\n", 1)[0]
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "triage.yaml")
    assert caught.value.problems == [
        (
            f"triage.yaml:{reviewers_line + 1}: reviewers[0]",
            "the owner 'oscar' cannot also be a reviewer (no self-approval; 'oscar' is the same identity)",
        )
    ]
