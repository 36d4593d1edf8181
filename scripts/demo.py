"""`make demo`: the governance workflow end to end, on SQLite, with a real Airflow.

1. The operating model through `aigov`: validate the example policies, register them, score them,
   run the go-live checklists and promote each use case to production (every decision attributed).
2. A real Airflow 3 (api-server, scheduler, dag-processor, triggerer; SQLite metadata DB) runs the
   three example DAGs. Reviewers answer the approval requests through Airflow's REST API as real
   users: the owner is refused, one reviewer approves tier 2, two distinct reviewers approve tier 3.
3. The governance record of each run and the verified audit trail are printed.

Everything lives in .airflow-home/demo (recreated on each run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / ".airflow-home" / "demo"
SIDECAR = f"sqlite:///{HOME / 'ai_governance.db'}"
USERS = {
    "admin": "admin",
    **{
        u: "user"
        for u in ("olivia", "oscar", "paula", "rita", "rachel", "roger", "lena", "eric", "fiona", "gina")
    },
    "viewer1": "viewer",
}
USE_CASES = ("meeting-summaries", "invoice-triage", "product-claims")


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


@contextmanager
def waiting(what: str, every: float = 15.0) -> Iterator[None]:
    """Say every ``every`` seconds what the demo is waiting for (a loaded machine can take minutes)."""
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(every):
            print(f"  ... still waiting for {what} ({time.monotonic() - started:.0f} s)", flush=True)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def aigov(*args: str, check: bool = True) -> int:
    print(f"$ aigov {' '.join(args)}", flush=True)
    env = {**os.environ, "AIRFLOW_HOME": str(HOME), "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN": SIDECAR}
    code = subprocess.run(
        [sys.executable, "-m", "airflow_ai_governance", *args], env=env, cwd=REPO
    ).returncode
    if check and code != 0:
        raise SystemExit(f"aigov {' '.join(args)} exited {code}")
    return code


def governance_workflow() -> None:
    step("1. Policies as code: validate, register, score")
    aigov("db", "upgrade")
    aigov("policy", "validate", "dags/governance")
    aigov("policy", "sync", "dags/governance", "--by", "gina")
    for use_case in USE_CASES:
        aigov("score", use_case)
    step("2. Go-live: checklist, then deliberate promotion (each decision recorded)")
    aigov("checklist", "product-claims", "--to", "production")
    for use_case in USE_CASES:
        for state in ("approved", "pilot", "production"):
            aigov("promote", use_case, "--to", state, "--by", "gina", "--reason", f"go-live review: {state}")
    aigov("use-case", "list")


def run_dags() -> dict[str, str]:
    from airflow_ai_governance.testing import AirflowCluster

    step("3. A real Airflow 3 runs the governed DAGs (SQLite, LocalExecutor)")
    cluster = AirflowCluster(
        dag_folders={"dags": REPO / "dags"},
        db_url=f"sqlite:///{HOME / 'airflow.db'}",
        home=HOME / "airflow",
        users=USERS,
        parallelism=4,
        # It says what it waits for every 15 s; a loaded 2-core machine needed over 240 s to start.
        start_timeout=900.0,
        extra_env={
            "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN": SIDECAR,
            # the keys `aigov db upgrade` generated into the demo's home (Airflow's home is below it)
            "AIRFLOW__AI_GOVERNANCE__KEY_FILE": str(HOME / "ai_governance_keys.json"),
        },
    )
    started = time.monotonic()
    with ExitStack() as stack:
        with waiting("Airflow to start (api-server, scheduler, dag-processor, triggerer)"):
            stack.enter_context(cluster)
        print(f"Airflow is up at {cluster.base_url} ({time.monotonic() - started:.0f} s)", flush=True)
        client = cluster.client()
        runs = {}
        for dag_id in ("meeting_summaries", "invoice_triage", "product_claims"):
            with waiting(f"the dag-processor to parse {dag_id}"):
                client.wait_for_dag(dag_id, timeout=300)
            client.unpause(dag_id)
            runs[dag_id] = client.trigger(dag_id)
            print(f"triggered {dag_id}: {runs[dag_id]}", flush=True)

        with waiting("meeting_summaries to finish"):
            state = client.wait_for_run("meeting_summaries", runs["meeting_summaries"], timeout=600)
        print(f"meeting_summaries (tier 1, no approval needed): {state}")

        dag, task = "invoice_triage", "invoice_triage.approval"
        with waiting("invoice_triage to ask for approval"):
            detail = client.wait_until_parked(dag, runs[dag], task, timeout=600)
        print(f"invoice_triage (tier 2) waits for: {', '.join(u['id'] for u in detail['assigned_users'])}")
        refused = client.respond("oscar", dag, runs[dag], task, ["Approve"])
        print(f"  oscar (the owner) tries to approve: HTTP {refused.status_code}")
        answer = client.respond(
            "rachel", dag, runs[dag], task, ["Approve"], {"comment": "queues checked"}, wait_parked=True
        )
        print(f"  rachel (reviewer) approves: HTTP {answer.status_code}")
        with waiting("invoice_triage to finish"):
            print(f"invoice_triage: {client.wait_for_run(dag, runs[dag], timeout=600)}")

        dag, task = "product_claims", "product_claims.approval"
        with waiting("product_claims to ask for approval"):
            client.wait_until_parked(dag, runs[dag], task, timeout=600)
        print("product_claims (tier 3) needs two distinct reviewers")
        answer = client.respond("lena", dag, runs[dag], task, ["Approve"], wait_parked=True)
        print(f"  lena approves: HTTP {answer.status_code}; the gate asks for a second reviewer")
        with waiting("product_claims to ask the second reviewer"):
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                detail = client.hitl_detail(dag, runs[dag], task)
                if detail is not None and not detail["response_received"]:
                    break
                time.sleep(0.5)
            client.wait_until_parked(dag, runs[dag], task, settle=3.0, timeout=300)
        answer = client.respond("eric", dag, runs[dag], task, ["Approve"])
        print(f"  eric approves: HTTP {answer.status_code}")
        with waiting("product_claims to finish"):
            print(f"product_claims: {client.wait_for_run(dag, runs[dag], timeout=600)}")
    return runs


def governance_record(runs: dict[str, str]) -> None:
    import sqlalchemy as sa

    from airflow_ai_governance.store import ApprovalDecision, CheckResult, GovernedRun, session_scope

    step("4. The governance record of each run (sidecar)")
    with session_scope(SIDECAR, readonly=True) as session:
        for dag_id, run_id in runs.items():
            print(f"\n{dag_id} / {run_id}")
            for run in session.scalars(
                sa.select(GovernedRun)
                .filter_by(dag_id=dag_id, run_id=run_id)
                .order_by(GovernedRun.started_at)
            ):
                checks = session.scalars(sa.select(CheckResult).filter_by(governed_run_id=run.id))
                extra = ", ".join(f"{c.check}={c.outcome}" for c in checks)
                model = f" model={run.model_id}" if run.model_id else ""
                tokens = f" tokens={run.tokens_in}/{run.tokens_out}" if run.tokens_in else ""
                digest = f" output={run.output_hash[:12]}" if run.output_hash else ""
                print(
                    f"  {run.task_id:<36} {run.status:<8} policy v{run.policy_version}{model}{tokens}{digest} {extra}"
                )
            for d in session.scalars(sa.select(ApprovalDecision).filter_by(dag_id=dag_id, run_id=run_id)):
                print(
                    f"  decision: {d.reviewer} {d.choice} output={d.output_hash[:12]} comment={d.comment!r}"
                )
    step("5. The audit trail: keyed, checkpointed outside the sidecar, verified with the registry")
    aigov("audit", "checkpoint")
    aigov("audit", "verify")
    env = {**os.environ, "AIRFLOW_HOME": str(HOME), "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN": SIDECAR}
    export = subprocess.run(
        [sys.executable, "-m", "airflow_ai_governance", "audit", "export", "--format", "jsonl", "--use-case", "product-claims"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = export.stdout.splitlines()
    print(f"$ aigov audit export --format jsonl --use-case product-claims  ({len(lines)} events; last 8)")
    for line in lines[-8:]:
        print(f"  {line[:160]}")


def main() -> int:
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    os.environ["AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN"] = SIDECAR
    governance_workflow()
    runs = run_dags()
    governance_record(runs)
    step("Done")
    print(f"Everything is in {HOME}. `make airflow` starts Airflow for you to click through.")
    rel = HOME.relative_to(REPO)
    print(f"To query the demo's governance record: AIRFLOW_HOME={rel} .venv/bin/aigov use-case list")
    return 0


if __name__ == "__main__":
    sys.exit(main())
