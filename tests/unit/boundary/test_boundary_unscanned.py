"""Issue 8, item 10: values that passed the boundary unscanned, fixed as a class.

PII in dict keys, ``Decimal`` values, pandas ``Categorical`` columns (and other dtypes, the index,
labels, attrs), bytes, dataclasses and pydantic models used to pass; a record nested ~500 deep
raised ``RecursionError``. The property test generates values of many container and scalar types
with PII in every position and checks that all of it is found, that redaction leaves none of it,
and that nothing the gate stores (findings, paths, summaries, errors) contains any of it.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import re
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from airflow_ai_governance.boundary import EntityType, Scanner, apply_boundary

E = EntityType
CARD = "4111 1111 1111 1111"
ALL_BLOCK = {t: "block" for t in EntityType}
ALL_REDACT = {t: "redact" for t in EntityType}
#: Luhn-valid card numbers (as numbers they are found too).
CARDS = [4111111111111111, 5500000000000004, 4012888888881881, 5105105105105100, 6011111111111117]
SECRET_RE = re.compile(r"@example\.com|234-56-78\d\d|" + "|".join(str(c) for c in CARDS))


@dataclasses.dataclass
class Note:
    text: Any
    extra: Any = None


@dataclasses.dataclass(frozen=True)
class FrozenNote:
    text: Any


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)
    text: Any = None


Pair = collections.namedtuple("Pair", ["a", "b"])


def types_at(result: Any) -> list[tuple[str, str | None]]:
    return [(f.type.value, f.path) for f in result.findings]


# ------------------------------------------------------------------ the reported cases
def test_pii_in_dict_keys_is_found_and_never_shown_in_a_path() -> None:
    """Fails before the fix: keys were not scanned at all."""
    record = [{"id": i} for i in range(7)] + [{"notes": {f"card {CARD}": "present", "ok": "fine"}}]
    result = apply_boundary(record, ALL_BLOCK)
    assert types_at(result) == [("CREDIT_CARD", "[7].notes.<key#0>")]
    redacted = apply_boundary(record, ALL_REDACT).data
    (key,) = [k for k in redacted[7]["notes"] if k != "ok"]
    assert key.startswith("card <CREDIT_CARD:") and "4111" not in json.dumps(redacted)


def test_values_under_a_pii_key_are_located_by_position() -> None:
    result = apply_boundary({"jane@example.com": {"phone": "+1 415 555 0132"}}, ALL_BLOCK)
    assert types_at(result) == [("EMAIL_ADDRESS", "<key#0>"), ("PHONE_NUMBER", "<key#0>.phone")]
    # a key with data the policy does not act on is not shown either (nothing matched is stored)
    only_phone = apply_boundary({"jane@example.com": {"phone": "+1 415 555 0132"}}, {"PHONE_NUMBER": "block"})
    assert types_at(only_phone) == [("PHONE_NUMBER", "<key#0>.phone")]


@pytest.mark.parametrize(
    "value",
    [
        Decimal("4111111111111111"),
        Decimal("4111111111111111.00"),
        Decimal("4.111111111111111E+15"),
        4111111111111111.0,
        np.float64(4111111111111111),
    ],
    ids=["decimal", "decimal-cents", "decimal-exponent", "float", "numpy-float"],
)
def test_card_numbers_as_decimal_or_float_are_found(value: Any) -> None:
    """Fails before the fix: Decimal and float leaves were passed on as opaque numbers."""
    result = apply_boundary([{"amount": value}], {"CREDIT_CARD": "redact"})
    assert types_at(result) == [("CREDIT_CARD", "[0].amount")]
    assert str(result.data[0]["amount"]).startswith("<CREDIT_CARD:")


def test_categorical_columns_are_scanned_with_their_unused_categories() -> None:
    """Fails before the fix: category columns were not among the scanned dtypes."""
    df = pd.DataFrame(
        {
            "n": [1, 2, 3],
            "card": pd.Categorical([CARD, "none", CARD], categories=[CARD, "none", "jane@example.com"]),
        }
    )
    result = apply_boundary(df, {"CREDIT_CARD": "block", "EMAIL_ADDRESS": "block"})
    assert types_at(result) == [
        ("CREDIT_CARD", "card[0]"),
        ("CREDIT_CARD", "card[2]"),
        ("EMAIL_ADDRESS", "card.<categories>[2]"),
    ]
    out = apply_boundary(df, ALL_REDACT).data
    assert isinstance(out["card"].dtype, pd.CategoricalDtype)
    assert not any(SECRET_RE.search(str(c)) for c in out["card"].cat.categories)
    assert out["card"].iloc[0] == out["card"].iloc[2] != "none"
    assert df["card"].iloc[0] == CARD  # the input is not mutated


def test_every_part_of_a_dataframe_is_scanned() -> None:
    df = pd.DataFrame(
        {
            "object": ["x", "jane@example.com"],
            "string": pd.array(["+1 415 555 0132", None], dtype="string"),
            "float": [np.nan, 4111111111111111.0],
            "nullable": pd.array([None, 5500000000000004], dtype="Int64"),
            "records": [{"nested": ["bob@example.com"]}, None],
            "DE89370400440532013000": [1, 2],
            "when": pd.to_datetime(["2026-01-01", "2026-01-02"]),
        },
        index=pd.Index(["a", "234-56-7890"], name="ssn index"),
    )
    df.attrs["owner"] = "owner@example.com"
    result = apply_boundary(df, ALL_BLOCK)
    assert sorted(types_at(result)) == sorted(
        [
            ("IBAN_CODE", "<column#5>"),
            ("EMAIL_ADDRESS", "object[1]"),
            ("PHONE_NUMBER", "string[0]"),
            ("CREDIT_CARD", "float[1]"),
            ("CREDIT_CARD", "nullable[1]"),
            ("EMAIL_ADDRESS", "records[0].nested[0]"),
            ("US_SSN", "<index>[1]"),
            ("EMAIL_ADDRESS", "<attrs>.owner"),
        ]
    )
    out = apply_boundary(df, ALL_REDACT).data
    assert not SECRET_RE.search(deep_text(out)) and "DE89" not in deep_text(out)
    assert SECRET_RE.search(deep_text(df))  # the helper does see them


def test_series_and_numpy_arrays() -> None:
    s = pd.Series(["ok", "jane@example.com"], index=["x", "y"], name="mail bob@example.com")
    assert types_at(apply_boundary(s, ALL_BLOCK)) == [("EMAIL_ADDRESS", "[1]"), ("EMAIL_ADDRESS", "<name>")]
    arr = np.array([["a", "jane@example.com"]], dtype=object)
    assert types_at(apply_boundary({"a": arr}, ALL_BLOCK)) == [("EMAIL_ADDRESS", "a[0][1]")]


def test_bytes_dataclasses_pydantic_and_other_containers() -> None:
    model = Model(text=b"jane@example.com", extra_field={"k": Note("234-56-7890")})
    value = {
        "bytes": bytearray(b"mail bob@example.com \xff"),
        "frozen": FrozenNote(text=Decimal("4111111111111111")),
        "model": model,
        "pair": Pair("x", "carl@example.com"),
        "set": {"dan@example.com"},
        "deque": collections.deque(["erin@example.com"]),
        "path": PurePosixPath("/data/frank@example.com/x.txt"),
    }
    result = apply_boundary(value, ALL_BLOCK)
    assert sorted(types_at(result)) == sorted(
        [
            ("EMAIL_ADDRESS", "bytes"),
            ("CREDIT_CARD", "frozen.text"),
            ("EMAIL_ADDRESS", "model.text"),
            ("US_SSN", "model.<extra>.extra_field.k.text"),
            ("EMAIL_ADDRESS", "pair[1]"),
            ("EMAIL_ADDRESS", "set[0]"),
            ("EMAIL_ADDRESS", "deque[0]"),
            ("EMAIL_ADDRESS", "path"),
        ]
    )
    out = apply_boundary(value, ALL_REDACT).data
    assert not SECRET_RE.search(deep_text(out))
    assert isinstance(out["bytes"], bytearray) and out["bytes"].endswith(b" \xff")  # bytes kept
    assert isinstance(out["frozen"], FrozenNote) and isinstance(out["model"], Model)
    assert isinstance(out["pair"], Pair) and out["pair"].a == "x"
    assert model.text == b"jane@example.com"  # not mutated


@pytest.mark.parametrize("depth", [500, 5_000, 50_000])
def test_any_depth_is_scanned_and_redacted(depth: int) -> None:
    """Fails before the fix: the redaction walk recursed (RecursionError at ~500)."""
    node: Any = {"mail": "jane@example.com"}
    for _ in range(depth):
        node = {"child": [node]}
    result = apply_boundary(node, ALL_REDACT)
    (finding,) = result.findings
    assert finding.path is not None and finding.path.endswith("child[0].mail")
    inner = result.data
    for _ in range(depth):
        inner = inner["child"][0]
    assert inner["mail"].startswith("<EMAIL_ADDRESS:")
    assert len(Scanner().scan_record(node)) == 1


# ------------------------------------------------------------------ the class: a property test
def deep_text(value: Any) -> str:
    """Everything a value holds, as text (independent of the code under test)."""
    out: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, bytes | bytearray):
            out.append(bytes(node).decode("utf-8", "replace"))
        elif isinstance(node, float) and math.isfinite(node) and node.is_integer():
            out.append(str(int(node)))
        elif isinstance(node, Decimal) and node.is_finite():
            out.append(str(int(node)) if node == node.to_integral_value() else str(node))
        elif isinstance(node, dict):
            for k, v in node.items():
                stack.extend([k, v])
        elif isinstance(node, pd.DataFrame):
            stack.extend([list(node.columns), node.index.tolist(), list(node.index.names), dict(node.attrs)])
            stack.extend(node.iloc[:, j] for j in range(node.shape[1]))
        elif isinstance(node, pd.Series):
            if isinstance(node.dtype, pd.CategoricalDtype):
                stack.append(node.cat.categories.tolist())
            stack.extend([node.tolist(), node.index.tolist(), node.name, dict(node.attrs)])
        elif isinstance(node, np.ndarray):
            stack.append(node.tolist())
        elif isinstance(node, BaseModel):
            stack.extend(
                [dict(node.__dict__), node.__pydantic_extra__ or {}, node.__pydantic_private__ or {}]
            )
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.append(dict(vars(node)))
        elif isinstance(node, list | tuple | set | frozenset | collections.deque):
            stack.extend(node)
        elif node is not None:
            out.append(str(node))
    return "\n".join(out)


emails = st.integers(0, 10**6).map(lambda n: f"u{n}@example.com")
cards = st.sampled_from(CARDS)
secret_text = st.one_of(
    emails.map(lambda e: f"mail {e} now"),
    cards.map(lambda c: f"card {c}"),
    st.just("SSN 234-56-7890"),
)
filler = st.one_of(st.just("hello"), st.integers(-5, 5), st.just(1.5), st.none(), st.booleans())
scalar_carriers = st.one_of(
    secret_text,
    secret_text.map(lambda t: t.encode()),
    secret_text.map(lambda t: bytearray(t.encode())),
    cards,
    cards.map(Decimal),
    cards.map(float),
    cards.map(np.int64),
    emails.map(lambda e: PurePosixPath(f"/in/{e}")),
)
leaves = st.one_of(filler, scalar_carriers)


def _frame(values: list[Any], kind: str) -> pd.DataFrame:
    texts = [v if isinstance(v, str) else json.dumps(str(v)) for v in values]
    if kind == "category":
        return pd.DataFrame({"c": pd.Categorical(texts)})
    if kind == "string":
        return pd.DataFrame({"c": pd.array(texts, dtype="string")})
    if kind == "index":
        return pd.DataFrame({"n": range(len(texts))}, index=pd.Index(texts))
    if kind == "label":
        return pd.DataFrame({t: [1] for t in dict.fromkeys(texts)})
    return pd.DataFrame({"c": pd.Series(values, dtype=object)})


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    texts = st.lists(st.one_of(secret_text, st.just("ok")), min_size=1, max_size=4)
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.just("k"), secret_text, emails), children, max_size=3),
        st.tuples(secret_text, children).map(lambda kv: {kv[0]: kv[1]}),
        st.tuples(children, children).map(lambda ab: Pair(*ab)),
        children.map(lambda c: Note(text=c)),
        children.map(lambda c: FrozenNote(text=c) if _hashable(c) else Note(text=c)),
        children.map(lambda c: Model(text=c)),
        st.tuples(secret_text, children).map(lambda kv: Model(text=kv[0], extra_field=kv[1])),
        st.lists(secret_text, max_size=3).map(frozenset),
        st.lists(children, max_size=3).map(collections.deque),
        st.tuples(texts, st.sampled_from(["object", "category", "string", "index", "label"])).map(
            lambda tk: _frame(*tk)
        ),
        st.lists(secret_text, min_size=1, max_size=3).map(lambda v: pd.Series(v, dtype="category")),
    )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


values = st.recursive(leaves, containers, max_leaves=12)


def stored_artefacts(result: Any) -> str:
    """What the gate stores or logs: findings (paths, offsets, types), the summaries."""
    return json.dumps(
        {
            "findings": [f.as_dict() for f in result.findings],
            "summary": result.summary(),
            "blocked": result.blocked_summary(),
        }
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_pii_in_any_position_is_found_redacted_and_never_stored(value: Any) -> None:
    """Fails before the fix (keys, Decimal, floats, bytes, models, categories, labels, index...)."""
    has_pii = bool(SECRET_RE.search(deep_text(value)))
    blocked = apply_boundary(value, ALL_BLOCK)
    assert blocked.is_blocked == has_pii
    assert not SECRET_RE.search(stored_artefacts(blocked))
    redacted = apply_boundary(value, ALL_REDACT)
    assert not SECRET_RE.search(deep_text(redacted.data)), deep_text(redacted.data)
    assert not SECRET_RE.search(stored_artefacts(redacted))
    assert len(redacted.findings) == len(blocked.findings) == len(Scanner().scan_record(value))
