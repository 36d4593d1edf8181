"""Identities compare case-folded, NFKC-normalised and trimmed."""

from __future__ import annotations

import pytest

from airflow_ai_governance.policy.identity import normalize_identity, same_identity


@pytest.mark.parametrize("variant", ["Lena", "LENA", " lena ", "\uff4c\uff45\uff4e\uff41", "\uff2cena\t"])
def test_variants_of_one_name_are_one_identity(variant: str) -> None:
    assert normalize_identity(variant) == "lena"
    assert same_identity(variant, "lena")


def test_different_people_and_nobody_differ() -> None:
    assert not same_identity("lena", "lina")
    assert not same_identity(None, "lena")
    assert not same_identity(None, None)
