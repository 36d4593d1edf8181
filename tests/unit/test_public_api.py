"""The package's top level is the public API of DAG authors: lazy, complete, and nothing else."""

from __future__ import annotations

import subprocess
import sys

import pytest

import airflow_ai_governance as pkg


def test_all_lists_every_export() -> None:
    assert sorted(pkg.__all__) == sorted(["__version__", *pkg._EXPORTS])


@pytest.mark.parametrize("name", sorted(pkg._EXPORTS))
def test_each_public_name_resolves_to_its_module(name: str) -> None:
    value = getattr(pkg, name)
    assert getattr(value, "__name__", name) == name
    assert value.__module__ == pkg._EXPORTS[name]


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'GovernanceApprovalOperator'"):
        _ = pkg.GovernanceApprovalOperator  # the old name is gone


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = (
        "import sys, airflow_ai_governance;"
        "heavy = [m for m in ('airflow', 'sqlalchemy', 'pydantic', 'great_expectations') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
