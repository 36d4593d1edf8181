"""The cluster policy (entry point ``airflow.policy``) rejects governed DAGs that lack a gate."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

HEADER = """
from airflow.sdk import DAG
from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator
from airflow_ai_governance.operators.approval import HumanApprovalOperator
from airflow_ai_governance.operators.boundary import DataBoundaryOperator
from airflow_ai_governance.operators.output_standard import OutputStandardOperator

def model(data):
    return data
"""


def _bag(tmp_path: Path, body: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    from airflow_ai_governance.gates.structure import registry

    registry.clear()
    (tmp_path / "governed_dag.py").write_text(HEADER + textwrap.dedent(body))
    return DagBag(dag_folder=str(tmp_path))


def _error(bag: Any) -> str:
    assert len(bag.import_errors) == 1, bag.import_errors
    return next(iter(bag.import_errors.values()))


TIER2_WITHOUT_APPROVAL = """
with DAG("triage_no_approval", schedule=None):
    check = DataBoundaryOperator(task_id="check", use_case="invoice-triage", data=[{"a": 1}])
    ai = GovernedAITaskOperator(task_id="classify", use_case="invoice-triage", python_callable=model, op_args=[check.output])
    standard = OutputStandardOperator(task_id="standard", use_case="invoice-triage", ai_output=ai.output)
    check >> ai >> standard
"""


def test_tier2_dag_without_approval_is_rejected(governed_sidecar: str, tmp_path: Path) -> None:
    error = _error(_bag(tmp_path, TIER2_WITHOUT_APPROVAL))
    assert "AirflowClusterPolicyViolation" in error
    assert "DAG 'triage_no_approval', task 'classify' (use case 'invoice-triage'), tier 2" in error
    assert "missing gate human_approval" in error
    assert "HumanApprovalOperator(use_case='invoice-triage') downstream" in error


def test_a_tampered_registry_row_rejects_the_dag(governed_sidecar: str, tmp_path: Path) -> None:
    """Issue 8 item 5: invoice-triage's state set by SQL: parse time refuses with the mismatch
    named (fails before the fix: the DAG was checked against the tampered row)."""
    import sqlite3

    from airflow_ai_governance.store import dispose_engines
    from airflow_ai_governance.store.engine import sqlite_path

    dispose_engines()
    database = sqlite3.connect(sqlite_path(governed_sidecar))
    database.execute("UPDATE use_case SET state = 'pilot' WHERE id = 'invoice-triage'")
    database.commit()
    database.close()
    error = _error(_bag(tmp_path, TIER2_WITHOUT_APPROVAL))
    assert "AirflowClusterPolicyViolation" in error
    assert "registry state is 'pilot' but the audit chain gives 'production'" in error


def test_complete_tier2_dag_is_accepted(governed_sidecar: str, tmp_path: Path) -> None:
    body = (
        TIER2_WITHOUT_APPROVAL
        + """
    approval = HumanApprovalOperator(task_id="approve", use_case="invoice-triage", ai_output=standard.output)
    standard >> approval
"""
    )
    bag = _bag(tmp_path, body)
    assert bag.import_errors == {}
    assert "triage_no_approval" in bag.dags


def test_boundary_must_be_upstream_of_the_ai_task(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("boundary_after", schedule=None):
    ai = GovernedAITaskOperator(task_id="summarise", use_case="meeting-summaries", python_callable=model, op_args=["x"])
    check = DataBoundaryOperator(task_id="check", use_case="meeting-summaries", data=ai.output)
    standard = OutputStandardOperator(task_id="standard", use_case="meeting-summaries", ai_output=ai.output)
    ai >> [check, standard]
"""
    error = _error(_bag(tmp_path, body))
    assert "task 'summarise' (use case 'meeting-summaries'), tier 1: missing gate data_boundary" in error
    assert "upstream of it" in error


def test_unknown_and_retired_use_cases_are_rejected(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("mixed", schedule=None):
    DataBoundaryOperator(task_id="a", use_case="no-such-case", data="x")
    DataBoundaryOperator(task_id="b", use_case="meeting-summaries", data="x")
"""
    error = _error(_bag(tmp_path, body))
    assert "task 'a' (use case 'no-such-case'): unknown use case" in error

    from airflow_ai_governance.store import session_scope
    from airflow_ai_governance.store.registry import transition

    with session_scope(governed_sidecar) as session:
        transition(session, "meeting-summaries", "retired", actor="gina", reason="replaced")
    error = _error(_bag(tmp_path, body))
    assert "task 'b' (use case 'meeting-summaries'): the use case is retired" in error


def test_unreachable_sidecar_rejects_governed_dags(
    governed_sidecar: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", "postgresql+psycopg://postgres@127.0.0.1:1/x"
    )
    error = _error(_bag(tmp_path, TIER2_WITHOUT_APPROVAL))
    assert "has governed tasks but their policies cannot be checked" in error
    assert "***" not in error or "unreachable" in error


def test_dags_without_governed_tasks_are_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", "postgresql+psycopg://postgres@127.0.0.1:1/x"
    )
    body = """
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("plain", schedule=None):
    EmptyOperator(task_id="noop")
"""
    bag = _bag(tmp_path, body)
    assert bag.import_errors == {}
    assert "plain" in bag.dags


def test_inline_gates_satisfy_a_tier1_use_case(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("summaries_inline", schedule=None):
    GovernedAITaskOperator(task_id="summarise", use_case="meeting-summaries", python_callable=model,
                           op_args=["x"], inline_gates=True)
"""
    bag = _bag(tmp_path, body)
    assert bag.import_errors == {}
    assert bag.dags["summaries_inline"].task_ids == ["summarise"]


def test_partly_inline_task_still_needs_the_other_gate(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("summaries_half_inline", schedule=None):
    GovernedAITaskOperator(task_id="summarise", use_case="meeting-summaries", python_callable=model,
                           op_args=["x"], inline_gates=["output_standard"])
"""
    error = _error(_bag(tmp_path, body))
    assert "task 'summarise' (use case 'meeting-summaries'), tier 1: missing gate data_boundary" in error
    assert "inline_gates=['data_boundary']" in error
    assert "output_standard" not in error.split("missing gate data_boundary", 1)[0]


def test_inline_gates_do_not_replace_a_required_approval(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("triage_inline", schedule=None):
    GovernedAITaskOperator(task_id="classify", use_case="invoice-triage", python_callable=model,
                           op_args=[[{"a": 1}]], inline_gates=True)
"""
    error = _error(_bag(tmp_path, body))
    assert "tier 2: missing gate human_approval" in error
    assert "missing gate data_boundary" not in error and "missing gate output_standard" not in error
    assert "inline_gates=['human_approval']" not in error


def test_approval_cannot_run_inline(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("triage_inline_approval", schedule=None):
    GovernedAITaskOperator(task_id="classify", use_case="invoice-triage", python_callable=model,
                           op_args=["x"], inline_gates=["data_boundary", "human_approval"])
"""
    error = _error(_bag(tmp_path, body))
    assert "inline_gates: human_approval waits for a reviewer" in error


def test_governed_workflow_sets_inline_gates_on_a_factory_made_task(
    governed_sidecar: str, tmp_path: Path
) -> None:
    body = """
from airflow.sdk import task
from airflow_ai_governance.workflow import governed_workflow

with DAG("summaries_factory_inline", schedule=None):
    @task.governed_llm(use_case="meeting-summaries", llm_conn_id="aigov_llm")
    def summarise(text):
        return text

    flow = governed_workflow("meeting-summaries", data="notes", inputs=["path:/x/example_data/meetings/a.txt"],
                             ai_task=summarise, inline_gates=True)
    assert flow.boundary is None and flow.standard is None and flow.approval is None
"""
    bag = _bag(tmp_path, body)
    assert bag.import_errors == {}
    (task,) = bag.dags["summaries_factory_inline"].tasks
    assert task.inline_gates == {"data_boundary", "output_standard"}
    assert task.inputs == ["path:/x/example_data/meetings/a.txt"]


def test_mapped_governed_tasks_are_checked_too(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("mapped_no_gates", schedule=None):
    GovernedAITaskOperator.partial(task_id="summarise", use_case="meeting-summaries", python_callable=model).expand(
        op_args=[["a"], ["b"]]
    )

with DAG("mapped_inline", schedule=None):
    GovernedAITaskOperator.partial(
        task_id="summarise", use_case="meeting-summaries", python_callable=model, inline_gates=True
    ).expand(op_args=[["a"], ["b"]])
"""
    bag = _bag(tmp_path, body)
    error = _error(bag)
    assert (
        "DAG 'mapped_no_gates', task 'summarise' (use case 'meeting-summaries'), tier 1: missing gate"
        in error
    )
    assert "mapped_inline" not in error


def test_a_mapped_use_case_cannot_be_checked_and_is_rejected(governed_sidecar: str, tmp_path: Path) -> None:
    body = """
with DAG("mapped_use_case", schedule=None):
    GovernedAITaskOperator.partial(task_id="summarise", python_callable=model, inline_gates=True).expand(
        use_case=["meeting-summaries", "invoice-triage"]
    )
"""
    error = _error(_bag(tmp_path, body))
    assert "task 'summarise': a governed task needs a literal use_case" in error
