"""Policy YAML is read defensively: what the file shows is what loads (issue 8, item 7).

Before the fix a duplicate key silently won (a file showing ``tier: 3`` loaded as tier 1), and an
alias bomb or a 21 MB file made ``policy validate``/``sync`` run for minutes at 2-3 GB. The attack
inputs below are the real ones; the timeouts only guard the run (they measure nothing).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_ai_governance.exceptions import PolicyError
from airflow_ai_governance.policy import load_policy, parse_policy
from airflow_ai_governance.policy.loader import MAX_BYTES_ENV
from helpers.attacks import billion_laughs, write_padded


def _example(examples_dir: Path) -> str:
    return (examples_dir / "product_claims.yaml").read_text()


@pytest.mark.parametrize(("shown", "hidden"), [("tier: 3", "tier: 1"), ("tier: 1", "tier: 3")])
def test_duplicate_top_level_key_is_refused_with_both_lines(
    examples_dir: Path, shown: str, hidden: str
) -> None:
    text = _example(examples_dir).replace("tier: 3\n", f"{shown}\n", 1) + f"{hidden}\n"
    lines = text.splitlines()
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "claims.yaml")
    assert str(caught.value) == (
        f"claims.yaml:{len(lines)}: duplicate key 'tier' (first on line {lines.index(shown) + 1}): a key "
        "may appear once per mapping, so that the file shows what loads"
    )


@pytest.mark.parametrize(
    ("needle", "duplicate"),
    [
        ("  default_action: block\n", "  default_action: redact\n"),  # nested mapping
        ("owner: {id: paula,", "owner: {id: mallory, id: paula,"),  # flow mapping
        ("  review_cadence_days: 30\n", '  "review_cadence_days": 365\n'),  # quoted twin
    ],
)
def test_nested_and_quoted_duplicates_are_refused(examples_dir: Path, needle: str, duplicate: str) -> None:
    text = _example(examples_dir)
    assert needle in text
    text = text.replace(needle, needle + duplicate if needle.endswith("\n") else duplicate, 1)
    with pytest.raises(PolicyError, match=r"claims.yaml:\d+: duplicate key"):
        parse_policy(text, "claims.yaml")


def test_merge_keys_are_refused(examples_dir: Path) -> None:
    text = _example(examples_dir) + "x-base: &base {min_reviewers: 0}\ngates:\n  <<: *base\n"
    text = text.replace("gates:\n  review_cadence_days: 30\n", "")
    with pytest.raises(PolicyError, match=r"claims.yaml:\d+: merge keys \(<<\) are not allowed"):
        parse_policy(text, "claims.yaml")


def test_plain_aliases_still_work(examples_dir: Path) -> None:
    text = _example(examples_dir).replace(
        "  - {id: lena, channel: email, address: lena@example.com}",
        "  - {id: lena, channel: email, address: &mail lena@example.com}",
    )
    text = text.replace("tags: [public, marketing]", "tags: [public, marketing, *mail]")
    assert "lena@example.com" in parse_policy(text, "claims.yaml").tags


@pytest.mark.timeout(30)
def test_billion_laughs_fails_fast(examples_dir: Path) -> None:
    text = _example(examples_dir).replace("tags: [public, marketing]\n", "") + billion_laughs()
    started = time.monotonic()
    with pytest.raises(PolicyError, match=r"claims.yaml:\d+: the document expands to more than"):
        parse_policy(text, "claims.yaml")
    assert time.monotonic() - started < 30  # the guard; the real figure is milliseconds


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: &a [*a]\n", "recursive alias"),
        ("a: " + "[" * 500 + "]" * 500 + "\n", "nested more than 32 levels deep"),
    ],
)
def test_recursive_and_deep_documents_are_refused(text: str, error: str) -> None:
    with pytest.raises(PolicyError, match=error):
        parse_policy(text, "x.yaml")


@pytest.mark.timeout(60)
def test_oversized_file_is_refused_unread(tmp_path: Path, examples_dir: Path) -> None:
    huge = write_padded(tmp_path / "huge.yaml", _example(examples_dir))
    with pytest.raises(PolicyError, match=r"huge.yaml: policy file is 22\d{6} bytes, more than the limit"):
        load_policy(huge)


def test_size_cap_is_configurable(
    tmp_path: Path, examples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(_example(examples_dir))
    monkeypatch.setenv(MAX_BYTES_ENV, "1000")
    with pytest.raises(PolicyError, match=f"more than the limit of 1000 bytes \\(set {MAX_BYTES_ENV}"):
        load_policy(path)
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(PolicyError, match="expected a number of bytes"):
        load_policy(path)
    monkeypatch.setenv(MAX_BYTES_ENV, str(10**8))
    assert load_policy(path).policy.id == "product-claims"
