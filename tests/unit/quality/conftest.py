"""Fixtures for the quality layer: example policies' standards and good outputs for them.

Every test runs real Great Expectations; the GX context and suites are cached per process by the
quality layer itself, so GX is imported once for the whole session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_ai_governance.policy import load_policy
from airflow_ai_governance.policy.models import OutputField, OutputStandard

Records = list[dict[str, Any]]


def make_standard(*fields: dict[str, Any], **settings: Any) -> OutputStandard:
    """An output standard with the given fields (dicts of OutputField settings)."""
    return OutputStandard(
        description="a standard written for a unit test",
        fields=[OutputField(**f) for f in fields],
        **settings,
    )


@pytest.fixture
def standard_factory() -> Callable[..., OutputStandard]:
    return make_standard


def _standard(examples_dir: Path, file: str) -> OutputStandard:
    standard = load_policy(examples_dir / file).policy.output_standard
    assert standard is not None
    return standard


@pytest.fixture
def invoice_standard(examples_dir: Path) -> OutputStandard:
    return _standard(examples_dir, "invoice_triage.yaml")


@pytest.fixture
def meeting_standard(examples_dir: Path) -> OutputStandard:
    return _standard(examples_dir, "meeting_summaries.yaml")


@pytest.fixture
def claims_standard(examples_dir: Path) -> OutputStandard:
    return _standard(examples_dir, "product_claims.yaml")


QUEUES = ("auto_pay", "manager_review", "dispute")


def good_invoices(n: int = 50) -> Records:
    return [
        {
            "invoice_id": f"INV-{100000 + i:06d}",
            "queue": QUEUES[i % 3],
            "confidence": round(0.6 + (i % 40) / 100, 2),
            "supplier": f"Supplier {i % 7}",  # an extra column: allowed by default
        }
        for i in range(n)
    ]


def good_meetings(n: int = 12) -> Records:
    return [
        {
            "meeting_id": f"MTG-{2000 + i}",
            "summary": f"Weekly sync {i}: the team agreed to ship the release on Friday and to review "
            "the open incidents on Monday.",
            "action_items": i % 5,
        }
        for i in range(n)
    ]


def good_claims(n: int = 5) -> Records:
    return [
        {
            "claim_id": f"CLM-{100 + i}",
            "claim": f"In benchmark BM-{i + 1}, version 4 processed 1.8 million rows per second on 8 cores.",
            "benchmark_id": f"BM-{i + 1}",
        }
        for i in range(n)
    ]


@pytest.fixture
def invoices() -> Records:
    """50 good invoice-triage outputs (fresh for each test, so tests may spoil them)."""
    return good_invoices()


@pytest.fixture
def meetings() -> Records:
    return good_meetings()


@pytest.fixture
def claims() -> Records:
    return good_claims()
