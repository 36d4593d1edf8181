"""Policy controls on a real Airflow: approved inputs judged by their real path (issue 8, item 2),
and policy-change decisions attributed to Airflow identities the API server verified (item 4).

api-server, scheduler, dag-processor, triggerer and LocalExecutor workers (see conftest.py): the
boundary task reads the file on a real worker, and ``aigov`` checks real users' tokens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from airflow_ai_governance.testing import AirflowClient, AirflowCluster

pytestmark = [pytest.mark.integration, pytest.mark.airflow_e2e, pytest.mark.timeout(600)]

DAG_ID = "aigov_e2e_approved_inputs"
BOUNDARY = "meeting_summaries.data_boundary"
AI_TASK = "meeting_summaries.ai_task"
SECRET = "db password hunter2 -- if the model saw this line, the boundary was walked around"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``example_data/meetings/ok.txt`` (approved by the shipped policy) and
    ``example_data/secret/creds.txt`` (not approved), with the attacks' symlinks."""
    root = tmp_path_factory.mktemp("approved-inputs")
    meetings, secret = root / "example_data" / "meetings", root / "example_data" / "secret"
    meetings.mkdir(parents=True)
    secret.mkdir()
    (meetings / "ok.txt").write_text("Weekly sync: the team agreed to ship on Friday.")
    (secret / "creds.txt").write_text(SECRET)
    (meetings / "link.txt").symlink_to(secret / "creds.txt")
    decoy = root / "decoy" / "example_data"
    decoy.mkdir(parents=True)
    (decoy / "meetings").symlink_to(secret)  # a look-alike approved directory
    for path in (root, *root.rglob("*")):  # workers may run as another user than pytest
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def _run(
    client: AirflowClient, url: str, file: str
) -> tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    from airflow_ai_governance.store import CheckResult, GovernedRun, session_scope

    client.wait_for_dag(DAG_ID, timeout=120)
    client.unpause(DAG_ID)
    run_id = client.trigger(DAG_ID, {"file": file})
    state = client.wait_for_run(DAG_ID, run_id, timeout=240)
    with session_scope(url, readonly=True) as session:
        runs = session.scalars(sa.select(GovernedRun).filter_by(dag_id=DAG_ID, run_id=run_id)).all()
        checks = session.scalars(
            sa.select(CheckResult)
            .where(
                CheckResult.governed_run_id.in_([r.id for r in runs]), CheckResult.check == "data_boundary"
            )
            .order_by(CheckResult.id)
        ).all()
        return state, client.task_instances(DAG_ID, run_id), [(c.outcome, c.details or {}) for c in checks]


def test_an_approved_file_is_read(airflow_client: AirflowClient, e2e_sidecar_db_url: str, tree: Path) -> None:
    state, tasks, checks = _run(airflow_client, e2e_sidecar_db_url, f"{tree}/example_data/meetings/ok.txt")
    assert state == "success", tasks
    ((outcome, details),) = checks
    assert outcome == "pass"
    assert details["inputs"] == [f"path:{tree}/example_data/meetings/ok.txt"]


@pytest.mark.parametrize(
    ("given", "real"),
    [
        ("example_data/meetings/../secret/creds.txt", "example_data/secret/creds.txt"),
        ("example_data/meetings/link.txt", "example_data/secret/creds.txt"),
        ("decoy/example_data/meetings/creds.txt", "example_data/secret/creds.txt"),
    ],
    ids=["dot-dot", "symlinked-file", "symlinked-directory"],
)
def test_a_file_outside_the_approved_inputs_is_never_read(
    airflow_client: AirflowClient, e2e_sidecar_db_url: str, tree: Path, given: str, real: str
) -> None:
    state, tasks, checks = _run(airflow_client, e2e_sidecar_db_url, f"{tree}/{given}")
    assert state == "failed"
    assert tasks[BOUNDARY] == "failed"
    assert tasks[AI_TASK] == "upstream_failed"  # the AI task never ran
    ((outcome, details),) = checks
    assert outcome == "fail"
    assert details["unapproved_inputs"] == [f"path:{tree}/{real} (given as path:{tree}/{given})"]
    assert SECRET not in json.dumps(details)


# ---------------------------------------------------------------- policy changes, Airflow identities
CHANGE = "e2e-policy-change"


def _aigov(
    cluster: AirflowCluster, url: str, token: str | None, *argv: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGOV_AIRFLOW")}
    if token is not None:
        env.update({"AIGOV_AIRFLOW_TOKEN": token, "AIGOV_AIRFLOW_URL": cluster.base_url})
    return subprocess.run(
        [sys.executable, "-m", "airflow_ai_governance", "--db-url", url, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _in_force(url: str) -> int:
    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import current_policy

    with session_scope(url, readonly=True) as session:
        row, _ = current_policy(session, CHANGE)
        return row.current_version


def test_policy_change_decisions_carry_verified_airflow_identities(
    airflow_cluster: AirflowCluster, airflow_client: AirflowClient, e2e_sidecar_db_url: str, tmp_path: Path
) -> None:
    url = e2e_sidecar_db_url
    policy = Path(__file__).parent / "policies" / "e2e_policy_change.yaml"
    doc = yaml.safe_load(policy.read_text())
    doc["data_boundary"]["default_action"] = "record"  # cards and secrets would reach the model
    changed = tmp_path / "e2e_policy_change.yaml"
    changed.write_text(yaml.safe_dump(doc))
    gina, lena, olivia = (airflow_client.token(u) for u in ("gina", "lena", "olivia"))
    before = _in_force(url)

    synced = _aigov(airflow_cluster, url, gina, "policy", "sync", str(changed))
    assert synced.returncode == 0, synced.stderr
    assert "loosens control" in synced.stdout and "default action block -> record" in synced.stdout
    pending = json.loads(_aigov(airflow_cluster, url, None, "policy", "changes", CHANGE, "--json").stdout)
    ((change,),) = [pending]
    version = str(change["version"])
    assert change["requested_by"] == "gina"  # no --by: the verified Airflow user
    assert change["requested_identity"]["airflow_user"] == "gina"
    assert _in_force(url) == before

    def approve(token: str | None, by: str) -> subprocess.CompletedProcess[str]:
        return _aigov(
            airflow_cluster, url, token, "policy", "approve-change", CHANGE, "--version", version, "--by", by,
            "--reason", "record-only agreed for internal notes",
        )  # fmt: skip

    claimed = approve(gina, "lena")  # gina's token, lena's name
    assert claimed.returncode == 2 and "is not the Airflow user 'gina'" in claimed.stderr
    forged = approve(lena[:-4] + ("AAAA" if not lena.endswith("AAAA") else "BBBB"), "lena")
    assert forged.returncode == 2 and "was refused by the Airflow API server" in forged.stderr
    owner = approve(olivia, "olivia")
    assert owner.returncode == 1 and "is the owner 'olivia'" in owner.stderr
    author = approve(gina, "gina")
    assert author.returncode == 1 and "'gina' made the change" in author.stderr
    unverified = approve(None, "lena")  # lena's name without proof, from the author's OS account
    assert unverified.returncode == 1 and "same OS account" in unverified.stderr
    assert _in_force(url) == before

    # Same OS account, but both decisions carry verified Airflow users that differ: a second person.
    approved = approve(lena, "lena")
    assert approved.returncode == 0, approved.stderr
    assert _in_force(url) == int(version)
    decided = json.loads(
        _aigov(airflow_cluster, url, None, "policy", "changes", CHANGE, "--all", "--json").stdout
    )
    assert (decided[0]["status"], decided[0]["decided_identity"]["airflow_user"]) == ("approved", "lena")
