"""Which gates an AI task may run inside itself, and the errors for what it may not."""

from __future__ import annotations

import pytest

from airflow_ai_governance.gates.structure import INLINE_GATES, parse_inline_gates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, set(INLINE_GATES)),
        (False, set()),
        (None, set()),
        ("output_standard", {"output_standard"}),
        (["data_boundary"], {"data_boundary"}),
        (("data_boundary", "output_standard"), {"data_boundary", "output_standard"}),
    ],
)
def test_inline_gate_values(value: object, expected: set[str]) -> None:
    assert parse_inline_gates(value) == expected  # type: ignore[arg-type]


def test_approval_and_unknown_gates_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="human_approval waits for a reviewer"):
        parse_inline_gates(["data_boundary", "human_approval"])
    with pytest.raises(ValueError, match=r"unknown gate\(s\) 'boundary'.*data_boundary, output_standard"):
        parse_inline_gates(["boundary"])


def test_inputs_need_the_inline_boundary_gate() -> None:
    from airflow.sdk import DAG

    from airflow_ai_governance.operators.ai_task import GovernedAITaskOperator

    with DAG("inline_inputs", schedule=None):
        task = GovernedAITaskOperator(
            task_id="ok", use_case="x", python_callable=len, inputs=["table:a.b"], inline_gates=True
        )
        assert task.inline_gates == frozenset(INLINE_GATES)
        with pytest.raises(ValueError, match="`inputs` are checked by the data-boundary gate"):
            GovernedAITaskOperator(
                task_id="bad",
                use_case="x",
                python_callable=len,
                inputs=["table:a.b"],
                inline_gates=["output_standard"],
            )


def test_governed_workflow_refuses_files_inline() -> None:
    from airflow.sdk import DAG

    from airflow_ai_governance.workflow import governed_workflow

    with (
        DAG("inline_files", schedule=None),
        pytest.raises(ValueError, match="files= are read by the separate"),
    ):
        governed_workflow("x", files=["/data/a.txt"], python_callable=len, approval=False, inline_gates=True)
