"""The generated evaluation corpus and the scoring rules."""

from __future__ import annotations

import pytest

from airflow_ai_governance.boundary import EntityType, Finding, Scanner
from airflow_ai_governance.boundary.evaluation import (
    LabelledText,
    Span,
    TypeScore,
    evaluate,
    generate_corpus,
    score,
)

E = EntityType


@pytest.fixture(scope="module")
def corpus() -> list[LabelledText]:
    return generate_corpus(150, seed=11)


def test_corpus_is_reproducible() -> None:
    assert generate_corpus(5, seed=3) == generate_corpus(5, seed=3)
    assert generate_corpus(5, seed=3) != generate_corpus(5, seed=4)


def test_labels_are_consistent(corpus: list[LabelledText]) -> None:
    seen: set[EntityType] = set()
    locales: set[str] = set()
    for doc in corpus:
        locales.add(doc.locale)
        previous_end = 0
        for span in sorted(doc.spans, key=lambda s: s.start):
            assert previous_end <= span.start < span.end <= len(doc.text)
            value = doc.text[span.start : span.end]
            assert value == value.strip() and value
            previous_end = span.end
            seen.add(span.type)
    assert seen == set(EntityType)
    assert len(locales) >= 5
    assert 300 < sum(len(d.text) for d in corpus) / len(corpus) < 3000


def test_corpus_contains_hard_negatives(corpus: list[LabelledText]) -> None:
    text = "\n".join(doc.text for doc in corpus)
    for marker in ("Order ", "Invoice INV-", "ISBN 978-", "sha256 ", "request id ", "MAC ", "ZIP "):
        assert marker in text, marker
    assert generate_corpus(20, seed=1, negatives=False)[0].spans


def test_type_score() -> None:
    s = TypeScore(tp=8, fp=2, fn=8)
    assert (s.precision, s.recall, s.support) == (0.8, 0.5, 16)
    assert s.f1 == pytest.approx(2 * 0.8 * 0.5 / 1.3)
    assert TypeScore().precision == TypeScore().recall == TypeScore().f1 == 0.0


def test_exact_and_overlap_rules() -> None:
    doc = LabelledText("x" * 40, (Span(E.EMAIL_ADDRESS, 0, 10), Span(E.PHONE_NUMBER, 20, 30)))
    predictions = [
        [
            Finding(E.EMAIL_ADDRESS, 0, 10, 1.0),
            Finding(E.PHONE_NUMBER, 21, 30, 1.0),
            Finding(E.IP_ADDRESS, 35, 38, 1.0),
        ]
    ]
    exact = score([doc], predictions)
    assert (exact.per_type[E.EMAIL_ADDRESS].tp, exact.per_type[E.PHONE_NUMBER].tp) == (1, 0)
    assert (exact.per_type[E.PHONE_NUMBER].fp, exact.per_type[E.PHONE_NUMBER].fn) == (1, 1)
    assert exact.per_type[E.IP_ADDRESS].fp == 1
    assert (exact.micro.tp, exact.micro.fp, exact.micro.fn) == (1, 2, 1)
    overlap = score([doc], predictions, rule="overlap")
    assert overlap.per_type[E.PHONE_NUMBER].tp == 1
    assert overlap.as_dict()["rule"] == "overlap"
    only = score([doc], predictions, types=["EMAIL_ADDRESS"])
    assert list(only.per_type) == [E.EMAIL_ADDRESS]
    with pytest.raises(ValueError, match="prediction lists"):
        score([doc], [])


def test_builtin_scanner_on_a_small_corpus(corpus: list[LabelledText]) -> None:
    report = evaluate(Scanner(), corpus)
    assert report.micro.f1 >= 0.98
    for etype, s in report.per_type.items():
        assert s.support > 0, etype
