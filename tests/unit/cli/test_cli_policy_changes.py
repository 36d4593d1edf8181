"""A policy change that loosens control of a live use case waits for a second person (issue 8, item 4).

Before the fix ``policy sync`` of the production tier-3 ``product-claims`` edited to ``tier: 1``
stored version 2 in force at once: the approval gate disappeared at the next run, decided by
whatever ``--by`` said. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
from pathlib import Path
from typing import Any

import pytest
from cli_support import Aigov, events, example_doc, show, write_policy

from airflow_ai_governance.exceptions import ChangeApprovalRefused, LifecycleError
from airflow_ai_governance.policy.identity import Actor
from airflow_ai_governance.store import session_scope
from airflow_ai_governance.store.registry import approve_change, current_policy, pending_change

CLAIMS = "product-claims"


@pytest.fixture
def live(aigov: Aigov, examples_dir: Path) -> Aigov:
    """The examples registered by sam; product-claims promoted to production by gina."""
    assert aigov("policy", "sync", examples_dir, "--by", "sam").code == 0
    for state in ("approved", "pilot", "production"):
        result = aigov("promote", CLAIMS, "--to", state, "--by", "gina", "--reason", "go-live review")
        assert result.code == 0, result.err
    return aigov


def _edit(tmp_path: Path, examples_dir: Path, name: str = "v") -> tuple[dict[str, Any], Path]:
    doc = example_doc(examples_dir, "product_claims.yaml")
    return doc, tmp_path / name / "product_claims.yaml"


def _sync(aigov: Aigov, path: Path, doc: dict[str, Any], by: str = "sam") -> Any:
    write_policy(path, doc)
    result = aigov("policy", "sync", path, "--by", by)
    assert result.code == 0, result.err
    return result


def _downgrade(aigov: Aigov, tmp_path: Path, examples_dir: Path) -> Any:
    """Sync product-claims edited to ``tier: 1`` (the issue's silent downgrade) as sam."""
    doc, path = _edit(tmp_path, examples_dir)
    doc["tier"] = 1
    return _sync(aigov, path, doc)


def _decide(aigov: Aigov, verb: str, version: int, by: str, reason: str = "x") -> Any:
    return aigov(
        "policy", f"{verb}-change", CLAIMS, "--version", str(version), "--by", by, "--reason", reason
    )


def _in_force(db_url: str) -> tuple[int, int]:
    """(current version, tier) of product-claims, as preflight and the cluster policy read them."""
    with session_scope(db_url, readonly=True) as session:
        row, policy = current_policy(session, CLAIMS)
        return row.current_version, int(policy.tier)


def _types(aigov: Aigov) -> list[str]:
    return [e["event_type"] for e in events(aigov) if e["use_case_id"] == CLAIMS]


# ------------------------------------------------------------------------------ the downgrade
def test_silent_downgrade_waits_and_the_old_version_stays_in_force(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    result = _downgrade(live, tmp_path, examples_dir)
    assert "pending     product-claims -> version 2 loosens control; version 1 stays in force" in result.out
    assert "- tier 3 -> 1" in result.out
    assert "- gate human_approval turned off" in result.out
    assert "aigov policy approve-change product-claims --version 2" in result.out
    assert _in_force(db_url) == (1, 3)  # the approval gate is still required
    shown = show(live, CLAIMS)
    assert (shown["version"], shown["gates"]["human_approval"]) == (1, True)
    assert [c["version"] for c in shown["pending_changes"]] == [2]
    assert _types(live)[-1] == "policy_change_requested"
    assert "policy_versioned" not in _types(live)

    listed = live("policy", "changes", "--json")
    ((change,),) = [json.loads(listed.out)]
    assert (change["use_case"], change["version"], change["base_version"], change["status"]) == (
        CLAIMS,
        2,
        1,
        "pending",
    )
    assert change["requested_by"] == "sam"
    assert change["requested_identity"]["os_user"] == pwd.getpwuid(os.getuid()).pw_name
    assert change["requested_identity"]["uid"] == os.getuid()
    assert "tier 3 -> 1" in live("policy", "changes", CLAIMS).out
    assert live("policy", "changes", "invoice-triage").out.strip() == "no pending policy changes"

    again = _downgrade(live, tmp_path, examples_dir)  # the same file again: still pending, nothing new
    assert "pending     product-claims -> version 2" in again.out
    assert len(json.loads(live("policy", "changes", "--json").out)) == 1


@pytest.mark.parametrize(
    ("by", "refusal"),
    [
        ("paula", "is the owner 'paula'"),  # the owner
        ("Paula", "is the owner 'paula'"),  # the owner, spelt otherwise
        ("sam", "'sam' made the change"),  # the author
        ("SAM", "'SAM' made the change"),
        ("gina", "the change was made from the same OS account"),  # someone else, same OS account
    ],
)
def test_owner_author_and_same_account_cannot_approve(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path, by: str, refusal: str
) -> None:
    _downgrade(live, tmp_path, examples_dir)
    result = _decide(live, "approve", 2, by, "fine")
    assert result.code == 1
    assert refusal in result.err
    assert _in_force(db_url) == (1, 3)
    (refused,) = [e for e in events(live) if e["event_type"] == "policy_change_approval_refused"]
    assert refused["actor"] == by and refusal in refused["payload"]["reason"]
    assert refused["payload"]["identity"]["os_user"] == pwd.getpwuid(os.getuid()).pw_name
    assert json.loads(live("policy", "changes", "--json").out)[0]["status"] == "pending"


def test_a_second_person_approves_and_the_version_comes_into_force(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    _downgrade(live, tmp_path, examples_dir)
    lena = Actor("lena", "lena", 2001, "laptop-lena", None)
    with session_scope(db_url) as session:  # the registry API with lena's identity (her own account)
        approve_change(session, CLAIMS, 2, lena, "tier 1 agreed with legal: internal drafts only")
    assert _in_force(db_url) == (2, 1)
    assert _types(live)[-2:] == ["policy_change_approved", "policy_versioned"]
    versioned = [e for e in events(live) if e["event_type"] == "policy_versioned"][-1]
    assert versioned["payload"]["version"] == 2 and versioned["payload"]["approved_by"] == "lena"
    assert versioned["payload"]["identity"]["host"] == "laptop-lena"
    (change,) = json.loads(live("policy", "changes", "--all", "--json").out)
    assert (change["status"], change["decided_by"]) == ("approved", "lena")
    assert live("audit", "verify").code == 0
    again = _decide(live, "approve", 2, "eric", "x")
    assert again.code == 1 and "already approved" in again.err


def test_registry_refuses_the_owner_and_author_by_any_identity(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    doc, path = _edit(tmp_path, examples_dir)
    doc["owner"] = {"id": "mallory"}  # the owner changed: the old and the new owner are both refused
    _sync(live, path, doc)
    for actor in (
        Actor("mallory", "x", 1, "h"),
        Actor("lena", "paula", 1, "h"),  # the old owner's OS account
        Actor("lena", "y", 1, "h", "Mallory"),  # the new owner's verified Airflow user
        Actor(
            "lena", pwd.getpwuid(os.getuid()).pw_name, os.getuid(), socket.gethostname()
        ),  # author's account
    ):
        with pytest.raises(ChangeApprovalRefused), session_scope(db_url) as session:
            approve_change(session, CLAIMS, 2, actor, "ok")
    assert _in_force(db_url)[0] == 1


def test_reject_keeps_the_version_in_force(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    doc, path = _edit(tmp_path, examples_dir)
    doc["data_boundary"]["default_action"] = "record"
    _sync(live, path, doc)
    result = _decide(live, "reject", 2, "sam", "oops")
    assert result.code == 0, result.err
    assert "version 1 stays in force" in result.out
    assert _in_force(db_url) == (1, 3)
    assert _types(live)[-1] == "policy_change_rejected"
    late = _decide(live, "approve", 2, "eric", "x")
    assert late.code == 1 and "already rejected" in late.err
    unknown = _decide(live, "approve", 7, "eric", "x")
    assert unknown.code == 1 and "no policy change for version 7" in unknown.err


def test_tightening_takes_effect_at_once(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    doc, path = _edit(tmp_path, examples_dir)
    doc["data_boundary"]["entities"]["IP_ADDRESS"] = "block"
    doc["escalation"]["approval_timeout"] = "24h"
    doc["title"] = "Public product performance claims (stricter)"
    result = _sync(live, path, doc)
    assert result.out.startswith("versioned   product-claims -> version 2")
    assert _in_force(db_url) == (2, 3)
    assert json.loads(live("policy", "changes", "--json").out) == []


def test_a_newer_sync_supersedes_and_a_revert_withdraws(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    doc, path = _edit(tmp_path, examples_dir)
    doc["tier"] = 2
    _sync(live, path, doc)
    doc["tier"] = 1
    result = _sync(live, path, doc)
    assert "superseded  product-claims: the pending change to version 2 is withdrawn" in result.out
    assert "pending     product-claims -> version 3" in result.out
    stale = _decide(live, "approve", 2, "eric", "x")
    assert stale.code == 1 and "already superseded" in stale.err
    reverted = live("policy", "sync", examples_dir / "product_claims.yaml", "--by", "sam")
    assert "superseded  product-claims: the pending change to version 3 is withdrawn" in reverted.out
    assert "unchanged   product-claims" in reverted.out
    assert json.loads(live("policy", "changes", "--json").out) == []
    assert _in_force(db_url) == (1, 3)


def test_demoting_does_not_skip_the_second_person(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    """pilot -> approved -> loosen -> pilot would otherwise walk around the control."""
    assert live("promote", "invoice-triage", "--to", "approved", "--by", "gina", "--reason", "x").code == 0
    assert live("promote", "invoice-triage", "--to", "pilot", "--by", "gina", "--reason", "x").code == 0
    assert live("promote", "invoice-triage", "--to", "approved", "--by", "gina", "--reason", "back").code == 0
    doc = example_doc(examples_dir, "invoice_triage.yaml")
    doc["reviewers"].append({"id": "mallory"})
    result = _sync(live, write_policy(tmp_path / "t" / "invoice_triage.yaml", doc), doc)
    assert "pending     invoice-triage -> version 2" in result.out
    assert "reviewers added: mallory" in result.out


def test_never_live_use_cases_change_at_once(
    aigov: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    assert aigov("policy", "sync", examples_dir, "--by", "sam").code == 0
    assert aigov("promote", CLAIMS, "--to", "approved", "--by", "gina", "--reason", "x").code == 0
    doc, path = _edit(tmp_path, examples_dir)
    doc["tier"] = 2
    result = _sync(aigov, path, doc)
    assert result.out.startswith("versioned   product-claims -> version 2")


def test_retiring_withdraws_a_pending_change(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path
) -> None:
    _downgrade(live, tmp_path, examples_dir)
    assert live("retire", CLAIMS, "--by", "gina", "--reason", "replaced").code == 0
    with session_scope(db_url, readonly=True) as session:
        assert pending_change(session, CLAIMS) is None
    late = _decide(live, "approve", 2, "eric", "x")
    assert late.code == 1 and "already superseded" in late.err
    with pytest.raises(LifecycleError), session_scope(db_url) as session:
        approve_change(session, CLAIMS, 2, Actor("eric", "eric", 5, "h"), "x")


def test_the_os_identity_is_the_real_uid_not_the_environment(
    live: Aigov, tmp_path: Path, examples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("USER", "LOGNAME", "USERNAME", "LNAME"):
        monkeypatch.setenv(name, "mallory")
    _downgrade(live, tmp_path, examples_dir)
    (change,) = json.loads(live("policy", "changes", "--json").out)
    assert change["requested_identity"]["os_user"] == pwd.getpwuid(os.getuid()).pw_name != "mallory"


def test_an_airflow_token_that_cannot_be_checked_is_refused(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, path = _edit(tmp_path, examples_dir)
    doc["tier"] = 1
    write_policy(path, doc)
    monkeypatch.setenv("AIGOV_AIRFLOW_TOKEN", "not-a-token")
    monkeypatch.delenv("AIGOV_AIRFLOW_URL", raising=False)
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    result = live("policy", "sync", path, "--by", "sam")
    assert result.code == 2 and "AIGOV_AIRFLOW_URL is not" in result.err
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AIGOV_AIRFLOW_URL", f"http://127.0.0.1:{port}")
    result = live("policy", "sync", path, "--by", "sam")
    assert result.code == 2 and "cannot check AIGOV_AIRFLOW_TOKEN" in result.err
    monkeypatch.setenv("AIGOV_AIRFLOW_URL", "file:///etc/passwd")
    assert live("promote", CLAIMS, "--to", "suspended", "--by", "gina", "--reason", "x").code == 2
    assert _in_force(db_url) == (1, 3)
    assert json.loads(live("policy", "changes", "--json").out) == []


def test_a_deployment_can_require_approvers_to_prove_their_airflow_identity(
    live: Aigov, db_url: str, tmp_path: Path, examples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _downgrade(live, tmp_path, examples_dir)
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__REQUIRE_VERIFIED_APPROVER", "true")
    result = _decide(live, "approve", 2, "lena", "ok")
    assert result.code == 2 and "prove their Airflow identity" in result.err
    assert _in_force(db_url) == (1, 3)


def test_a_version_stored_under_older_rules_fails_closed_with_a_clear_error(live: Aigov, db_url: str) -> None:
    """A registry written before path patterns were checked may hold ``*/...``: reading that
    version refuses it by name instead of matching it loosely."""
    from airflow_ai_governance.exceptions import PolicyError
    from airflow_ai_governance.store import PolicyVersion
    from airflow_ai_governance.store.registry import policy_version

    with session_scope(db_url) as session:
        _, policy = current_policy(session, CLAIMS)
        document = policy.document()
        document["approved_inputs"][2] = {"path": "*/example_data/benchmarks/*.csv"}
        session.add(
            PolicyVersion(
                use_case_id=CLAIMS, version=9, content_hash="0" * 64, document=document, created_by="old"
            )
        )
    refused = r"policy version 9 of use case 'product-claims' does not pass"
    with pytest.raises(PolicyError, match=refused), session_scope(db_url, readonly=True) as session:
        policy_version(session, CLAIMS, 9)
