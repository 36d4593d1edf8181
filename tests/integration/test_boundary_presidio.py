"""Built-in scanner vs Presidio's pattern recognizers on the generated corpus (accuracy targets).

Throughput is measured by ``bench/boundary.py``; here only accuracy, on a modest corpus.
"""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_ai_governance.boundary import EntityType, Scanner
from airflow_ai_governance.boundary.evaluation import evaluate, generate_corpus

pytestmark = pytest.mark.integration

presidio_backend = pytest.importorskip("airflow_ai_governance.boundary.presidio_backend")
if not presidio_backend.presidio_available():  # pragma: no cover - environment
    pytest.skip("presidio-analyzer / spaCy not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def presidio() -> presidio_backend.PresidioScanner:
    return presidio_backend.PresidioScanner()


@pytest.mark.timeout(300)
def test_accuracy_at_least_presidios_per_type(presidio: presidio_backend.PresidioScanner) -> None:
    corpus = generate_corpus(300, seed=4242)
    ours = evaluate(Scanner(), corpus)
    theirs = evaluate(presidio, corpus)
    for etype in EntityType:
        o, p = ours.per_type[etype], theirs.per_type[etype]
        assert o.precision >= p.precision, (etype, o, p)
        assert o.recall >= p.recall, (etype, o, p)
    assert ours.micro.f1 >= 0.98
    assert theirs.per_type[EntityType.SECRET].tp == 0  # Presidio has no secret recognizer


def test_presidio_scanner_interface(presidio: presidio_backend.PresidioScanner) -> None:
    text = "mail jane@example.com, card 4111 1111 1111 1111"
    found = presidio.scan_text(text)
    assert {(f.type, text[f.start : f.end]) for f in found} >= {
        (EntityType.EMAIL_ADDRESS, "jane@example.com"),
        (EntityType.CREDIT_CARD, "4111 1111 1111 1111"),
    }
    assert [f.path for f in presidio.scan_record({"a": [text]})][:1] == ["a[0]"]
    df = pd.DataFrame({"t": [text, None]})
    assert {f.path for f in presidio.scan_dataframe(df)} == {"t[0]"}
    only = presidio_backend.PresidioScanner(["EMAIL_ADDRESS"])
    assert {f.type for f in only.scan_text(text)} == {EntityType.EMAIL_ADDRESS}
