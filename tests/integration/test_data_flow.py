"""Issue 8.3, "layout checked, data flow not": no value reaches a governed AI callable or model
prompt without passing its use case's data boundary.

At parse time the cluster policy refuses an AI task whose data arguments come from anywhere but
the boundary step's output (each variant below, with the task and argument named and the value
never echoed). At run time the AI task applies the boundary to exactly what it received, so the
same attacks fail closed before the AI call even with the cluster policy walked around
(``dag.test()`` of ``tests/integration/dags/dataflow_attacks.py`` with the policy switched off).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
CARD = "card 4111 1111 1111 1111 exp 12/29"

HEADER = f"""
from airflow.sdk import DAG, task
from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator
from airflow_ai_governance.operators.boundary import DataBoundaryOperator
from airflow_ai_governance.operators.llm import GovernedLLMOperator
from airflow_ai_governance.operators.output_standard import OutputStandardOperator

CARD = {CARD!r}
UC = "meeting-summaries"

def model(*args, clean=None, notes=None, top_k=None, strict=None):
    return args

def with_context(text, dag_run=None):
    return text

def with_everything(text, **context):
    return text
"""


def _bag(tmp_path: Path, body: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    from airflow_ai_governance.gates.structure import registry

    registry.clear()
    (tmp_path / "dataflow_dag.py").write_text(HEADER + textwrap.dedent(body))
    return DagBag(dag_folder=str(tmp_path))


def _layout(ai: str) -> str:
    """A complete tier-1 layout (boundary >> AI >> output standard) around the AI task ``ai``."""
    return f"""
with DAG("smuggle", schedule=None):
    check = DataBoundaryOperator(task_id="check", use_case=UC, data="clean text")
    ai = {ai}
    standard = OutputStandardOperator(task_id="standard", use_case=UC, ai_output=ai.output)
    check >> ai >> standard
"""


REFUSED = {
    # the attack of the issue, exactly
    "issue_literal_op_args": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, op_args=[CARD])'
        ),
        "task 'classify' (use case 'meeting-summaries'): data argument op_args[0] takes a literal string",
    ),
    "conf_in_op_kwargs": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
            "op_kwargs={'clean': check.output, 'notes': \"{{ dag_run.conf['card'] }}\"})"
        ),
        "data argument op_kwargs['notes'] takes `dag_run` from the template context",
    ),
    "params_in_templates_dict": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
            "op_args=[check.output], templates_dict={'notes': '{{ params.card }}'})"
        ),
        "data argument templates_dict['notes'] takes `params` from the template context",
    ),
    "variable_in_op_args": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
            "op_args=['{{ var.value.notes }}'])"
        ),
        "data argument op_args[0] takes `var` from the template context",
    ),
    "literal_text_around_a_pull": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
            "op_args=[\"{{ ti.xcom_pull(task_ids='check') }} \" + CARD])"
        ),
        "data argument op_args[0] takes literal text around the template",
    ),
    "other_task_xcom": (
        """
with DAG("smuggle", schedule=None):
    @task
    def leak():
        return CARD
    check = DataBoundaryOperator(task_id="check", use_case=UC, data="clean text")
    ai = GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, op_args=[leak()])
    standard = OutputStandardOperator(task_id="standard", use_case=UC, ai_output=ai.output)
    check >> ai >> standard
""",
        "data argument op_args[0] takes the XCom 'return_value' of task 'leak', which is not a data "
        "boundary of 'meeting-summaries'",
    ),
    "boundary_of_another_use_case": (
        """
with DAG("smuggle", schedule=None):
    check = DataBoundaryOperator(task_id="check", use_case=UC, data="clean text")
    other = DataBoundaryOperator(task_id="other", use_case="invoice-triage", data=CARD)
    ai = GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, op_args=[other.output])
    standard = OutputStandardOperator(task_id="standard", use_case=UC, ai_output=ai.output)
    check >> ai >> standard
""",
        "takes the XCom 'return_value' of task 'other', which is not a data boundary of 'meeting-summaries'",
    ),
    "boundary_pull_other_key": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
            "op_args=[\"{{ ti.xcom_pull(task_ids='check', key='raw') }}\"])"
        ),
        "takes the XCom 'raw' of task 'check' (only the boundary's return value is checked data)",
    ),
    "pull_from_another_dag": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
            "op_args=[\"{{ ti.xcom_pull(task_ids='check', dag_id='elsewhere') }}\"])"
        ),
        "takes ti.xcom_pull() with arguments other than task_ids=<constant>",
    ),
    "callable_takes_dag_run": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=with_context, '
            "op_args=[check.output])"
        ),
        "argument with_context(dag_run) takes `dag_run` from the Airflow context",
    ),
    "callable_takes_the_context": (
        _layout(
            'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=with_everything, '
            "op_args=[check.output], inline_gates=['data_boundary'])"
        ),
        "argument with_everything(**context) takes the whole Airflow context",
    ),
    "mapped_over_raw_list": (
        _layout(
            'GovernedAITaskOperator.partial(task_id="classify", use_case=UC, python_callable=model)'
            '.expand(op_args=[["fine"], [CARD]])'
        ),
        "data argument op_args (expand)[0][0] takes a literal string",
    ),
    "taskflow_literal": (
        """
with DAG("smuggle", schedule=None):
    @task.governed(use_case=UC)
    def classify(text):
        return text
    check = DataBoundaryOperator(task_id="check", use_case=UC, data="clean text")
    ai = classify(CARD)
    check >> ai
    OutputStandardOperator(task_id="standard", use_case=UC, ai_output=ai)
""",
        "task 'classify' (use case 'meeting-summaries'): data argument op_args[0] takes a literal string",
    ),
    "taskflow_mapped_over_raw_list": (
        """
with DAG("smuggle", schedule=None):
    @task.governed(use_case=UC)
    def classify(text):
        return text
    check = DataBoundaryOperator(task_id="check", use_case=UC, data="clean text")
    ai = classify.expand(text=["fine", CARD])
    check >> ai
    OutputStandardOperator(task_id="standard", use_case=UC, ai_output=ai)
""",
        "data argument op_kwargs (expand)['text'][1] takes a literal string",
    ),
    "llm_taskflow_literal": (
        """
with DAG("smuggle", schedule=None):
    @task.governed_llm(use_case=UC, llm_conn_id="aigov_llm")
    def summarise(text):
        return f"Summarise: {text}"
    check = DataBoundaryOperator(task_id="check", use_case=UC, data="clean text")
    ai = summarise(CARD)
    check >> ai
    OutputStandardOperator(task_id="standard", use_case=UC, ai_output=ai)
""",
        "task 'summarise' (use case 'meeting-summaries'): data argument op_args[0] takes a literal string",
    ),
    "llm_system_prompt_from_conf": (
        _layout(
            'GovernedLLMOperator(task_id="summarise", use_case=UC, llm_conn_id="aigov_llm", '
            "prompt=\"Summarise: {{ ti.xcom_pull(task_ids='check') }}\", "
            "system_prompt=\"Bill {{ dag_run.conf['card'] }}\")"
        ),
        "data argument system_prompt takes `dag_run` from the template context",
    ),
    "llm_prompt_from_params": (
        _layout(
            'GovernedLLMOperator(task_id="summarise", use_case=UC, llm_conn_id="aigov_llm", '
            'prompt="Summarise: {{ params.notes }}")'
        ),
        "data argument prompt takes `params` from the template context",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_smuggled_ai_input_is_refused_at_parse_time(case: str, governed_sidecar: str, tmp_path: Path) -> None:
    body, expected = REFUSED[case]
    bag = _bag(tmp_path, body)
    assert len(bag.import_errors) == 1, bag.import_errors
    error = next(iter(bag.import_errors.values()))
    assert "AirflowClusterPolicyViolation" in error
    assert "DAG 'smuggle'" in error
    assert expected in error, error
    assert "4111" not in error  # the refused value is never echoed


ACCEPTED = {
    "boundary_xcomarg": _layout(
        'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
        "op_args=[check.output], op_kwargs={'top_k': 3, 'strict': True})"
    ),
    "boundary_pull_in_llm_prompt": _layout(
        'GovernedLLMOperator(task_id="summarise", use_case=UC, llm_conn_id="aigov_llm", '
        "system_prompt='Summarise the meeting of {{ ds }}.', "
        "prompt=\"Notes:\\n{% for r in ti.xcom_pull(task_ids='check') %}{{ r.text }}\\n{% endfor %}\")"
    ),
    "boundary_pull_in_op_args": _layout(
        'GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model, '
        "op_args=[\"{{ ti.xcom_pull(task_ids='check')['text'] }}\"])"
    ),
    "mapped_over_boundary_output": _layout(
        'GovernedAITaskOperator.partial(task_id="classify", use_case=UC, python_callable=model)'
        ".expand(op_args=check.output.map(lambda r: [r]))"
    ),
    "inline_boundary_takes_literals": """
with DAG("smuggle", schedule=None):
    GovernedAITaskOperator(task_id="classify", use_case=UC, python_callable=model,
                           op_args=["{{ dag_run.conf['notes'] }}"], inline_gates=True)
""",
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_boundary_fed_ai_tasks_are_accepted(case: str, governed_sidecar: str, tmp_path: Path) -> None:
    bag = _bag(tmp_path, ACCEPTED[case])
    assert bag.import_errors == {}
    assert "smuggle" in bag.dags


# ------------------------------------------------------------------ run time, policy walked around
def _rows(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(sql)))
    engine.dispose()
    return rows


BLOCKED = [
    ("literal_op_args", -1),
    ("conf_op_kwargs", -1),
    ("params_templates_dict", -1),
    ("other_task_xcom", -1),
    ("mapped_literals", 1),
    ("governed_literal", -1),
    ("governed_mapped", 1),
    ("llm_prompt_template", -1),
    ("llm_system_prompt", -1),
]


def test_smuggled_values_are_stopped_before_the_ai_call_at_run_time(
    governed_sidecar: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from airflow_ai_governance import policies

    monkeypatch.setattr(policies, "check_dag", lambda dag: None)  # as if the layout check were walked around
    monkeypatch.setenv("AIGOV_TEST_DATAFLOW_ATTACKS", "1")
    bag = DagBag(dag_folder=str(REPO / "tests" / "integration" / "dags" / "dataflow_attacks.py"))
    assert bag.import_errors == {}
    markers = tmp_path / "markers"
    markers.mkdir()
    conf = {"markers": str(markers), "card": CARD, "email": "write to alina.berg@example.com"}
    dag_run = bag.dags["aigov_test_dataflow_attacks"].test(run_conf=conf)
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}

    for task_id, map_index in BLOCKED:
        assert states[(task_id, map_index)] == "failed", (task_id, states)
    assert states[("context_parameter", -1)] == "failed", states
    # what was clean went through; the e-mail only as its mask
    assert states[("mapped_literals", 0)] == "success", states
    assert states[("governed_mapped", 0)] == "success", states
    assert states[("conf_email_redacted", -1)] == "success", states
    called = sorted(p.name for p in markers.iterdir())
    assert called == ["conf_email_redacted", "governed_mapped", "mapped_literals"], called
    received = {p.name: p.read_text() for p in markers.iterdir()}
    assert not any("4111" in text for text in received.values())  # the AI never saw the card
    assert "alina.berg@example.com" not in received["conf_email_redacted"]
    assert "<EMAIL_ADDRESS:" in received["conf_email_redacted"]

    checks = _rows(
        governed_sidecar,
        'SELECT r.task_id, r.map_index, r.status, c."check", c.outcome, c.details FROM check_result c '
        "JOIN governed_run r ON r.id = c.governed_run_id WHERE r.task_id != 'boundary'",
    )
    by_task = {(r.task_id, r.map_index): r for r in checks}
    for task_id, map_index in BLOCKED:
        row = by_task[(task_id, map_index)]
        assert (row.check, row.outcome, row.status) == ("ai_input_boundary", "fail", "blocked"), row
        assert json.loads(row.details)["blocked_types"] == ["CREDIT_CARD"], row
    refused = by_task[("context_parameter", -1)]
    assert (refused.check, refused.outcome) == ("ai_input_boundary", "fail")
    assert json.loads(refused.details) == {"context_arguments": ["dag_run"]}
    assert by_task[("conf_email_redacted", -1)].outcome == "redacted"
    assert by_task[("mapped_literals", 0)].outcome == "pass"
    dump = json.dumps([list(r) for r in _rows(governed_sidecar, "SELECT payload FROM audit_event")])
    assert "4111" not in dump and "alina.berg" not in dump
