"""Property-based tests: the scanner never crashes, never hangs, and runs in linear time.

Timing tests compare the same input shape at two sizes (relative bounds only, no absolute speed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_ai_governance.boundary import EntityType, Finding, Scanner, apply_boundary, redact_text
from airflow_ai_governance.boundary._rank import RANK

SCANNER = Scanner()
E = EntityType

# Pieces of real entities, near misses and separators: glued together at random they reach every
# branch of the detectors (candidates, validators, overlaps, context windows).
FRAGMENTS = [
    "a@example.com", "@", ".", "..", "jane.doe", "example.co.uk", "@2x.png",
    "4111 1111 1111 1111", "4111111111111111", "4111-1111", "3782 822463 10005", "1234",
    "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82 WEST", "DE", "89",
    "234-56-7890", "SSN ", "234567890", "000-12-3456",
    "192.168.1.10", "999.1.1.1", "1.2.3.4.5", "10.0.0.0/8", "version ", "2001:db8::1", "::", "fe80::",
    "::ffff:1.2.3.4", "14:22:05",
    "+1 415 555 0132", "(415) 555-0132", "+44 (0)20 7946 0958", "030 12345678", "(11) 91234-5678",
    "phone ", "call ", " x12", "00", "0", "+", "(", ")", "-", "/", " ",
    "AKIAIOSFODNN7EXAMPLE", "ghp_", "abcdefghijklmnopqrstuvwxyz0123456789", "sk-", "xoxb-", "eyJ",
    "eyJhbGciOiJIUzI1NiJ9", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "MIIE\n",
    "postgresql://", "app:", "S3cr3t!", "password=", "Password: ", '"', "'", "=", ":", "\n", "\x00",
    "é", "ß", "İ", "ﬁ", "🙂", "١٢٣", "\u00a0", "\u200b",
]  # fmt: skip

soups = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map("".join)
symbolish = st.text(alphabet="0123456789 -.()+/:@_=\"'\nabcDEFxX#İé\x00", max_size=200)


def check_findings(text: str, found: list[Finding]) -> None:
    previous_end = 0
    for f in found:
        assert isinstance(f.type, EntityType)
        assert previous_end <= f.start < f.end <= len(text), (f, len(text))
        assert 0.0 < f.confidence <= 1.0
        value = text[f.start : f.end]
        assert value and value == value.strip(), repr(value)
        previous_end = f.end


# Types whose detection does not depend on the words around the value.
CONTEXT_FREE = {E.EMAIL_ADDRESS, E.CREDIT_CARD, E.IBAN_CODE}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), soups, symbolish))
def test_never_crashes_and_offsets_round_trip(text: str) -> None:
    found = SCANNER.scan_text(text)
    check_findings(text, found)
    for f in found:
        if f.type in CONTEXT_FREE:
            # Scanned alone, the value is found again as a whole, unless a finding of higher
            # priority shows up in it (e.g. a card number that is an e-mail's local part).
            alone = SCANNER.scan_text(text[f.start : f.end])
            whole = (f.type, 0, f.end - f.start)
            assert whole in [(g.type, g.start, g.end) for g in alone] or any(
                RANK[g.type] < RANK[f.type] for g in alone
            ), (f, alone)
    for etype in EntityType:
        assert Scanner([etype]).scan_text(text) == [f for f in found if f.type is etype]


@settings(max_examples=150, deadline=None)
@given(soups)
def test_redaction_removes_every_finding(text: str) -> None:
    result = apply_boundary(text, {t: "redact" for t in EntityType})
    assert result.redacted == len(result.findings)
    assert redact_text(text, result.findings) == result.data
    for f in result.findings:
        assert f.type.value in result.data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(soups, st.none(), st.integers()), min_size=1, max_size=12))
def test_vectorised_dataframe_scan_equals_per_cell_scan(cells: list[object]) -> None:
    df = pd.DataFrame({"c": pd.Series(cells, dtype=object)})
    expected = []
    for row, value in enumerate(cells):
        text = str(value) if isinstance(value, int) else value
        if isinstance(text, str):
            expected += [
                Finding(f.type, f.start, f.end, f.confidence, f"c[{row}]") for f in SCANNER.scan_text(text)
            ]
    assert SCANNER.scan_dataframe(df) == expected


@pytest.mark.timeout(600)
def test_ten_megabyte_line() -> None:
    chunk = " ".join(FRAGMENTS[:60]) + " Lorem ipsum dolor sit amet. "
    text = (chunk * (10_000_000 // len(chunk) + 1))[:10_000_000]
    found = SCANNER.scan_text(text)
    assert len(found) > 10_000
    check_findings(text, found)


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "local part then @": lambda n: "a" * n + "@",
    "digit dash pairs": lambda n: "1-" * n,
    "BEGIN markers": lambda n: "-----BEGIN " * n,
    "BEGIN headers, no END": lambda n: "-----BEGIN RSA PRIVATE KEY-----\n" * n,
    "long digit run": lambda n: "1" * n,
    "digits and spaces": lambda n: "1 " * n,
    "plus digits": lambda n: "+1 " * n,
    "zeros": lambda n: "0 " * n,
    "parentheses": lambda n: "(" * n,
    "double colons": lambda n: "::" * n,
    "hex and colons": lambda n: "ab:" * n,
    "JWT starts": lambda n: "eyJ" * n,
    "JWT without dots": lambda n: "eyJ" + "a" * n,
    "token prefixes": lambda n: "ghp_sk-AKIA" * n,
    "key=value keys": lambda n: "password=" * n,
    "key: value pairs": lambda n: "password: aB3" * n,
    "dotted digits": lambda n: "1." * n,
    "at dots": lambda n: "@." * n,
    "domain labels": lambda n: "x@" + "a." * n,
    "URL credentials": lambda n: "://a:b" * n,
    "IBAN prefixes": lambda n: "DE89 " * n,
    "card groups": lambda n: "4111 " * n,
    "SSN groups": lambda n: "123-45-" * n,
}


def _best_time(text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        SCANNER.scan_text(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_linear_time_on_adversarial_input(name: str) -> None:
    make = ADVERSARIAL[name]
    small, large = make(20_000), make(160_000)  # 8x the size
    t_small, t_large = _best_time(small), _best_time(large)
    # linear: about 8x; quadratic would be about 64x. Generous for noisy machines.
    assert t_large <= 24 * t_small + 0.05, (name, t_small, t_large)
