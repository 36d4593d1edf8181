"""The governance API and pages through Airflow's real app, auth manager and users, in process.

Airflow's ``create_app()`` with the plugin, SimpleAuthManager users with real roles and teams
(multi-team mode: a user reads the DAGs of their teams' bundles), the sidecar seeded on SQLite and
on PostgreSQL. Each authorisation rule is tested by the attack it stops.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers.setup import temporary_pg_database
from helpers.ui import FINDING_PATH, password, seed_airflow_teams, seed_governance, users_env

pytestmark = pytest.mark.integration

PREFIX = "/ai-governance"
API = f"{PREFIX}/api/v1"


@pytest.fixture(scope="module")
def airflow_app(airflow_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Airflow's API server app (with this plugin) on the test run's metadata DB, multi-team users."""
    patch = pytest.MonkeyPatch()
    for key, value in users_env(tmp_path_factory.mktemp("auth") / "passwords.json").items():
        patch.setenv(key, value)
    seed_airflow_teams()
    from airflow.api_fastapi.app import create_app

    with TestClient(create_app(), base_url="http://airflow.test") as client:
        yield client
    patch.undo()


def _use_sidecar(url: str, patch: pytest.MonkeyPatch) -> None:
    from airflow_ai_governance.plugins.access import ACCESS
    from airflow_ai_governance.plugins.api import VERIFY

    patch.setenv("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", url)
    ACCESS.clear()
    VERIFY.entry = None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded sidecar shared by the read-only tests of this module (SQLite, then PostgreSQL)."""
    from airflow_ai_governance.store import dispose_engines

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ui-sidecar') / 'sidecar.db'}"
        seed_governance(url)
        yield url
    else:
        with temporary_pg_database("aigov_ui") as url:
            seed_governance(url)
            yield url
            dispose_engines()


@pytest.fixture
def api(airflow_app: TestClient, seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    _use_sidecar(seeded_url, monkeypatch)
    return airflow_app


@pytest.fixture
def fresh(airflow_app: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A freshly seeded sidecar, for tests that take decisions (SQLite and PostgreSQL)."""
    seed_governance(db_url, output_rows=5)
    _use_sidecar(db_url, monkeypatch)
    return airflow_app


_TOKENS: dict[str, str] = {}


def auth(client: TestClient, user: str) -> dict[str, str]:
    if user not in _TOKENS:
        response = client.post("/auth/token", json={"username": user, "password": password(user)})
        assert response.status_code == 201, response.text
        _TOKENS[user] = response.json()["access_token"]
    return {"Authorization": f"Bearer {_TOKENS[user]}"}


def get(client: TestClient, user: str, path: str, **params: Any) -> Any:
    response = client.get(path, headers=auth(client, user), params=params)
    assert response.status_code == 200, f"{user} GET {path}: {response.status_code} {response.text[:500]}"
    return response.json()


OPEN = "product_claims/manual__2026-11-30T09:00:00+00:00/approve/-1"
READ_ROUTES = [
    f"{API}/me",
    f"{API}/use-cases",
    f"{API}/use-cases/product-claims",
    f"{API}/use-cases/product-claims/checklist",
    f"{API}/use-cases/product-claims/metrics",
    f"{API}/runs",
    f"{API}/approvals",
    f"{API}/approvals/{OPEN}",
    f"{API}/audit",
    f"{API}/audit/verify",
    f"{API}/audit/export",
    f"{PREFIX}/",
    f"{PREFIX}/use-cases/product-claims",
    f"{PREFIX}/approvals",
    f"{PREFIX}/review/{OPEN}",
    f"{PREFIX}/audit",
]


# --------------------------------------------------------------------------- who may see what
@pytest.mark.parametrize("path", READ_ROUTES)
def test_anonymous_gets_401_and_a_forged_token_403(api: TestClient, path: str) -> None:
    assert api.get(path).status_code == 401
    forged = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJBRE1JTiJ9.c2lnbmF0dXJl"
    assert api.get(path, headers={"Authorization": f"Bearer {forged}"}).status_code == 403


def test_anonymous_page_says_how_to_log_in(api: TestClient) -> None:
    page = api.get(f"{PREFIX}/approvals", headers={"Accept": "text/html"})
    assert page.status_code == 401
    assert "Not logged in" in page.text and "Log in to Airflow" in page.text


def test_viewer_without_access_sees_nothing_and_gets_403(api: TestClient) -> None:
    """viewer1 reads only the ops team's DAGs, none of which runs a use case."""
    assert get(api, "viewer1", f"{API}/use-cases") == {"items": [], "total": 0, "next": None}
    assert get(api, "viewer1", f"{API}/approvals")["items"] == []
    assert get(api, "viewer1", f"{API}/runs")["items"] == []
    assert get(api, "viewer1", f"{API}/audit")["items"] == []
    assert api.get(f"{API}/audit/export", headers=auth(api, "viewer1")).text == ""
    for path in (
        f"{API}/use-cases/product-claims",
        f"{API}/use-cases/product-claims/checklist",
        f"{API}/use-cases/product-claims/metrics",
        f"{API}/approvals/{OPEN}",
        f"{API}/audit?use_case=product-claims",
        f"{API}/runs?use_case=product-claims",
        f"{API}/approvals?use_case=product-claims",
        f"{API}/audit/export?use_case=product-claims",
        f"{PREFIX}/use-cases/product-claims",
        f"{PREFIX}/review/{OPEN}",
    ):
        response = api.get(path, headers=auth(api, "viewer1"))
        assert response.status_code == 403, path
    run_id = get(api, "admin", f"{API}/runs", use_case="product-claims")["items"][0]["id"]
    assert api.get(f"{API}/runs/{run_id}", headers=auth(api, "viewer1")).status_code == 403
    page = api.get(f"{PREFIX}/", headers={**auth(api, "viewer1"), "Accept": "text/html"})
    assert 'data-empty="registry"' in page.text and "No use case is visible to you" in page.text


def test_access_follows_the_dags_a_user_may_read(api: TestClient) -> None:
    ids = lambda user: {u["id"] for u in get(api, user, f"{API}/use-cases")["items"]}  # noqa: E731
    assert ids("admin") == ids("gina") == {"invoice-triage", "meeting-summaries", "product-claims"}
    assert ids("rachel") == {"invoice-triage", "product-claims"}  # marketing + finance
    assert ids("lena") == ids("paula") == {"product-claims"}
    assert ids("rita") == {"meeting-summaries"}
    events = get(api, "lena", f"{API}/audit", limit=1000)["items"]
    assert events and {e["use_case_id"] for e in events} == {
        "product-claims"
    }  # none of the others, none global
    assert api.get(f"{API}/use-cases/meeting-summaries", headers=auth(api, "lena")).status_code == 403
    assert [a["use_case_id"] for a in get(api, "rachel", f"{API}/approvals", status="all")["items"]] == [
        "product-claims",
        "invoice-triage",
    ]


# --------------------------------------------------------------------------- the review view (C1)
def test_review_shows_the_whole_output_findings_by_type_and_the_live_quorum(api: TestClient) -> None:
    review = get(api, "lena", f"{API}/approvals/{OPEN}", page=3, page_size=50)
    assert review["output"]["total_rows"] == 120 and review["output"]["pages"] == 3
    assert review["output"]["columns"] == ["claim_id", "claim", "benchmark_id"]  # as the standard declares
    assert [r[0] for r in review["output"]["rows"]][:2] == ["CLM-101", "CLM-102"]
    assert len(review["output"]["rows"]) == 20
    assert review["boundary"] == {
        "outcome": "redacted",
        "at": review["boundary"]["at"],
        "found": {"CREDIT_CARD": 1, "IP_ADDRESS": 3},
        "blocked_types": [],
    }
    assert review["output_standard"]["outcome"] == "pass" and review["output_standard"]["rows"] == 120
    assert [(d["reviewer"], d["choice"]) for d in review["decisions"]] == [("rachel", "approve")]
    assert "in our tests" in review["edits"][0]["diff"]
    kinds = [t["event_type"] for t in review["timeline"]]
    assert kinds == ["approval_recorded", "approval_refused", "escalation_opened"]
    q = review["request"]
    assert (q["approvers"], q["approvals_needed"], q["level"], q["status"]) == (["rachel"], 2, 1, "open")
    assert {(p["user"], p["answered"]) for p in review["responders"]} == {
        ("eric", False),
        ("lena", False),
        ("rachel", True),
    }
    assert review["not_allowed"] == ["paula: owns the use case and never approves its output"]
    assert q["may_answer"] is True  # lena is a reviewer who has not answered
    assert get(api, "rachel", f"{API}/approvals/{OPEN}")["request"]["may_answer"] is False  # answered
    assert get(api, "paula", f"{API}/approvals/{OPEN}")["request"]["may_answer"] is False  # the owner
    assert q["required_actions_url"] == (
        "/dags/product_claims/runs/manual__2026-11-30T09%3A00%3A00%2B00%3A00/tasks/approve/required_actions?map_index=-1"
    )
    assert FINDING_PATH not in json.dumps(review)  # where a finding was is not shown either


def test_review_page_renders_for_a_reviewer(api: TestClient) -> None:
    page = api.get(
        f"{PREFIX}/review/{OPEN}", headers={**auth(api, "lena"), "Accept": "text/html"}, params={"page": 2}
    )
    assert page.status_code == 200
    html = page.text
    assert "2 of 2</b>" not in html and "<b>1 of 2</b>" in html  # live approvals so far
    assert "CLM-051" in html and "CLM-100" in html and "CLM-101" not in html  # page 2 of the whole output
    assert "CREDIT_CARD" in html and FINDING_PATH not in html
    assert "Answer in Airflow (Required Actions)" in html and 'target="_top"' in html
    assert "paula: owns the use case and never approves its output" in html
    assert "You may answer this request." in html
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp and "default-src 'self'" in csp
    )  # nothing inline runs, nothing loads from elsewhere
    assert "<script>" not in html and " on" + "change=" not in html


def test_unknown_review_is_404_with_what_to_do(api: TestClient) -> None:
    response = api.get(f"{API}/approvals/nope/run/task/-1", headers=auth(api, "admin"))
    assert response.status_code == 404
    assert "has not asked yet" in response.json()["detail"]


# --------------------------------------------------------------------------- registry and use case
def test_registry_summaries(api: TestClient) -> None:
    page = get(api, "admin", f"{API}/use-cases")
    by_id = {u["id"]: u for u in page["items"]}
    assert page["total"] == 3
    it = by_id["invoice-triage"]
    assert {g["check"]: (g["passed"], g["total"]) for g in it["gate_pass_rates"]} == {"data_boundary": (1, 2)}
    assert by_id["meeting-summaries"]["drift_status"] == "drifted"
    assert by_id["meeting-summaries"]["drifted_features"] == ["summary_length"]
    assert by_id["meeting-summaries"]["review_overdue"] is True
    assert by_id["product-claims"]["next_review_due"] is not None  # go-live + 30 days
    assert by_id["product-claims"]["review_overdue"] is False
    assert get(api, "admin", f"{API}/use-cases", q="PAULA")["total"] == 1  # owner search, case-insensitive
    assert get(api, "admin", f"{API}/use-cases", q="%")["total"] == 0  # LIKE wildcards are literal
    assert get(api, "admin", f"{API}/use-cases", tier=3)["items"][0]["id"] == "product-claims"
    first = get(api, "admin", f"{API}/use-cases", limit=2)
    assert first["next"] == "meeting-summaries"
    assert [
        u["id"] for u in get(api, "admin", f"{API}/use-cases", limit=2, after=first["next"])["items"]
    ] == ["product-claims"]


def test_use_case_detail_has_what_the_page_needs(api: TestClient) -> None:
    uc = get(api, "rachel", f"{API}/use-cases/product-claims")
    assert uc["policy"]["owner"]["id"] == "paula" and uc["gates"]["min_reviewers"] == 2
    assert uc["score"]["recommendation"] and uc["checklist"]["target"] == "production"
    assert [t["to_state"] for t in uc["transitions"]] == ["proposed", "approved", "pilot", "production"]
    assert uc["versions"][0]["current"] is True and uc["versions"][0]["diff"] is None
    assert {r["task_id"] for r in uc["runs"]} == {
        "data_boundary",
        "draft_claims",
        "output_standard",
        "approve",
    }
    assert uc["escalations"][0]["contact"] == "lena"
    assert all(not a["allowed"] and "no governance role" in a["why_not"] for a in uc["actions"])
    actions = {
        (a["action"], a["to"]): a for a in get(api, "gina", f"{API}/use-cases/product-claims")["actions"]
    }
    assert set(actions) == {("suspend", "suspended"), ("retire", "retired")} and all(
        a["allowed"] for a in actions.values()
    )
    metrics = get(api, "admin", f"{API}/use-cases/meeting-summaries/metrics", days=7)
    assert [p["value"] for p in metrics["drift_series"]] == [0.05, 0.08, 0.12, 0.31]
    page = api.get(
        f"{PREFIX}/use-cases/meeting-summaries", headers={**auth(api, "rita"), "Accept": "text/html"}
    )
    assert page.status_code == 200
    assert 'class="chart"' in page.text and "Drift of summary_length (psi)" in page.text
    assert "threshold 0.2" in page.text


# --------------------------------------------------------------------------- audit
def test_audit_filters_and_export(api: TestClient) -> None:
    events = get(api, "admin", f"{API}/audit", event_type="lifecycle_transition", limit=1000)["items"]
    assert len(events) == 9 and {e["actor"] for e in events} == {"gina"}
    refused = get(api, "admin", f"{API}/audit", actor="paula")["items"]
    assert [e["event_type"] for e in refused] == ["approval_refused"]
    page = get(api, "admin", f"{API}/audit", limit=5)
    assert len(page["items"]) == 5 and page["next_after_seq"] == page["items"][-1]["seq"]
    verify = get(api, "admin", f"{API}/audit/verify")
    assert verify["ok"] is True and verify["checked"] == verify["head_seq"] > 40
    assert get(api, "admin", f"{API}/audit/verify")["cached"] is True
    lines = api.get(f"{API}/audit/export", headers=auth(api, "lena")).text.splitlines()
    assert lines and {json.loads(line)["use_case_id"] for line in lines} == {"product-claims"}
    exported = api.get(
        f"{API}/audit/export",
        params={"format": "csv", "use_case": "invoice-triage"},
        headers=auth(api, "admin"),
    )
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["use_case_id"] for r in rows} == {"invoice-triage"}
    assert json.loads(rows[0]["payload"])  # the canonical JSON that was hashed


# --------------------------------------------------------------------------- bad parameters
BAD_QUERIES = [
    ("/audit", {"since": "2026-01-01T00:00:00"}),  # no timezone (#8.11)
    ("/audit", {"until": "2026-01-01"}),
    ("/audit", {"after_seq": "1e23"}),  # (#8.11)
    ("/audit", {"after_seq": str(10**23)}),
    ("/audit", {"after_seq": "-1"}),
    ("/audit", {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
    ("/audit", {"use_case": "a\x00b"}),
    ("/audit", {"event_type": "x" * 65}),
    ("/audit", {"limit": "0"}),
    ("/audit", {"limit": "1000000"}),
    ("/use-cases", {"state": "nope"}),
    ("/use-cases", {"tier": "4"}),
    ("/use-cases", {"after": "\x00"}),
    ("/use-cases", {"q": "x" * 129}),
    ("/runs", {"before": "yesterday"}),
    ("/runs", {"before": "2026-01-01T00:00:00"}),
    ("/runs", {"dag_id": "d\x00"}),
    ("/approvals", {"status": "pending"}),
    ("/approvals", {"offset": str(2**40)}),
    ("/approvals/d/r/t/99999999999", {}),
    ("/approvals/d/r/t/-2", {}),
    ("/approvals/d/r/t/x", {}),
    (f"/approvals/{OPEN}", {"page": "0"}),
    (f"/approvals/{OPEN}", {"page_size": "100000"}),
    ("/use-cases/product-claims/metrics", {"days": "99999"}),
    ("/use-cases/product-claims/checklist", {"to": "heaven"}),
    ("/audit/export", {"format": "xml"}),
    ("/audit/export", {"since": "2026-01-01T00:00:00"}),
]


@pytest.mark.parametrize(("path", "params"), BAD_QUERIES, ids=[f"{p}?{sorted(q)}" for p, q in BAD_QUERIES])
def test_bad_parameters_are_422_never_500(api: TestClient, path: str, params: dict[str, str]) -> None:
    response = api.get(f"{API}{path}", params=params, headers=auth(api, "admin"))
    assert response.status_code == 422, response.text[:500]
    assert "\x00" not in response.text  # the offending input is not echoed back


def test_every_documented_parameter_survives_hostile_values(api: TestClient) -> None:
    """Each query parameter of each GET route in the OpenAPI document, with hostile values: 4xx, never 5xx."""
    spec = get(api, "admin", f"{PREFIX}/openapi.json")
    hostile = ["\x00", "x" * 5000, str(2**64), "-1", "1e23", "2026-13-45", "' OR 1=1 --", "%", "[]", "NaN"]
    checked = 0
    for path, item in spec["paths"].items():
        if "get" not in item:
            continue
        concrete = path.format(
            use_case_id="product-claims",
            dag_id="product_claims",
            run_id="r",
            task_id="approve",
            map_index=-1,
            governed_run_id="x",
        )
        for param in item["get"].get("parameters", []):
            if param["in"] != "query":
                continue
            for value in hostile:
                response = api.get(
                    f"{PREFIX}{concrete}", params={param["name"]: value}, headers=auth(api, "admin")
                )
                assert response.status_code < 500, (
                    f"{path}?{param['name']}={value[:20]!r}: {response.status_code}"
                )
                checked += 1
    assert checked > 200


PAGE_PARAMS = {
    f"{PREFIX}/": ["q", "state", "tier", "after"],
    f"{PREFIX}/use-cases/product-claims": ["days"],
    f"{PREFIX}/approvals": ["status", "use_case", "offset"],
    f"{PREFIX}/review/{OPEN}": ["page", "page_size"],
    f"{PREFIX}/audit": ["use_case", "event_type", "actor", "since", "until", "after_seq"],
}


def test_pages_survive_hostile_parameters(api: TestClient) -> None:
    hostile = ["\x00", "x" * 5000, str(2**64), "-1", "2026-13-45", "' OR 1=1 --", "%"]
    for path, names in PAGE_PARAMS.items():
        for name in names:
            for value in hostile:
                response = api.get(
                    path, params={name: value}, headers={**auth(api, "admin"), "Accept": "text/html"}
                )
                assert response.status_code < 500, f"{path}?{name}={value[:20]!r}: {response.status_code}"
                assert response.headers["content-type"].startswith("text/html")


# --------------------------------------------------------------------------- OpenAPI and docs
def test_openapi_is_typed_and_docs_are_served_locally(api: TestClient) -> None:
    spec = get(api, "admin", f"{PREFIX}/openapi.json")
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if path.endswith("/export"):
                continue
            # POST that records something new answers 201; one that decides an existing item, 200
            success = next(op["responses"][code] for code in ("201", "200") if code in op["responses"])
            ok = success["content"]["application/json"]["schema"]
            assert "$ref" in ok, f"{method.upper()} {path} has no response model"
    for page in ("docs", "redoc"):
        html = api.get(f"{PREFIX}/{page}").text
        assets = [a for a in html.split('"') if a.endswith((".js", ".css"))]
        assert assets and all(a.startswith(f"{PREFIX}/") for a in assets), assets
        assert "cdn" not in html.lower() and "fonts.googleapis" not in html
        for asset in assets:
            response = api.get(asset)
            assert response.status_code == 200
            assert b"cdn.redoc.ly" not in response.content  # ReDoc's bundle fetched its logo from a CDN
    assert "validatorUrl" in api.get(f"{PREFIX}/docs").text  # no call to Swagger's online validator
    docs = api.get(f"{PREFIX}/docs").text
    assert f"'{PREFIX}/openapi.json'" in docs and f"{PREFIX}{PREFIX}" not in docs  # the prefix once


# --------------------------------------------------------------------------- decisions
def decide(
    client: TestClient, user: str, use_case: str, to: str, reason: str = "go-live review", **extra: Any
) -> Any:
    return client.post(
        f"{API}/use-cases/{use_case}/transitions",
        json={"to": to, "reason": reason, **extra},
        headers=auth(client, user),
    )


def test_a_decision_needs_a_governance_role(fresh: TestClient) -> None:
    for user in ("paula", "rachel", "viewer1"):
        response = decide(fresh, user, "product-claims", "suspended")
        assert response.status_code == 403, user
        assert "needs a governance role" in response.json()["detail"]
    assert (
        fresh.post(
            f"{API}/use-cases/product-claims/transitions", json={"to": "suspended", "reason": "x"}
        ).status_code
        == 401
    )


def test_the_owner_never_promotes_to_production_even_with_a_governance_role(fresh: TestClient) -> None:
    """oscar owns invoice-triage and holds OP (a governance role here); so does his second spelling."""
    assert decide(fresh, "gina", "invoice-triage", "suspended", "drift investigation").status_code == 201
    for user in ("oscar", "Oscar"):
        response = decide(fresh, user, "invoice-triage", "production", "fixed")
        assert response.status_code == 403, user
        assert "owns 'invoice-triage'" in response.json()["detail"]
    uc = get(fresh, "oscar", f"{API}/use-cases/invoice-triage")
    assert uc["state"] == "suspended"
    reinstate = next(a for a in uc["actions"] if a["action"] == "reinstate")
    assert not reinstate["allowed"] and "owner never decides" in reinstate["why_not"]
    assert (
        decide(fresh, "oscar", "invoice-triage", "retired", "replaced").status_code == 201
    )  # not a promotion


def test_a_decision_is_recorded_as_the_authenticated_user_and_runs_the_checklist(fresh: TestClient) -> None:
    # The body cannot name another decider.
    forged = decide(fresh, "gina", "product-claims", "suspended", actor="paula")
    assert forged.status_code == 422
    done = decide(fresh, "gina", "product-claims", "suspended", "claims under legal review")
    assert done.status_code == 201
    assert (done.json()["actor"], done.json()["from_state"], done.json()["to_state"]) == (
        "gina",
        "production",
        "suspended",
    )
    event = get(fresh, "admin", f"{API}/audit", event_type="lifecycle_transition", use_case="product-claims")[
        "items"
    ][-1]
    assert event["actor"] == "gina" and event["payload"]["reason"] == "claims under legal review"
    assert decide(fresh, "gina", "product-claims", "pilot").status_code == 409  # not from suspended
    assert decide(fresh, "admin", "product-claims", "production", "legal cleared").status_code == 201
    assert decide(fresh, "admin", "nope", "retired").status_code == 404
    assert decide(fresh, "admin", "product-claims", "retired", "   ").status_code == 422


def test_checklist_failure_refuses_promotion(fresh: TestClient, db_url: str, tmp_path: Path) -> None:
    import yaml

    from airflow_ai_governance.policy import load_policy
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import sync_policies
    from helpers.ui import REPO

    doc = yaml.safe_load((REPO / "dags/governance/meeting_summaries.yaml").read_text())
    doc.update(id="half-ready", state="proposed")
    doc.pop("success_measure")
    path = tmp_path / "half.yaml"
    path.write_text(yaml.safe_dump(doc))
    with session_scope(db_url) as session:
        sync_policies(session, [load_policy(path)], actor="gina")
    for state in ("approved", "pilot"):
        assert decide(fresh, "gina", "half-ready", state).status_code == 201
    refused = decide(fresh, "gina", "half-ready", "production")
    assert refused.status_code == 409
    assert "checklist fails" in refused.json()["detail"] and "success_measure" in refused.json()["detail"]


def test_cookie_authenticated_decisions_must_come_from_this_origin(fresh: TestClient) -> None:
    """A page on another site cannot make a logged-in governance user's browser decide."""
    token = auth(fresh, "gina")["Authorization"].removeprefix("Bearer ")
    url = f"{API}/use-cases/product-claims/transitions"
    body = {"to": "suspended", "reason": "csrf"}
    fresh.cookies.set("_token", token)
    try:
        assert fresh.post(url, json=body, headers={"Origin": "https://evil.example"}).status_code == 403
        assert fresh.post(url, json=body).status_code == 403  # no Origin, no Referer
        assert fresh.post(url, json=body, headers={"Referer": "https://evil.example/x"}).status_code == 403
        ok = fresh.post(url, json=body, headers={"Origin": "http://airflow.test"})
        assert ok.status_code == 201 and ok.json()["actor"] == "gina"
    finally:
        fresh.cookies.clear()


def test_a_loosening_policy_change_waits_for_a_second_person_with_a_governance_role(
    fresh: TestClient, db_url: str, tmp_path: Path
) -> None:
    """gina syncs product-claims downgraded to tier 1: the change waits; neither the owner, nor the
    author (who holds a governance role), nor a body naming someone else gets it into force."""
    import yaml

    from airflow_ai_governance.policy import load_policy
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import sync_policies
    from helpers.ui import REPO

    doc = yaml.safe_load((REPO / "dags/governance/product_claims.yaml").read_text())
    doc["tier"] = 1
    path = tmp_path / "product_claims.yaml"
    path.write_text(yaml.safe_dump(doc))
    with session_scope(db_url) as session:
        sync_policies(session, [load_policy(path)], actor="gina")
    (pending,) = get(fresh, "lena", f"{API}/use-cases/product-claims/policy-changes")["items"]
    assert (pending["version"], pending["base_version"], pending["status"]) == (2, 1, "pending")
    assert any(item["field"] == "tier" for item in pending["loosenings"])
    page = fresh.get(
        f"{PREFIX}/use-cases/product-claims", headers={**auth(fresh, "lena"), "Accept": "text/html"}
    )
    assert (
        "Policy changes waiting for a second person" in page.text
        and 'data-action="approve-change-2"' in page.text
    )

    url = f"{API}/use-cases/product-claims/policy-changes/2/approve"
    owner = fresh.post(url, json={"reason": "fine"}, headers=auth(fresh, "paula"))
    assert owner.status_code == 403 and "needs a governance role" in owner.json()["detail"]
    author = fresh.post(url, json={"reason": "fine"}, headers=auth(fresh, "gina"))
    assert author.status_code == 403 and "made the change" in author.json()["detail"]
    refused = get(fresh, "admin", f"{API}/audit", event_type="policy_change_approval_refused")["items"]
    assert [e["actor"] for e in refused] == ["gina"]
    assert (
        fresh.post(url, json={"reason": "fine", "by": "lena"}, headers=auth(fresh, "admin")).status_code
        == 422
    )
    assert get(fresh, "admin", f"{API}/use-cases/product-claims")["tier"] == 3  # still in force: v1

    approved = fresh.post(
        url, json={"reason": "internal drafts only, agreed with legal"}, headers=auth(fresh, "admin")
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "admin")
    uc = get(fresh, "admin", f"{API}/use-cases/product-claims")
    assert (uc["current_version"], uc["tier"]) == (2, 1)
    again = fresh.post(url, json={"reason": "twice"}, headers=auth(fresh, "admin"))
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
