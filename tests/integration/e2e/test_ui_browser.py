"""The governance pages in a real browser, inside a real Airflow: Playwright on Debian's chromium.

One Airflow (api-server, scheduler, dag-processor; PostgreSQL metadata) with the plugin, started
once for this module, against a PostgreSQL sidecar seeded with runs, checks and approvals. Users
are real SimpleAuthManager users with roles and teams (multi-team mode): the example DAGs belong
to the ``marketing`` team's bundle, ``viewer1`` is in the ``ops`` team whose only DAG governs
nothing. A real tier-3 run parks for approval; a reviewer follows it from Airflow's navigation to
the inbox, the review page, Airflow's Required Actions page and back.

Screenshots go to a temporary directory, or to ``docs/images`` with ``AIGOV_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_ai_governance.testing import (
    AirflowClient,
    AirflowCluster,
    AirflowClusterError,
    create_postgres_database,
    drop_postgres_database,
)
from helpers.setup import PG_HOST, temporary_pg_database
from helpers.ui import REPO, seed_governance

pytestmark = [pytest.mark.integration, pytest.mark.airflow_e2e, pytest.mark.timeout(1200)]

CHROMIUM = os.environ.get("AIGOV_CHROMIUM", "/usr/bin/chromium")
OPS_DAGS = Path(__file__).parent / "ui_ops_dags"
USERS = {  # name -> (role, team)
    "admin": ("admin", "marketing"),
    "gina": ("op", "marketing"),  # governance role (OP here)
    "paula": ("user", "marketing"),  # owner of product-claims
    "lena": ("user", "marketing"),
    "eric": ("user", "marketing"),
    "rachel": ("user", "marketing"),
    "viewer1": ("viewer", "ops"),
}
NAV = "AI Governance"
FRAME = "iframe[title='AI Governance']"


@dataclass
class UI:
    cluster: AirflowCluster
    client: AirflowClient
    sidecar: str
    shots: Path

    @property
    def base(self) -> str:
        return self.cluster.base_url


def _create_teams(db_url: str, teams: set[str]) -> None:
    import psycopg

    dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for team in sorted(teams):
            conn.execute("INSERT INTO team (name) VALUES (%s) ON CONFLICT DO NOTHING", (team,))


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)", pytrace=False)
    name = f"aigov_ui_airflow_{uuid.uuid4().hex[:10]}"
    try:
        metadata = create_postgres_database(name, host=PG_HOST)
    except AirflowClusterError as exc:
        pytest.fail(f"could not prepare Airflow's metadata database: {exc}", pytrace=False)
    teams = {team for _, team in USERS.values()}
    _create_teams(metadata, teams)
    bundle = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles = [
        {
            "name": "examples",
            "classpath": bundle,
            "kwargs": {"path": str(REPO / "dags")},
            "team_name": "marketing",
        },
        {"name": "ops", "classpath": bundle, "kwargs": {"path": str(OPS_DAGS)}, "team_name": "ops"},
    ]
    shots = (
        REPO / "docs" / "images"
        if os.environ.get("AIGOV_UPDATE_SCREENSHOTS") == "1"
        else tmp_path_factory.mktemp("shots")
    )
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with temporary_pg_database("aigov_ui_sidecar") as sidecar:
            seed_governance(sidecar)
            from airflow_ai_governance.store import dispose_engines

            dispose_engines()
            cluster = AirflowCluster(
                dag_folders={"examples": REPO / "dags", "ops": OPS_DAGS},
                db_url=metadata,
                home=tmp_path_factory.mktemp("ui-airflow-home"),
                users={u: role for u, (role, _) in USERS.items()},
                passwords={u: f"pw-{u}" for u in USERS},
                components=("api-server", "scheduler", "dag-processor"),
                parallelism=3,
                migrate=False,
                extra_env={
                    "AIRFLOW__CORE__MULTI_TEAM": "True",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                        f"{u}:{role}:{team}" for u, (role, team) in USERS.items()
                    ),
                    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
                    "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN": sidecar,
                    "AIRFLOW__AI_GOVERNANCE__AUDIT_KEY": os.environ["AIRFLOW__AI_GOVERNANCE__AUDIT_KEY"],
                    "AIRFLOW__AI_GOVERNANCE__GOVERNANCE_ROLES": "ADMIN,OP",
                    "AIRFLOW__AI_GOVERNANCE__REDACTION_KEY": os.environ[
                        "AIRFLOW__AI_GOVERNANCE__REDACTION_KEY"
                    ],
                },
            )
            try:
                cluster.start()
            except AirflowClusterError as exc:
                pytest.fail(f"Airflow did not start (home {cluster.home}):\n{exc}", pytrace=False)
            try:
                yield UI(cluster, cluster.client(timeout=60), sidecar, shots)
            finally:
                leftovers = cluster.stop()
                assert not leftovers, f"Airflow processes survived SIGKILL: {leftovers}"
    finally:
        drop_postgres_database(name, host=PG_HOST)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


class Session:
    """A logged-in browser tab of one user; records every request that leaves Airflow's origin."""

    def __init__(self, browser: Any, ui: UI, user: str, *, dark: bool = False) -> None:
        self.ui = ui
        self.context = browser.new_context(
            viewport={"width": 1440, "height": 960}, color_scheme="dark" if dark else "light"
        )
        self.context.add_cookies([{"name": "_token", "value": ui.client.token(user), "url": ui.base + "/"}])
        if dark:
            self.context.add_init_script("window.localStorage.setItem('theme', 'dark')")
        self.foreign: list[str] = []
        self.context.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((ui.base, "data:", "blob:", "about:"))
                else self.foreign.append(r.url)
            ),
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(45_000)

    def frame(self) -> Any:
        return self.page.frame_locator(FRAME)

    def open(self, path: str) -> Any:
        """A governance page inside Airflow (the nav entry's iframe)."""
        self.page.goto(f"{self.ui.base}/plugin/governance{path}")
        frame = self.frame()
        frame.locator("header.topbar").wait_for()
        return frame

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.ui.shots / f"ui-{name}.png"))

    def close(self) -> None:
        assert self.foreign == [], f"requests left Airflow's origin: {self.foreign[:5]}"
        self.context.close()


@pytest.fixture
def session_for(browser: Any, ui: UI) -> Iterator[Any]:
    sessions: list[Session] = []

    def make(user: str, *, dark: bool = False) -> Session:
        sessions.append(Session(browser, ui, user, dark=dark))
        return sessions[-1]

    yield make
    for s in sessions:
        s.close()


def _parked_run(ui: UI) -> tuple[str, str]:
    """A real product_claims run parked at its approval step; its approval request in the sidecar."""
    dag_id, task_id = "product_claims", "product_claims.approval"
    client = ui.client
    client.wait_for_dag(dag_id, timeout=180)
    client.unpause(dag_id)
    run_id = client.trigger(dag_id)
    client.wait_until_parked(dag_id, run_id, task_id, timeout=300)
    _ensure_request(ui, dag_id, run_id, task_id)
    return run_id, task_id


def _ensure_request(ui: UI, dag_id: str, run_id: str, task_id: str) -> None:
    """The approval gate records its request (contract C2); where it does not (yet), record it the
    way it would, from the output the gate reviews, so that the pages have a row to show."""
    import sqlalchemy as sa

    from airflow_ai_governance.gates.preflight import output_hash
    from airflow_ai_governance.store import ApprovalRequest, GovernedRun, session_scope

    with session_scope(ui.sidecar) as session:
        exists = session.scalar(
            sa.select(sa.func.count())
            .select_from(ApprovalRequest)
            .where(
                ApprovalRequest.dag_id == dag_id,
                ApprovalRequest.run_id == run_id,
                ApprovalRequest.task_id == task_id,
            )
        )
        if exists:
            return
        run = session.scalars(
            sa.select(GovernedRun).where(
                GovernedRun.dag_id == dag_id, GovernedRun.run_id == run_id, GovernedRun.task_id == task_id
            )
        ).first()
        xcom = ui.client.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/product_claims.output_standard/xcomEntries/return_value",
        )
        output = xcom["value"]
        output = json.loads(output) if isinstance(output, str) else output
        session.add(
            ApprovalRequest(
                id=str(uuid.uuid4()),
                use_case_id="product-claims",
                governed_run_id=run.id if run else None,
                policy_version=run.policy_version if run else 1,
                dag_id=dag_id,
                run_id=run_id,
                task_id=task_id,
                map_index=-1,
                try_number=1,
                output_hash=output_hash(output),
                output=output,
                status="open",
                level=0,
                approvals_needed=2,
                approvers=[],
            )
        )


# ------------------------------------------------------------------------------------ the walk
def test_a_reviewer_walks_from_the_nav_to_the_review_to_required_actions_and_back(
    ui: UI, session_for: Any
) -> None:
    run_id, task_id = _parked_run(ui)
    lena = session_for("lena")
    page = lena.page
    page.goto(ui.base + "/")
    nav = page.get_by_role("link", name=NAV)
    nav.wait_for()
    nav.click()
    page.wait_for_url(re.compile(r"/plugin/governance"))
    frame = lena.frame()
    frame.locator("table#registry").wait_for()
    assert frame.locator("tr[data-use-case]").count() == 3
    lena.shot("registry")

    frame.get_by_role("link", name="Approvals", exact=True).click()
    row = frame.locator(f"tr[data-approval='product_claims/{run_id}/{task_id}/-1']")
    row.wait_for()
    assert "yours to answer" in row.inner_text()
    page.wait_for_url(re.compile(r"/plugin/governance/ai-governance/approvals"))  # Airflow keeps the location
    lena.shot("inbox")

    row.locator("[data-review-link]").click()
    frame.locator("#live").wait_for()
    live = frame.locator("#live").inner_text()
    assert "0 of 2" in live and "lena" in live and "eric" in live and "rachel" in live
    assert "paula: owns the use case and never approves its output" in live
    output = frame.locator("table[data-output] tbody tr")
    assert output.count() >= 1 and frame.locator("table[data-output] th", has_text="claim_id").count() == 1
    assert "CLM-" in frame.locator("table[data-output]").inner_text()
    assert frame.locator("#h-boundary").count() == 1 and frame.locator("#h-standard").count() == 1
    lena.shot("review")

    frame.locator("[data-required-actions-link]").first.click()  # target=_top: Airflow's own page
    page.wait_for_url(
        re.compile(rf"/dags/product_claims/runs/.+/tasks/{re.escape(task_id)}/required_actions")
    )
    page.get_by_text("Approve the AI output of use case product-claims").first.wait_for()
    lena.shot("required-actions")

    page.get_by_role("link", name=NAV).click()  # and back
    page.wait_for_url(re.compile(r"/plugin/governance"))
    lena.frame().locator("table#registry").wait_for()


def test_a_user_without_access_sees_nothing_and_is_refused(ui: UI, session_for: Any) -> None:
    viewer = session_for("viewer1")
    frame = viewer.open("/ai-governance/")
    frame.locator("[data-empty='registry']").wait_for()
    assert "No use case is visible to you" in frame.locator("main").inner_text()
    frame = viewer.open("/ai-governance/use-cases/product-claims")
    error = frame.locator("section.error")
    error.wait_for()
    assert error.get_attribute("data-status") == "403"
    assert "may not see use case 'product-claims'" in error.inner_text()
    viewer.shot("forbidden")
    frame = viewer.open("/ai-governance/review/product_claims/manual__2026-11-30T09:00:00+00:00/approve/-1")
    assert frame.locator("section.error").get_attribute("data-status") == "403"


def test_the_owner_cannot_decide_and_a_governance_user_can(ui: UI, session_for: Any) -> None:
    paula = session_for("paula")
    frame = paula.open("/ai-governance/use-cases/product-claims")
    suspend = frame.locator("button[data-action='suspend-suspended']")
    suspend.wait_for()
    assert suspend.is_disabled()
    assert "holds no governance role" in frame.locator("#decisions").inner_text()

    gina = session_for("gina")
    frame = gina.open("/ai-governance/use-cases/meeting-summaries")
    form = frame.locator("form.decision[data-to='suspended']")
    form.locator("input[name=reason]").fill("drift on summary_length under investigation")
    form.locator("button").click()
    frame.locator("[data-state]", has_text="suspended").wait_for()
    form = frame.locator("form.decision[data-to='production']")
    form.locator("input[name=reason]").fill("drift explained: new meeting template")
    form.locator("button").click()
    frame.locator("[data-state]", has_text="production").wait_for()
    decisions = frame.locator("#h-transitions").locator("xpath=..").inner_text()
    assert "drift on summary_length under investigation" in decisions and "gina" in decisions

    events = ui.client.request(
        "GET",
        "/ai-governance/api/v1/audit",
        params={
            "use_case": "meeting-summaries",
            "event_type": "lifecycle_transition",
            "actor": "gina",
            "limit": 1000,
        },
    ).json()["items"]
    assert [e["payload"]["to"] for e in events][-2:] == ["suspended", "production"]


def test_use_case_page_in_dark_mode_with_charts(ui: UI, session_for: Any) -> None:
    admin = session_for("admin", dark=True)
    frame = admin.open("/ai-governance/use-cases/meeting-summaries")
    frame.locator("svg.chart").first.wait_for()
    assert frame.locator("html").get_attribute("data-theme") == "dark"
    assert frame.locator("svg.chart").count() >= 2  # gate outcomes, drift series
    admin.shot("use-case-dark")


def test_audit_page_verifies_the_chain(ui: UI, session_for: Any) -> None:
    admin = session_for("admin")
    frame = admin.open("/ai-governance/audit")
    badge = frame.locator("#verify-badge")
    badge.locator("xpath=self::*[contains(., 'chain verified')]").wait_for()
    shown = ui.client.request("GET", "/ai-governance/api/v1/audit", params={"limit": 100}).json()["items"]
    assert frame.locator("table#audit tbody tr").count() == len(shown) > 0
    assert frame.locator("a.button", has_text="Export CSV").get_attribute("href").endswith("format=csv")
    admin.shot("audit")


def test_api_docs_render_offline(ui: UI, session_for: Any) -> None:
    admin = session_for("admin")
    admin.page.goto(f"{ui.base}/ai-governance/docs")
    admin.page.locator(".swagger-ui .info .title", has_text="AI Governance API").wait_for()
    admin.page.locator(
        ".opblock-summary-path", has_text="/api/v1/approvals/{dag_id}/{run_id}/{task_id}/{map_index}"
    ).wait_for()
    admin.page.goto(f"{ui.base}/ai-governance/redoc")
    admin.page.get_by_text("AI Governance API").first.wait_for()
