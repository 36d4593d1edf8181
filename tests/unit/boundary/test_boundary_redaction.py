"""Masks, redaction and apply_boundary's block / redact / record actions."""

from __future__ import annotations

import copy
import re

import pandas as pd
import pytest

from airflow_ai_governance.boundary import (
    BoundaryAction,
    BoundaryResult,
    EntityType,
    Finding,
    Scanner,
    apply_boundary,
    mask_value,
    redact_text,
)
from airflow_ai_governance.exceptions import DataBoundaryViolation

E = EntityType
MASK = re.compile(r"<([A-Z_]+):([0-9a-f]{32})>")
K1 = "k1-" + "1" * 40


def test_mask_format_and_stability() -> None:
    mask = mask_value(E.EMAIL_ADDRESS, "jane@example.com")
    assert MASK.fullmatch(mask) and mask.startswith("<EMAIL_ADDRESS:")
    assert mask == mask_value("EMAIL_ADDRESS", "jane@example.com")
    assert mask == mask_value(E.EMAIL_ADDRESS, "JANE@example.com")  # e-mail addresses are case-folded
    assert mask != mask_value(E.EMAIL_ADDRESS, "john@example.com")
    assert "jane" not in mask


def test_same_value_in_another_format_gets_the_same_mask() -> None:
    assert mask_value(E.CREDIT_CARD, "4111 1111 1111 1111") == mask_value(
        E.CREDIT_CARD, "4111-1111-1111-1111"
    )
    assert mask_value(E.IBAN_CODE, "DE89 3704 0044 0532 0130 00") == mask_value(
        E.IBAN_CODE, "DE89370400440532013000"
    )
    assert mask_value(E.US_SSN, "234-56-7890") == mask_value(E.US_SSN, "234 56 7890")


def test_mask_depends_on_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = mask_value(E.SECRET, "hunter2")
    assert mask_value(E.SECRET, "hunter2", key=K1) != configured
    assert mask_value(E.SECRET, "hunter2", key=K1) == mask_value(E.SECRET, "hunter2", key=K1.encode())
    monkeypatch.setenv("AIGOV_REDACTION_KEY", K1)
    assert mask_value(E.SECRET, "hunter2") == mask_value(E.SECRET, "hunter2", key=K1)
    assert mask_value(E.SECRET, "hunter2", key="x" * 200)  # long keys are accepted


def test_redact_text() -> None:
    text = "mail a@example.com and a@example.com, card 4111 1111 1111 1111."
    findings = Scanner().scan_text(text)
    redacted = redact_text(text, findings)
    assert "a@example.com" not in redacted and "4111" not in redacted
    masks = MASK.findall(redacted)
    assert [m[0] for m in masks] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS", "CREDIT_CARD"]
    assert masks[0] == masks[1]  # same value, same mask
    assert redacted.startswith("mail <EMAIL_ADDRESS:") and redacted.endswith(">.")
    assert redact_text(text, []) == text


def test_redact_text_merges_overlaps_and_ignores_bad_spans() -> None:
    text = "0123456789"
    out = redact_text(
        text, [Finding(E.SECRET, 2, 6, 1.0), Finding(E.SECRET, 4, 8, 1.0), Finding(E.SECRET, 5, 50, 1.0)]
    )
    assert out.startswith("01<SECRET:") and out.endswith(">89")


def test_apply_boundary_on_text() -> None:
    text = "mail a@example.com, token ghp_abcdefghijklmnopqrstuvwxyz0123456789, ip 10.0.0.1"
    result = apply_boundary(
        text, {"EMAIL_ADDRESS": "redact", "SECRET": BoundaryAction.BLOCK, E.IP_ADDRESS: "record"}
    )
    assert isinstance(result, BoundaryResult)
    assert "a@example.com" not in result.data and "<EMAIL_ADDRESS:" in result.data
    assert "ghp_" in result.data and "10.0.0.1" in result.data  # block and record leave values as they are
    assert [f.type for f in result.blocked] == [E.SECRET]
    assert result.is_blocked
    assert result.redacted == 1
    assert result.summary() == {"EMAIL_ADDRESS": 1, "IP_ADDRESS": 1, "SECRET": 1}
    assert result.blocked_summary() == {"SECRET": 1}


def test_types_without_an_action_are_not_reported() -> None:
    result = apply_boundary("a@example.com 4111 1111 1111 1111", {"CREDIT_CARD": "record"})
    assert [f.type for f in result.findings] == [E.CREDIT_CARD]
    assert result.data == "a@example.com 4111 1111 1111 1111"
    assert apply_boundary("a@example.com", {}).findings == []


def test_apply_boundary_on_records_does_not_mutate_the_input() -> None:
    record = {
        "user": {"email": "jane@example.com", "card": 4111111111111111},
        "notes": ["call +1 415 555 0132", ("a@example.com",)],
        "n": 3,
    }
    before = copy.deepcopy(record)
    result = apply_boundary(
        record, {"EMAIL_ADDRESS": "redact", "CREDIT_CARD": "redact", "PHONE_NUMBER": "block"}
    )
    assert record == before
    assert result.data is not record
    assert result.data["user"]["email"].startswith("<EMAIL_ADDRESS:")
    assert result.data["user"]["card"].startswith("<CREDIT_CARD:")  # an int becomes its mask
    assert result.data["notes"][0] == "call +1 415 555 0132"
    assert isinstance(result.data["notes"][1], tuple) and result.data["notes"][1][0].startswith("<EMAIL")
    assert result.data["n"] == 3
    assert [(f.type, f.path) for f in result.blocked] == [(E.PHONE_NUMBER, "notes[0]")]
    assert {f.path for f in result.findings} == {"user.email", "user.card", "notes[0]", "notes[1][0]"}
    assert result.redacted == 3


def test_apply_boundary_on_a_list() -> None:
    result = apply_boundary(["a@example.com", "ok"], {"EMAIL_ADDRESS": "redact"})
    assert isinstance(result.data, list) and result.data[1] == "ok" and result.data[0].startswith("<EMAIL")


def test_apply_boundary_on_a_dataframe() -> None:
    df = pd.DataFrame(
        {"note": ["mail a@example.com", "nothing"], "card": [4111111111111111, 7], "x": [1.0, 2.0]}
    )
    before = df.copy(deep=True)
    result = apply_boundary(df, {"EMAIL_ADDRESS": "redact", "CREDIT_CARD": "redact"})
    pd.testing.assert_frame_equal(df, before)
    out = result.data
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(df.columns)
    assert out.loc[0, "note"].startswith("mail <EMAIL_ADDRESS:")
    assert out.loc[0, "card"].startswith("<CREDIT_CARD:") and out.loc[1, "card"] == 7
    assert [(f.type, f.path) for f in result.findings] == [
        (E.EMAIL_ADDRESS, "note[0]"),
        (E.CREDIT_CARD, "card[0]"),
    ]


def test_summary_never_contains_values() -> None:
    result = apply_boundary("mail jane@example.com", {"EMAIL_ADDRESS": "block"})
    assert "jane" not in repr(result.summary()) and "jane" not in repr(result.findings)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown boundary action 'drop'"):
        apply_boundary("x", {"EMAIL_ADDRESS": "drop"})
    with pytest.raises(ValueError, match="unknown entity type"):
        apply_boundary("x", {"EMAIL": "block"})
    with pytest.raises(TypeError, match="cannot scan a object at \\(top level\\)"):
        apply_boundary(object(), {"EMAIL_ADDRESS": "block"})


def _gate(data: str) -> str:
    """What a caller (the boundary operator) does: raise on BLOCK findings, pass the redacted data."""
    result = apply_boundary(data, {"SECRET": "block", "EMAIL_ADDRESS": "redact"})
    if result.blocked:
        raise DataBoundaryViolation("blocked data classes found", details=result.blocked_summary())
    return str(result.data)


def test_callers_raise_the_violation() -> None:
    with pytest.raises(DataBoundaryViolation) as excinfo:
        _gate("token ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    assert excinfo.value.details == {"SECRET": 1}
    assert _gate("mail a@example.com").startswith("mail <EMAIL_ADDRESS:")


def test_a_custom_scanner_is_filtered_to_the_action_types() -> None:
    result = apply_boundary("a@example.com 10.0.0.1", {"IP_ADDRESS": "redact"}, scanner=Scanner())
    assert [f.type for f in result.findings] == [E.IP_ADDRESS]
    assert result.data.startswith("a@example.com <IP_ADDRESS:")


def test_numpy_integers_are_scanned_like_integers() -> None:
    import numpy as np

    result = apply_boundary([{"card": np.int64(4111111111111111)}], {"CREDIT_CARD": "redact"})
    assert [f.path for f in result.findings] == ["[0].card"]
    assert MASK.fullmatch(result.data[0]["card"])


def test_values_without_text_pass_unchanged() -> None:
    import datetime as dt
    import uuid
    from decimal import Decimal

    import numpy as np

    record = {
        "amount": Decimal("12.50"),
        "ratio": np.float64(0.5),
        "flag": np.bool_(True),
        "when": dt.datetime(2026, 11, 27, 12, 0),
        "day": dt.date(2026, 11, 27),
        "id": uuid.UUID(int=7),
        "missing": pd.NaT,
        "na": pd.NA,
        "score": 1.5,
    }
    result = apply_boundary([record], {"EMAIL_ADDRESS": "redact"})
    assert result.findings == []
    assert result.data[0] == record or all(
        result.data[0][k] is v for k, v in record.items()
    )  # pd.NA == pd.NA is ambiguous: compare identity


@pytest.mark.parametrize(
    ("value", "name"),
    [(object(), "object"), ((c for c in "jane@example.com"), "generator"), (pd.Index(["x"]), "pandas Index")],
)
def test_nested_values_the_scanner_cannot_see_into_are_refused(value: object, name: str) -> None:
    with pytest.raises(TypeError, match=rf"cannot scan a {name} at \[0\]\.v"):
        apply_boundary([{"v": value}], {"EMAIL_ADDRESS": "redact"})
