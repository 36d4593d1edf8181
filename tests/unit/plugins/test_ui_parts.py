"""Pieces of the UI that need no server: links, charts, roles, who is notified of what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_ai_governance.policy import load_policy


@pytest.fixture
def claims(examples_dir: Path):  # type: ignore[no-untyped-def]
    return load_policy(examples_dir / "product_claims.yaml").policy


def test_review_links(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_ai_governance.plugins import urls

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/prefix/")
    run = "manual__2026-11-30T09:00:00+00:00"
    assert urls.review_url("d", run, "g.approve", 3) == (
        "https://airflow.example.com/prefix/ai-governance/review/d/manual__2026-11-30T09%3A00%3A00%2B00%3A00/g.approve/3"
    )
    assert urls.required_actions_path("d", run, "t") == (
        "/dags/d/runs/manual__2026-11-30T09%3A00%3A00%2B00%3A00/tasks/t/required_actions?map_index=-1"
    )
    assert urls.task_instance_path("d", "r", "t", 2) == "/dags/d/runs/r/tasks/t/mapped/2"
    assert urls.in_airflow("/ai-governance/approvals") == "/plugin/governance/ai-governance/approvals"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "not a url")
    assert urls.review_url("d", "r", "t").startswith("http://localhost:8080/ai-governance/review/")


def test_charts_draw_every_point_with_its_figure() -> None:
    from airflow_ai_governance.plugins import charts

    bars = charts.stacked_bars(
        "Gate outcomes", ["2026-11-01", "2026-11-02"], {"pass": [3, 0], "fail": [1, 2]}
    )
    assert bars.count('<rect class="series-') == 3 + 2  # three bars (one empty) plus two legend keys
    assert "2026-11-02: fail 2" in bars and "<script" not in bars
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    line = charts.time_series(
        "Drift <psi>", {"psi": [(t0, 0.1), (t0 + timedelta(days=1), 0.3)]}, threshold=0.2
    )
    assert "Drift &lt;psi&gt;" in line and 'class="threshold"' in line and "threshold 0.2" in line
    assert line.count("<circle") == 2 and "2026-11-02 00:00 UTC: 0.3" in line
    assert charts.stacked_bars("x", [], {}) == "" and charts.time_series("x", {}) == ""


def test_roles_from_any_auth_manager_user(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_ai_governance.plugins.access import user_roles, viewer_from_user

    simple = SimpleNamespace(role="OP", get_id=lambda: "gina", get_name=lambda: "gina")
    fab = SimpleNamespace(
        roles=[SimpleNamespace(name="AI Governance")], get_id=lambda: "7", get_name=lambda: "gina"
    )
    assert user_roles(simple) == ("OP",) and user_roles(fab) == ("AI Governance",)
    assert user_roles(SimpleNamespace()) is None

    class AuthManager:
        def get_authorized_dag_ids(self, *, user: object, method: str) -> set[str]:
            return {"a", "b"}

        def is_authorized_custom_view(self, *, method: str, resource_name: str, user: object) -> bool:
            return method == "PUT" and resource_name == "AI Governance"

    monkeypatch.delenv("AIRFLOW__AI_GOVERNANCE__GOVERNANCE_ROLES", raising=False)
    assert viewer_from_user(fab, AuthManager(), cookie_auth=False).governance  # default roles
    op = viewer_from_user(simple, AuthManager(), cookie_auth=True)
    assert not op.governance and op.dag_ids == frozenset({"a", "b"})
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__GOVERNANCE_ROLES", "Admin, op")
    assert viewer_from_user(simple, AuthManager(), cookie_auth=True).governance
    roleless = SimpleNamespace(get_id=lambda: "x", get_name=lambda: "x")
    assert viewer_from_user(roleless, AuthManager(), cookie_auth=False).governance  # asked the auth manager
    assert fab.get_name() == "gina" and viewer_from_user(fab, AuthManager(), cookie_auth=False).is_person(
        " GINA "
    )


def test_who_is_told_what(claims) -> None:  # type: ignore[no-untyped-def]
    from airflow_ai_governance.notifications import Recipient, recipients

    assert recipients("approval_requested", claims) == [
        Recipient("lena", "email", "lena@example.com"),
        Recipient("eric", "email", "eric@example.com"),
        Recipient("rachel", "email", "rachel@example.com"),
    ]
    assert recipients("approval_escalated", claims, level=2) == [
        Recipient("gina", "email", "gina@example.com")
    ]
    assert recipients("approval_escalated", claims, level=3) == []  # the path is exhausted
    assert recipients("run_failed", claims) == [
        Recipient("paula", "email", "paula@example.com"),
        Recipient("lena", "email", "lena@example.com"),
    ]


def test_run_outcomes_map_to_kinds() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_ai_governance.exceptions import ApprovalTimedOut, DataBoundaryViolation
    from airflow_ai_governance.notifications import run_outcome_kind

    def wrapped(exc: Exception) -> AirflowFailException:
        try:
            raise AirflowFailException(str(exc)) from exc
        except AirflowFailException as outer:
            return outer

    assert run_outcome_kind(wrapped(DataBoundaryViolation("blocked"))) == "run_blocked"
    assert run_outcome_kind(wrapped(ApprovalTimedOut("nobody"))) == "run_rejected"
    assert run_outcome_kind(RuntimeError("boom")) == "run_failed"
    assert run_outcome_kind("a string error") == "run_failed"
