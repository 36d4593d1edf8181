"""The governance app's routes and read models on a real SQLite sidecar, without Airflow's app.

The request's user is given directly here (a governance user and a user who reads one DAG);
authentication and authorisation through Airflow's auth manager are tested in
``tests/integration/test_ui_api.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from airflow_ai_governance.plugins.access import ACCESS, Viewer

GOVERNANCE = Viewer("gina", "gina", ("OP",), governance=True, dag_ids=None)
READER = Viewer("rita", "rita", ("USER",), governance=False, dag_ids=frozenset({"meeting_summaries"}))


def _as(viewer: Viewer) -> Callable[[], Viewer]:
    return lambda: viewer


@pytest.fixture
def sidecar(sqlite_url: str, examples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from airflow_ai_governance.policy import load_policies
    from airflow_ai_governance.store import session_scope, start_run
    from airflow_ai_governance.store.registry import sync_policies, transition

    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", sqlite_url)
    with session_scope(sqlite_url) as session:
        sync_policies(session, load_policies([examples_dir]), actor="sam")
    with session_scope(sqlite_url) as session:
        transition(session, "invoice-triage", "approved", actor="gina", reason="selection review")
    start_run(
        sqlite_url,
        use_case_id="meeting-summaries",
        policy_version=1,
        dag_id="meeting_summaries",
        run_id="r1",
        task_id="summarize",
    )
    ACCESS.clear()
    return sqlite_url


def client(viewer: Viewer) -> TestClient:
    from airflow_ai_governance.plugins.api import create_app

    return TestClient(create_app(_as(viewer)))


def test_use_cases_list_paginates_and_filters(sidecar: str) -> None:
    c = client(GOVERNANCE)
    page = c.get("/api/v1/use-cases", params={"limit": 2}).json()
    assert [u["id"] for u in page["items"]] == ["invoice-triage", "meeting-summaries"]
    assert page["next"] == "meeting-summaries" and page["total"] == 3
    rest = c.get("/api/v1/use-cases", params={"limit": 2, "after": page["next"]}).json()
    assert [u["id"] for u in rest["items"]] == ["product-claims"] and rest["next"] is None
    approved = c.get("/api/v1/use-cases", params={"state": "approved"}).json()
    assert [u["id"] for u in approved["items"]] == ["invoice-triage"]


def test_a_reader_sees_only_the_use_cases_of_the_dags_they_read(sidecar: str) -> None:
    c = client(READER)
    assert [u["id"] for u in c.get("/api/v1/use-cases").json()["items"]] == ["meeting-summaries"]
    assert c.get("/api/v1/use-cases/product-claims").status_code == 403
    assert {e["use_case_id"] for e in c.get("/api/v1/audit").json()["items"]} == {"meeting-summaries"}


def test_use_case_detail_and_404(sidecar: str) -> None:
    c = client(GOVERNANCE)
    detail = c.get("/api/v1/use-cases/product-claims").json()
    assert detail["tier"] == 3 and detail["gates"]["min_reviewers"] == 2
    assert detail["policy"]["owner"]["id"] == "paula"
    assert [t["to_state"] for t in detail["transitions"]] == ["proposed"]
    assert [(a["action"], a["to"]) for a in detail["actions"]] == [
        ("promote", "approved"),
        ("retire", "retired"),
    ]
    missing = c.get("/api/v1/use-cases/nope")
    assert missing.status_code == 404 and "Unknown use case 'nope'" in missing.json()["detail"]


def test_audit_keyset_pagination_and_verify(sidecar: str) -> None:
    c = client(GOVERNANCE)
    first = c.get("/api/v1/audit", params={"limit": 2}).json()
    assert [e["seq"] for e in first["items"]] == [1, 2] and first["next_after_seq"] == 2
    rest = c.get("/api/v1/audit", params={"after_seq": 2, "limit": 100}).json()
    assert [e["seq"] for e in rest["items"]] == [3, 4, 5] and rest["next_after_seq"] is None
    assert rest["items"][-1]["event_type"] == "run_started"
    verify = c.get("/api/v1/audit/verify").json()
    assert (verify["ok"], verify["checked"], verify["head_seq"]) == (True, 5, 5)


def test_verify_badge_reports_a_tampered_registry_and_a_missing_key(
    sidecar: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 8 item 5: the chain badge fails when the registry differs from the chain (fails
    before the fix: the registry was not compared) and when no audit key is configured."""
    import sqlite3

    from airflow_ai_governance.plugins import api
    from airflow_ai_governance.store.audit import forget_audit_key
    from airflow_ai_governance.store.engine import sqlite_path

    database = sqlite3.connect(sqlite_path(sidecar))
    database.execute("UPDATE use_case SET state = 'production' WHERE id = 'invoice-triage'")
    database.commit()
    database.close()
    monkeypatch.setattr(api, "VERIFY", api._VerifyCache())
    verify = client(GOVERNANCE).get("/api/v1/audit/verify").json()
    assert (verify["ok"], verify["first_bad_seq"]) == (False, None)
    assert "registry state is 'production' but the audit chain gives 'approved'" in verify["reason"]
    assert client(GOVERNANCE).get("/api/v1/use-cases/invoice-triage").status_code == 409

    monkeypatch.delenv("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY")
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__KEY_FILE", str(tmp_path / "none.json"))
    forget_audit_key()
    monkeypatch.setattr(api, "VERIFY", api._VerifyCache())
    verify = client(GOVERNANCE).get("/api/v1/audit/verify").json()
    assert verify["ok"] is False and "no audit key is configured" in verify["reason"]


def test_unreachable_sidecar_is_503_with_what_to_do(sidecar: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", "postgresql+psycopg://postgres@127.0.0.1:1/x"
    )
    c = client(GOVERNANCE)
    response = c.get("/api/v1/use-cases")
    assert response.status_code == 503 and "unreachable" in response.json()["detail"]
    page = c.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and "Governance store unavailable" in page.text
    assert "sql_alchemy_conn" in page.text


def test_pages_render_with_empty_states(sidecar: str) -> None:
    c = client(GOVERNANCE)
    html = c.get("/", headers={"Accept": "text/html"}).text
    assert 'id="registry"' in html and "product-claims" in html
    inbox = c.get("/approvals", headers={"Accept": "text/html"}).text
    assert 'data-empty="approvals"' in inbox and "Nothing waits for a decision" in inbox
    nothing = c.get("/", params={"q": "zzz"}, headers={"Accept": "text/html"}).text
    assert "No use case matches these filters" in nothing
    bad = c.get("/audit", params={"since": "yesterday"}, headers={"Accept": "text/html"})
    assert bad.status_code == 422 and "Bad request parameters" in bad.text and "since" in bad.text


def test_output_pages_follow_the_declared_columns() -> None:
    from airflow_ai_governance.plugins.queries import paginate_output

    rows = [{"b": i, "a": i * 2, "extra": "x"} for i in range(7)]
    page = paginate_output(rows, page=2, page_size=3, columns_first=["a", "b", "missing"])
    assert page.columns == ["a", "b", "extra"]
    assert page.rows == [[6, 3, "x"], [8, 4, "x"], [10, 5, "x"]]
    assert (page.total_rows, page.pages, page.page) == (7, 3, 2)
    assert paginate_output(rows, page=99, page_size=3).page == 3  # past the end: the last page
    obj = paginate_output({"verdict": "ok", "n": 2}, page=1, page_size=50)
    assert (obj.kind, obj.rows) == ("object", [["verdict", "ok"], ["n", 2]])
    assert paginate_output("plain text", page=1, page_size=50).rows == [["plain text"]]
    assert paginate_output([1, 2], page=1, page_size=50).rows == [[1], [2]]


def test_an_output_cannot_inject_markup_into_the_review_page(sidecar: str) -> None:
    """The reviewer's page shows what the AI wrote as text: markup in an output is escaped."""
    import uuid

    from airflow_ai_governance.store import ApprovalRequest, session_scope

    hostile = [{"claim": '<script>alert("x")</script><img src=x onerror=alert(1)>', "claim_id": "CLM-1"}]
    with session_scope(sidecar) as session:
        session.add(
            ApprovalRequest(
                id=str(uuid.uuid4()),
                use_case_id="meeting-summaries",
                policy_version=1,
                dag_id="meeting_summaries",
                run_id="r1",
                task_id="approve",
                output_hash="0" * 64,
                output=hostile,
                approvals_needed=1,
                approvers=[],
            )
        )
    page = client(READER).get("/review/meeting_summaries/r1/approve/-1", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
