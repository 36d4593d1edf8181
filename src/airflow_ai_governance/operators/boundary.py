"""``DataBoundaryOperator``: the first gate of every governed run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_ai_governance.gates.boundary import input_ref
from airflow_ai_governance.operators.base import GovernedMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


def read_file(path: str) -> Any:
    """Records from ``.jsonl``/``.json``, a DataFrame from ``.csv``, else the text."""
    file = Path(path)
    if file.suffix == ".jsonl":
        with file.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if file.suffix == ".json":
        return json.loads(file.read_text(encoding="utf-8"))
    if file.suffix == ".csv":
        import pandas as pd

        return pd.read_csv(file).to_dict(orient="records")
    return file.read_text(encoding="utf-8")


class DataBoundaryOperator(GovernedMixin, BaseOperator):
    """Let only approved inputs through, with disallowed data classes blocked, redacted or recorded.

    :param use_case: the registered use case whose policy applies.
    :param data: the records (dicts/lists), text or DataFrame to check (templated; an XComArg works).
    :param files: files to read and check instead of ``data`` (``.jsonl``, ``.json``, ``.csv``,
        text); each is also checked as an input ``path:FILE``.
    :param inputs: where the data comes from, each ``KIND:VALUE`` (``asset``, ``connection``,
        ``table``, ``path``) or an Airflow ``Asset``; each must match the policy's approved inputs.

    Returns the data to pass on: redacted where the policy says ``redact``. A ``block`` finding or an
    unapproved input fails the task without retry; matched values are never logged or stored.
    """

    governance_gate = "data_boundary"
    template_fields: Sequence[str] = ("data", "files", "inputs")
    template_fields_renderers = {"data": "json"}
    ui_color = "#fde2e4"

    def __init__(
        self,
        *,
        use_case: str,
        data: Any = None,
        files: Sequence[str] = (),
        inputs: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if data is None and not files:
            raise ValueError(f"{self.task_id}: give `data` or `files` to check")
        self.use_case = use_case
        self.data = data
        self.files = list(files)
        self.inputs = list(inputs)

    def execute(self, context: Context) -> Any:
        ctx = self.governance_preflight(context)
        inputs = [input_ref(i) for i in self.inputs] + [f"path:{f}" for f in self.files]
        data = self.data
        try:
            if self.files:
                loaded = [read_file(f) for f in self.files]
                data = loaded[0] if len(loaded) == 1 else loaded
            return self.check_boundary(ctx, data, inputs, close_run=True)
        except BaseException as exc:
            self.fail_run(ctx, exc)
            raise
