"""The governance API app (routes and data), on a real SQLite sidecar; Airflow auth is tested e2e."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(sqlite_url: str, examples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    from airflow_ai_governance.plugins.api import create_app
    from airflow_ai_governance.policy import load_policies
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import sync_policies, transition

    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", sqlite_url)
    with session_scope(sqlite_url) as session:
        sync_policies(session, load_policies([examples_dir]), actor="sam")
    with session_scope(sqlite_url) as session:
        transition(session, "invoice-triage", "approved", actor="gina", reason="selection review")
    return TestClient(create_app())


def test_use_cases_list_paginates_and_filters(client: TestClient) -> None:
    page = client.get("/api/v1/use-cases", params={"limit": 2}).json()
    assert [u["id"] for u in page["items"]] == ["invoice-triage", "meeting-summaries"]
    assert page["next"] == "meeting-summaries"
    rest = client.get("/api/v1/use-cases", params={"limit": 2, "after": page["next"]}).json()
    assert [u["id"] for u in rest["items"]] == ["product-claims"]
    assert rest["next"] is None
    approved = client.get("/api/v1/use-cases", params={"state": "approved"}).json()
    assert [u["id"] for u in approved["items"]] == ["invoice-triage"]


def test_use_case_detail_and_404(client: TestClient) -> None:
    detail = client.get("/api/v1/use-cases/product-claims").json()
    assert detail["tier"] == 3
    assert detail["gates"]["min_reviewers"] == 2
    assert detail["policy"]["owner"]["id"] == "paula"
    assert [t["to_state"] for t in detail["transitions"]] == ["proposed"]
    missing = client.get("/api/v1/use-cases/nope")
    assert missing.status_code == 404
    assert "Unknown use case 'nope'" in missing.json()["detail"]


def test_audit_keyset_pagination_and_verify(client: TestClient) -> None:
    first = client.get("/api/v1/audit", params={"limit": 2}).json()
    assert [e["seq"] for e in first["items"]] == [1, 2]
    nxt = client.get("/api/v1/audit", params={"after_seq": first["next_after_seq"], "limit": 100}).json()
    assert nxt["items"][0]["seq"] == 3
    assert nxt["items"][-1]["event_type"] == "lifecycle_transition"
    only = client.get("/api/v1/audit", params={"use_case": "invoice-triage"}).json()["items"]
    assert {e["use_case_id"] for e in only} == {"invoice-triage"}
    assert client.get("/api/v1/audit/verify").json() == {
        "ok": True,
        "checked": 4,
        "first_bad_seq": None,
        "reason": None,
    }


def test_openapi_is_published(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/use-cases/{use_case_id}" in paths
    assert "/api/v1/audit/verify" in paths


def test_unreachable_sidecar_is_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", "postgresql+psycopg://postgres@127.0.0.1:1/x"
    )
    response = client.get("/api/v1/use-cases")
    assert response.status_code == 503
    assert "unreachable" in response.json()["detail"]
