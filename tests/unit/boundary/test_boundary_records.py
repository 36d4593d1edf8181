"""Scanning records (dict / list / JSON) by field path and DataFrames by column and row."""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_ai_governance.boundary import EntityType, Finding, Scanner

E = EntityType


def test_record_paths() -> None:
    record = {
        "id": 7,
        "customer": {"email": "jane@example.com", "phones": ["+44 20 7946 0958", "n/a"]},
        "items": [{"text": "ok"}, {"text": "ok"}, {"text": "card 4111 1111 1111 1111"}],
        "meta": {"e-mail": "bob@example.org", "a.b": "10.0.0.1"},
        "flag": True,
        "score": 1.5,
        "none": None,
    }
    found = Scanner().scan_record(record)
    assert [(f.type, f.path) for f in found] == [
        (E.EMAIL_ADDRESS, "customer.email"),
        (E.PHONE_NUMBER, "customer.phones[0]"),
        (E.CREDIT_CARD, "items[2].text"),
        (E.EMAIL_ADDRESS, 'meta["e-mail"]'),
        (E.IP_ADDRESS, 'meta["a.b"]'),
    ]
    card = found[2]
    assert record["items"][2]["text"][card.start : card.end] == "4111 1111 1111 1111"  # type: ignore[index]


def test_record_top_level_shapes() -> None:
    scanner = Scanner()
    assert scanner.scan_record("mail a@example.com")[0].path is None
    assert scanner.scan_record(["x", "a@example.com"])[0].path == "[1]"
    assert scanner.scan_record(("a@example.com",))[0].path == "[0]"
    (in_key,) = scanner.scan_record({"a@example.com": "keys are scanned, and never shown in a path"})
    assert (in_key.type, in_key.path, in_key.start, in_key.end) == (E.EMAIL_ADDRESS, "<key#0>", 0, 13)
    assert scanner.scan_record({1: "a@example.com"})[0].path == '["1"]'


def test_integers_are_scanned_as_decimal_text() -> None:
    found = Scanner().scan_record({"card": 4111111111111111, "n": 12, "ok": False})
    assert [(f.type, f.path, f.start, f.end) for f in found] == [(E.CREDIT_CARD, "card", 0, 16)]


def test_deeply_nested_record_does_not_recurse() -> None:
    node: object = "a@example.com"
    for _ in range(5000):
        node = [node]
    (found,) = Scanner().scan_record(node)
    assert found.path is not None and found.path.count("[0]") == 5000


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "note": ["mail a@example.com", None, "nothing", "call +1 415 555 0132 or b@example.org"],
            "card": [4111111111111111, 1, 2, 3],
            "amount": [1.5, 2.5, 3.5, 4.5],
            "my col": ["x", "10.0.0.1", "y", "z"],
        },
        index=[10, 20, 30, 40],
    )


def test_dataframe_paths_use_row_positions() -> None:
    found = Scanner().scan_dataframe(_frame())
    assert [(f.type, f.path) for f in found] == [
        (E.EMAIL_ADDRESS, "note[0]"),
        (E.PHONE_NUMBER, "note[3]"),
        (E.EMAIL_ADDRESS, "note[3]"),
        (E.CREDIT_CARD, "card[0]"),
        (E.IP_ADDRESS, '["my col"][1]'),
    ]
    email = found[2]
    assert _frame()["note"].iloc[3][email.start : email.end] == "b@example.org"


def test_dataframe_columns_argument() -> None:
    assert {f.path for f in Scanner().scan_dataframe(_frame(), columns=["my col"])} == {'["my col"][1]'}


def _per_cell(scanner: Scanner, df: pd.DataFrame) -> list[Finding]:
    out: list[Finding] = []
    for col in df.columns:
        for row, value in enumerate(df[col].tolist()):
            if isinstance(value, str):
                out.extend(
                    Finding(f.type, f.start, f.end, f.confidence, f"{col}[{row}]")
                    for f in scanner.scan_text(value)
                )
    return out


@pytest.mark.parametrize("with_nul", [False, True])
def test_vectorised_dataframe_scan_equals_per_cell_scan(with_nul: bool) -> None:
    from airflow_ai_governance.boundary.evaluation import generate_corpus

    texts = [doc.text for doc in generate_corpus(60, seed=3)]
    # cells that end / start with partial entities must not join up across the separator
    texts += [
        "SSN",
        "234567890",
        "call",
        "4155550132",
        "-----BEGIN PRIVATE KEY-----",
        "AAAA",
        "-----END PRIVATE KEY-----",
    ]
    if with_nul:
        texts.append("a\x00b@example.com")
    df = pd.DataFrame({"text": texts})
    scanner = Scanner()
    assert scanner.scan_dataframe(df) == _per_cell(scanner, df)


def test_dataframe_with_string_dtype() -> None:
    df = pd.DataFrame({"t": pd.Series(["a@example.com", None], dtype="string")})
    assert [f.path for f in Scanner().scan_dataframe(df)] == ["t[0]"]
