"""The optional Presidio backend: a clean error without the extra (real runs are integration tests)."""

from __future__ import annotations

import sys

import pytest

from airflow_ai_governance.boundary import EntityType
from airflow_ai_governance.boundary.presidio_backend import (
    PRESIDIO_ENTITIES,
    PresidioScanner,
    presidio_available,
)


def test_missing_presidio_gives_install_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    assert presidio_available() is False
    with pytest.raises(ImportError, match=r"pip install 'airflow-ai-governance\[presidio\]'"):
        PresidioScanner()


def test_entity_mapping_covers_everything_but_secrets() -> None:
    assert set(PRESIDIO_ENTITIES) == set(EntityType) - {EntityType.SECRET}
    assert all(name == etype.value for etype, name in PRESIDIO_ENTITIES.items())


def test_importing_the_package_does_not_import_heavy_libraries() -> None:
    import subprocess

    code = (
        "import sys, airflow_ai_governance.boundary as b; b.Scanner(); "
        "heavy = [m for m in ('pandas', 'presidio_analyzer', 'spacy', 'faker', 'numpy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
