"""The per-value field-type checks, on the values pandas hands to them (no GX needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_ai_governance.quality import matches_field_type

CASES: list[tuple[str, list[Any], list[Any]]] = [
    ("string", ["x", "", np.str_("y")], [5, 1.5, True, b"x", ["x"], {"a": 1}]),
    (
        "integer",
        [0, -3, 2**70, np.int64(4), np.uint8(7), 3.0, np.float64(2.0), Decimal("5")],
        [2.5, True, np.bool_(False), "3", float("inf"), Decimal("1.5"), None, [1]],
    ),
    (
        "number",
        [0, 1.5, -2, np.float32(0.25), np.int32(3), Decimal("1.25")],
        [True, np.bool_(True), "0.5", float("inf"), float("-inf"), Decimal("NaN"), [1.0]],
    ),
    ("boolean", [True, False, np.bool_(True)], [1, 0, "true", "yes", 1.0]),
    (
        "datetime",
        [
            datetime(2024, 5, 1, 12, 30),
            datetime(2024, 5, 1, tzinfo=UTC),
            pd.Timestamp("2024-05-01T10:00:00Z"),
            np.datetime64("2024-05-01T10:00"),
            "2024-05-01T10:00:00+02:00",
            "2024-05-01 10:00",
            "2024-05-01T10:00:00Z",
        ],
        ["yesterday", "01/05/2024", 1714557600, date(2024, 5, 1), np.datetime64("NaT")],
    ),
    (
        "date",
        [date(2024, 2, 29), "2024-02-29", datetime(2024, 3, 1), pd.Timestamp("2024-03-01")],
        ["2024-02-30", "2024-3-1", "20240301", datetime(2024, 3, 1, 9, 30), 20240301, "2024-03-01T00:00"],
    ),
]


@pytest.mark.parametrize(("field_type", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_type_checks(field_type: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert matches_field_type(value, field_type), (field_type, value)
    for value in bad:
        assert not matches_field_type(value, field_type), (field_type, value)


def test_unknown_field_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown field type 'text'"):
        matches_field_type("x", "text")
