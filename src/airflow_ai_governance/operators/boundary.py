"""``DataBoundaryOperator``: the first gate of every governed run."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow.sdk import BaseOperator

from airflow_ai_governance.gates.boundary import input_ref, read_input_files
from airflow_ai_governance.operators.base import GovernedMixin, gate_errors

if TYPE_CHECKING:
    from airflow.sdk import Context


def parse_file(fh: BinaryIO, path: str) -> Any:
    """Records from ``.jsonl``/``.json``, records from ``.csv``, else the text (``fh`` is open, binary)."""
    suffix = PurePath(path).suffix
    if suffix == ".csv":
        import pandas as pd

        return pd.read_csv(fh).to_dict(orient="records")
    text = io.TextIOWrapper(fh, encoding="utf-8")
    if suffix == ".jsonl":
        return [json.loads(line) for line in text if line.strip()]
    if suffix == ".json":
        return json.load(text)
    return text.read()


class DataBoundaryOperator(GovernedMixin, BaseOperator):
    """Let only approved inputs through, with disallowed data classes blocked, redacted or recorded.

    :param use_case: the registered use case whose policy applies.
    :param data: the records (dicts/lists), text or DataFrame to check (templated; an XComArg works).
    :param files: files to read and check instead of ``data`` (``.jsonl``, ``.json``, ``.csv``,
        text). Each file's real path (``..`` and symlinks resolved) must match an approved ``path``
        input before it is opened, and the file read is the file checked (see docs/boundary.md).
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
                with gate_errors():
                    loaded = read_input_files(ctx, self.files, parse_file)
                data = loaded[0] if len(loaded) == 1 else loaded
            return self.check_boundary(ctx, data, inputs, close_run=True)
        except BaseException as exc:
            self.fail_run(ctx, exc)
            raise
