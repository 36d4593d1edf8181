"""Set-up shared by the UI/API tests and the browser tests: Airflow users with teams, DAGs owned by
teams, and a sidecar seeded with runs, gate results, approval requests, decisions and drift.

Access model under test (real SimpleAuthManager, multi-team mode): a user reads the DAGs of the
bundles of their teams; governance roles are ADMIN and OP (``[ai_governance] governance_roles``).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

#: name -> (role, teams)
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("admin", ()),
    "gina": ("op", ("legal",)),  # governance (OP), general counsel, owns nothing
    "oscar": ("op", ("finance",)),  # governance (OP) AND owner of invoice-triage
    "Oscar": ("op", ("finance",)),  # the owner again, under another spelling of his name
    "paula": ("user", ("marketing",)),  # owner of product-claims, no governance role
    "rachel": ("user", ("marketing", "finance")),  # reviewer of product-claims and invoice-triage
    "lena": ("user", ("marketing",)),  # reviewer of product-claims
    "eric": ("user", ("marketing",)),
    "rita": ("user", ("datasci",)),
    "olivia": ("user", ("datasci",)),
    "viewer1": ("viewer", ("ops",)),  # reads only the ops team's DAGs: no governed DAG
}
#: team -> DAGs of its bundle
TEAM_DAGS: dict[str, tuple[str, ...]] = {
    "marketing": ("product_claims",),
    "finance": ("invoice_triage",),
    "datasci": ("meeting_summaries",),
    "ops": ("ops_housekeeping",),
    "legal": (),
}
GOVERNANCE_ROLES = "ADMIN,OP"
#: A field path of a boundary finding: the review view shows types and counts, never where or what.
FINDING_PATH = "[7].customer_card"


def users_env(passwords_file: Path) -> dict[str, str]:
    """Airflow configuration (as environment variables) for these users in multi-team mode."""
    spec = ",".join(
        f"{u}:{role}" + (f":{'|'.join(teams)}" if teams else "") for u, (role, teams) in USERS.items()
    )
    passwords_file.write_text(json.dumps({u: f"pw-{u}" for u in USERS}))
    return {
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": spec,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__MULTI_TEAM": "True",
        "AIRFLOW__AI_GOVERNANCE__GOVERNANCE_ROLES": GOVERNANCE_ROLES,
        # Airflow generates one into airflow.cfg only when it writes that file first: set it.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
    }


def password(user: str) -> str:
    return f"pw-{user}"


def seed_airflow_teams() -> None:
    """Teams, one bundle per team, and its DAGs in Airflow's metadata database (idempotent)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        for team_name, dag_ids in TEAM_DAGS.items():
            team = session.get(Team, team_name) or Team(name=team_name)
            session.add(team)
            bundle_name = f"{team_name}-dags"
            bundle = session.get(DagBundleModel, bundle_name) or DagBundleModel(name=bundle_name)
            if team not in bundle.teams:
                bundle.teams.append(team)
            session.add(bundle)
            session.flush()
            for dag_id in dag_ids:
                # Earlier tests in the same Airflow database may have parsed this DAG from another
                # (teamless, so readable by all) bundle: move it into its team's bundle.
                dag = session.scalar(select(DagModel).where(DagModel.dag_id == dag_id))
                if dag is None:
                    session.add(
                        DagModel(dag_id=dag_id, bundle_name=bundle_name, fileloc=f"/dags/{dag_id}.py")
                    )
                else:
                    dag.bundle_name = bundle_name


@dataclass
class Seeded:
    url: str
    open_request: tuple[str, str, str, int]  # dag_id, run_id, task_id, map_index (product-claims)
    closed_request: tuple[str, str, str, int]  # invoice-triage, approved
    output_rows: int
    run_ids: dict[str, str] = field(default_factory=dict)  # use case -> governed run id (AI step)


def claims_output(n: int) -> list[dict[str, Any]]:
    return [
        {
            "claim_id": f"CLM-{i:03d}",
            "claim": f"Model B answers benchmark {i} in {i % 50 + 10} ms on average.",
            "benchmark_id": f"BM-{i}",
        }
        for i in range(1, n + 1)
    ]


def seed_governance(url: str, *, output_rows: int = 120) -> Seeded:
    """The example policies in production, and a realistic trail of runs, checks and approvals.

    product-claims (tier 3): a run whose output (``output_rows`` claims) waits for approval, one of
    two approvals given (rachel, with an edit), a refusal of the owner recorded, escalated to level 1.
    invoice-triage (tier 2): an approved request. meeting-summaries (tier 1): runs and drift only.
    """
    from airflow_ai_governance.gates.preflight import output_hash
    from airflow_ai_governance.store import (
        ApprovalRequest,
        append_event,
        finish_run,
        open_escalation,
        record_approval,
        record_check,
        record_drift,
        record_review,
        session_scope,
        start_run,
    )
    from helpers.setup import register_and_promote

    register_and_promote(url, [REPO / "dags" / "governance"], actor="gina")
    now = datetime.now(UTC)
    run_ids: dict[str, str] = {}

    def governed_step(
        use_case: str, dag_id: str, run_id: str, task_id: str, status: str, **fields: Any
    ) -> str:
        gid = start_run(
            url, use_case_id=use_case, policy_version=1, dag_id=dag_id, run_id=run_id, task_id=task_id
        )
        finish_run(url, gid, status, **fields)
        return gid

    # product-claims: boundary (an IP redacted; a card number found in a field named after a customer:
    # neither the value nor the key may show), AI step, output standard, then the approval request.
    pc_run = "manual__2026-11-30T09:00:00+00:00"
    b = governed_step("product-claims", "product_claims", pc_run, "data_boundary", "success")
    record_check(
        url,
        use_case_id="product-claims",
        check="data_boundary",
        outcome="redacted",
        governed_run_id=b,
        details={
            "inputs": ["table:marketing.approved_benchmarks"],
            "found": {"IP_ADDRESS": 3, "CREDIT_CARD": 1},
            "paths": [FINDING_PATH],
        },
    )
    output = claims_output(output_rows)
    digest = output_hash(output)
    ai = governed_step(
        "product-claims",
        "product_claims",
        pc_run,
        "draft_claims",
        "success",
        model_id="offline-claims",
        latency_ms=812.0,
        output_hash=digest,
    )
    run_ids["product-claims"] = ai
    o = governed_step("product-claims", "product_claims", pc_run, "output_standard", "success")
    record_check(
        url,
        use_case_id="product-claims",
        check="output_standard",
        outcome="pass",
        governed_run_id=o,
        details={
            "success": True,
            "evaluated": 9,
            "failed": 0,
            "rows": output_rows,
            "failed_expectations": [],
            "failures": [],
        },
    )
    approval = start_run(
        url,
        use_case_id="product-claims",
        policy_version=1,
        dag_id="product_claims",
        run_id=pc_run,
        task_id="approve",
    )
    edited = {
        "diff": '--- proposed\n+++ approved\n-  "claim": "Model B answers benchmark 1 in 11 ms on average."\n+  "claim": "Model B answered benchmark 1 in 11 ms on average in our tests."',
        "original_hash": digest,
    }
    record_approval(
        url,
        use_case_id="product-claims",
        dag_id="product_claims",
        run_id=pc_run,
        task_id="approve",
        reviewer="rachel",
        choice="approve",
        output_hash=digest,
        comment="numbers match BM table",
        edits=edited,
        governed_run_id=approval,
    )
    append_event(
        url,
        event_type="approval_refused",
        actor="paula",
        use_case_id="product-claims",
        governed_run_id=approval,
        payload={
            "dag_id": "product_claims",
            "run_id": pc_run,
            "task_id": "approve",
            "map_index": -1,
            "reason": "paula owns 'product-claims' and cannot approve its output",
        },
    )
    open_escalation(
        url,
        use_case_id="product-claims",
        dag_id="product_claims",
        run_id=pc_run,
        task_id="approve",
        level=1,
        contact="lena",
        channel="email",
        reason="no decision in 12h",
        governed_run_id=approval,
    )
    with session_scope(url) as session:
        session.add(
            ApprovalRequest(
                id=str(uuid.uuid4()),
                use_case_id="product-claims",
                governed_run_id=approval,
                policy_version=1,
                dag_id="product_claims",
                run_id=pc_run,
                task_id="approve",
                map_index=-1,
                try_number=1,
                output_hash=digest,
                output=output,
                status="open",
                level=1,
                approvals_needed=2,
                approvers=["rachel"],
                opened_at=now - timedelta(hours=13, minutes=5),
                updated_at=now - timedelta(hours=1),
                deadline=now + timedelta(hours=35),
            )
        )

    # invoice-triage: a blocked run, a passed run, an approved request.
    it_run = "scheduled__2026-11-29T06:00:00+00:00"
    blocked = governed_step(
        "invoice-triage", "invoice_triage", "scheduled__2026-11-28T06:00:00+00:00", "data_boundary", "blocked"
    )
    record_check(
        url,
        use_case_id="invoice-triage",
        check="data_boundary",
        outcome="fail",
        governed_run_id=blocked,
        details={"found": {"IBAN_CODE": 2}, "blocked_types": ["IBAN_CODE"]},
    )
    passed = governed_step("invoice-triage", "invoice_triage", it_run, "data_boundary", "success")
    record_check(
        url,
        use_case_id="invoice-triage",
        check="data_boundary",
        outcome="pass",
        governed_run_id=passed,
        details={"found": {}},
    )
    it_approval = governed_step("invoice-triage", "invoice_triage", it_run, "approve", "success")
    run_ids["invoice-triage"] = it_approval
    it_output = [{"invoice_id": f"INV-{i}", "queue": "standard"} for i in range(5)]
    record_approval(
        url,
        use_case_id="invoice-triage",
        dag_id="invoice_triage",
        run_id=it_run,
        task_id="approve",
        reviewer="roger",
        choice="approve",
        output_hash=output_hash(it_output),
        governed_run_id=it_approval,
    )
    with session_scope(url) as session:
        session.add(
            ApprovalRequest(
                id=str(uuid.uuid4()),
                use_case_id="invoice-triage",
                governed_run_id=it_approval,
                policy_version=1,
                dag_id="invoice_triage",
                run_id=it_run,
                task_id="approve",
                map_index=-1,
                try_number=1,
                output_hash=output_hash(it_output),
                output=it_output,
                status="approved",
                level=0,
                approvals_needed=1,
                approvers=["roger"],
                opened_at=now - timedelta(days=1, hours=3),
                updated_at=now - timedelta(days=1, hours=1),
                closed_at=now - timedelta(days=1, hours=1),
            )
        )

    # meeting-summaries: runs, drift series with a breach, a review.
    ms = governed_step(
        "meeting-summaries", "meeting_summaries", "manual__2026-11-27T10:00:00+00:00", "summarize", "success"
    )
    run_ids["meeting-summaries"] = ms
    record_check(
        url,
        use_case_id="meeting-summaries",
        check="output_standard",
        outcome="pass",
        governed_run_id=ms,
        details={"success": True},
    )
    for value in (0.05, 0.08, 0.12, 0.31):
        record_drift(
            url,
            use_case_id="meeting-summaries",
            feature="summary_length",
            statistic="psi",
            value=value,
            threshold=0.2,
            drifted=value > 0.2,
        )
    record_review(
        url,
        use_case_id="meeting-summaries",
        reviewer="rita",
        outcome="keep",
        notes="fine",
        next_due=now - timedelta(days=2),
    )
    return Seeded(
        url=url,
        open_request=("product_claims", pc_run, "approve", -1),
        closed_request=("invoice_triage", it_run, "approve", -1),
        output_rows=output_rows,
        run_ids=run_ids,
    )
