"""Where an AI task's data come from (parse-time rules of issue 8.3), without Airflow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from airflow_ai_governance.boundary import apply_boundary, mask_value
from airflow_ai_governance.gates.dataflow import (
    Source,
    callable_sources,
    flow_problems,
    template_sources,
    value_sources,
)

CARD = "4111 1111 1111 1111"


@dataclass
class _Op:
    task_id: str


class _XComArg:
    """Duck-typed like Airflow's XComArg: what the rules look at is ``iter_references()``."""

    def __init__(self, task_id: str, key: str = "return_value") -> None:
        self.refs = [(_Op(task_id), key)]

    def iter_references(self) -> Any:
        return iter(self.refs)


def _kinds(sources: list[Source]) -> list[tuple[str, str, str | None]]:
    return [(s.argument, s.kind, s.task_id) for s in sources]


def test_literals_in_data_arguments_are_sources_and_harmless_ones_are_not() -> None:
    found = list(
        value_sources(
            [f"card {CARD}", 4111111111111111, 4.111111111111111e15, {"note": "x"}, None, True, 3, 0.25],
            "op_args",
            text_ok=False,
        )
    )
    assert _kinds(found) == [
        ("op_args[0]", "literal", None),
        ("op_args[1]", "literal", None),
        ("op_args[2]", "literal", None),
        ("op_args[3]['note']", "literal", None),
    ]
    assert all(CARD not in s.what and "4111" not in s.what for s in found)  # never echoed


def test_dictionary_keys_that_could_carry_data_are_literals() -> None:
    found = list(value_sources({CARD: _XComArg("check")}, "op_args[0]", text_ok=False))
    assert [s.what for s in found if s.kind == "literal"] == ["a dictionary key that is not a plain name"]
    assert [s.argument for s in found] == ["op_args[0]", "op_args[0][<key>]"]


def test_xcom_args_are_sources_with_their_task_and_key() -> None:
    found = list(
        value_sources(
            {"text": _XComArg("check"), "raw": _XComArg("check", "raw")}, "op_kwargs", text_ok=False
        )
    )
    assert [(s.task_id, s.key) for s in found] == [("check", "return_value"), ("check", "raw")]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ ti.xcom_pull(task_ids='check') }}", [("xcom", "check")]),
        ("{{ task_instance.xcom_pull('a.check')['text'] }}", [("xcom", "a.check")]),
        ("{{ ti.xcom_pull(task_ids=['c1', 'c2'], map_indexes=[0, 1]) }}", [("xcom", "c1"), ("xcom", "c2")]),
        ("{{ dag_run.conf['card'] }}", [("context", None)]),
        ("{{ params.card }}", [("context", None)]),
        ("{{ var.value.notes }}", [("context", None)]),
        ("{{ conn.erp.password }}", [("context", None)]),
        ("{{ macros.json.dumps(1) }}", [("context", None)]),
        ("{{ ti.xcom_pull(task_ids='check', dag_id='other') }}", [("context", None)]),
        ("{{ ti.xcom_pull(task_ids=name) }}", [("context", None), ("context", None)]),
        ("{{ ti.xcom_pull(task_ids='check', default='4111 1111 1111 1111') }}", [("context", None)]),
        ("{{ ti.task_id }}", [("context", None)]),
        ("{% include 'other.txt' %}", [("context", None)]),
        ("{{ ds }}", []),
        ("{{ ds.__class__ }}", [("context", None)]),
        ("{{ unclosed", [("context", None)]),
    ],
)
def test_templates_name_what_they_read(template: str, expected: list[tuple[str, str | None]]) -> None:
    found = list(template_sources(template, "prompt", text_ok=True))
    assert [(s.kind, s.task_id) for s in found] == expected


def test_in_data_arguments_text_and_constants_around_a_pull_are_literals() -> None:
    pulled = "{{ ti.xcom_pull(task_ids='check') }}"
    assert [s.kind for s in template_sources(pulled, "op_args[0]", text_ok=False)] == ["xcom"]
    around = list(template_sources(f"card {CARD} {pulled}", "op_args[0]", text_ok=False))
    assert [s.kind for s in around] == ["xcom", "literal"]
    filtered = list(
        template_sources("{{ ti.xcom_pull('check') | replace('a', '4111 1111') }}", "x", text_ok=False)
    )
    assert [s.kind for s in filtered] == ["xcom", "literal"]
    subscript = list(template_sources("{{ ti.xcom_pull('check')['text'][0] }}", "x", text_ok=False))
    assert [s.kind for s in subscript] == ["xcom"]


def test_callable_parameters_filled_from_the_context() -> None:
    keys = {"dag_run", "params", "ti", "templates_dict", "ds"}

    def reads_conf(text: str, dag_run: Any = None, templates_dict: Any = None) -> None: ...

    def takes_all(text: str, **context: Any) -> None: ...

    def bound(params: Any, ti: Any) -> None: ...

    found = list(callable_sources(reads_conf, positional=1, bound=(), context_keys=keys))
    assert [s.argument for s in found] == ["reads_conf(dag_run)"]
    found = list(callable_sources(takes_all, positional=1, bound=(), context_keys=keys))
    assert [s.argument for s in found] == ["takes_all(**context)"]
    # given by the DAG (first positionally, second by name): not from the context
    assert list(callable_sources(bound, positional=1, bound={"ti"}, context_keys=keys)) == []
    assert list(callable_sources(len, positional=1, bound=(), context_keys=keys)) == []


def test_problems_name_the_argument_and_the_fix() -> None:
    sources = [
        Source("op_args[0]", "xcom", "the XCom 'return_value' of task 'check'", "check", "return_value"),
        Source("op_args[1]", "literal", "a literal string (20 characters)"),
        Source("op_kwargs['x']", "xcom", "the XCom 'return_value' of task 'leak'", "leak", "return_value"),
        Source("f(dag_run)", "callable", "`dag_run` from the Airflow context"),
    ]
    problems = flow_problems(
        "DAG 'd', task 'ai'",
        sources,
        use_case="uc",
        boundaries={"check"},
        upstream={"check"},
        inline_boundary=False,
    )
    assert len(problems) == 3
    assert problems[0].startswith("DAG 'd', task 'ai': data argument op_args[1] takes a literal string")
    assert "pass it the output of 'check'" in problems[0]
    assert "which is not a data boundary of 'uc'" in problems[1]
    assert problems[2].startswith("DAG 'd', task 'ai': argument f(dag_run) takes `dag_run`")
    inline = flow_problems(
        "t", sources, use_case="uc", boundaries=set(), upstream=set(), inline_boundary=True
    )
    assert len(inline) == 1 and "f(dag_run)" in inline[0]  # the inline gate scans the rest at run time
    not_upstream = flow_problems(
        "t", sources[:1], use_case="uc", boundaries={"check"}, upstream=set(), inline_boundary=False
    )
    assert "which is not upstream of it" in not_upstream[0]


def test_masks_written_upstream_are_not_findings_when_scanned_again() -> None:
    actions = {t: "block" for t in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "SECRET")}
    masked = " ".join(mask_value(t, f"value {i}") for i, t in enumerate(actions))
    assert apply_boundary({"text": masked}, actions).findings == []
    # a real value does not hide behind the mask syntax
    real = apply_boundary(f"<CREDIT_CARD:{CARD}>", actions)
    assert [str(f.type) for f in real.blocked] == ["CREDIT_CARD"]
