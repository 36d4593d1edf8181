"""Governed DAGs for values a run's conf cannot carry (issue 8, item 10): PII in dict keys and
``Decimal`` values from an upstream task (XCom), and a DataFrame with a ``Categorical`` column given
to the boundary as it is (DataFrames need pyarrow to travel through XCom)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from airflow.sdk import DAG, get_current_context, task

from airflow_ai_governance import governed_workflow

CARD = "4111 1111 1111 1111"


@task
def make_data() -> Any:
    kind = get_current_context()["dag_run"].conf["kind"]
    if kind == "key":
        return [{"id": 1, "notes": "weekly sync"}, {"id": 2, "attendees": {f"card {CARD}": "present"}}]
    if kind == "decimal":
        return [{"id": 1, "amount": Decimal("4111111111111111")}]
    return [{"id": 1, "notes": "weekly sync"}]


def ai_step(data: Any) -> Any:
    conf = get_current_context()["dag_run"].conf
    Path(conf["marker"]).write_text("called")
    return conf["output"]


with DAG("aigov_test_boundary_values", schedule=None, tags=["ai-governance"]):
    governed_workflow("meeting-summaries", data=make_data(), python_callable=ai_step, approval=False)

with DAG("aigov_test_boundary_categorical", schedule=None, tags=["ai-governance"]):
    governed_workflow(
        "meeting-summaries",
        data=pd.DataFrame({"id": [1, 2, 3], "card": pd.Categorical([CARD, "none", CARD])}),
        python_callable=ai_step,
        approval=False,
    )
