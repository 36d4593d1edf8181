"""Issue 8, item 8: redaction masks cannot be reversed offline, and there is no default key.

The attack: with no key configured, masks were made with a built-in key under a 32-bit digest, so an
SSN was recovered from its mask by trying every SSN. These tests run that enumeration (over a
reduced space that contains the value, small enough for a test) with every key and hash an
attacker without the configured key could try, and assert that none finds the value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from airflow_ai_governance.boundary import EntityType, apply_boundary, mask_value, redact_text, scan_text
from airflow_ai_governance.boundary import redaction as redaction_module
from airflow_ai_governance.keys import KeyMissing, ensure_key_file

E = EntityType
SSN = "234-56-7890"
MASK = re.compile(r"<([A-Z_]+):([0-9a-f]+)>")
#: The key the code shipped with (a DAG author can read it in the package).
OLD_DEFAULT_KEY = b"airflow-ai-governance/redaction/v1"
#: Keys an attacker without the configured key would try.
GUESSED_KEYS = [OLD_DEFAULT_KEY, b"", b"aigov", b"redaction", b"airflow-ai-governance"]


@pytest.fixture
def no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No redaction key anywhere (environment, airflow.cfg, key file), a fresh process key."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONFIG", raising=False)
    for name in (
        "AIRFLOW__AI_GOVERNANCE__REDACTION_KEY",
        "AIRFLOW__AI_GOVERNANCE__KEY_FILE",
        "AIGOV_REDACTION_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(redaction_module, "_ephemeral", None, raising=False)
    return tmp_path


def _digest(mask: str) -> str:
    match = MASK.fullmatch(mask)
    assert match, mask
    return match.group(2)


def _offline_candidates(etype: EntityType, value: str, keys: tuple[bytes, ...] = ()) -> set[str]:
    """Every digest an attacker without the configured key can compute for ``value``, at every
    length a mask might be truncated to."""
    digits = "".join(c for c in value if c.isdigit())
    out: set[str] = set()
    for form in {value, digits, value.casefold()}:
        data = form.encode()
        full: list[str] = [
            hashlib.sha256(data).hexdigest(),
            hashlib.sha1(data).hexdigest(),
            hashlib.md5(data).hexdigest(),  # the attacker's guess, not our hash
            hashlib.blake2b(data).hexdigest(),
        ]
        for key in (*GUESSED_KEYS, *keys):
            if key:
                full.append(hashlib.blake2b(data, key=key, digest_size=4, person=b"aigov-mask").hexdigest())
                full.append(hashlib.blake2b(data, key=key).hexdigest())
            for message in (data, etype.value.encode() + b"\x00" + data):
                full.append(hmac.new(key, message, hashlib.sha256).hexdigest())
                full.append(
                    hmac.new(key, b"airflow-ai-governance/mask/v2\x00" + message, hashlib.sha256).hexdigest()
                )
        for digest in full:
            out.update(digest[:n] for n in (8, 16, 32, 64))
    return out


def _enumerate_ssns(target_digest: str, keys: tuple[bytes, ...] = ()) -> list[str]:
    """Try every SSN 234-56-6000 .. 234-56-7999 (the real attack tries all 10^9 the same way)."""
    return [
        candidate
        for candidate in (f"234-56-{n:04d}" for n in range(6000, 8000))
        if target_digest in _offline_candidates(E.US_SSN, candidate, keys)
    ]


def test_enumerating_ssns_without_the_key_does_not_find_the_value(no_key: Path) -> None:
    """Fails before the fix: the mask was BLAKE2b-32 under the built-in key, found in the first pass."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing-key warning, tested below
        redacted = apply_boundary(f"SSN {SSN} on file", {"US_SSN": "redact"}).data
    (mask,) = MASK.findall(redacted)
    digest = mask[1]
    assert len(digest) * 4 >= 128  # enough output bits: no collisions, nothing shorter to match
    assert _enumerate_ssns(digest) == []


def test_enumeration_with_a_configured_key_fails_too(monkeypatch: pytest.MonkeyPatch, no_key: Path) -> None:
    ensure_key_file()  # what `aigov db upgrade` does
    digest = _digest(mask_value(E.US_SSN, SSN))
    assert _enumerate_ssns(digest) == []
    # ... while whoever holds the key does find it: the enumeration itself works.
    key = json.loads((no_key / "ai_governance_keys.json").read_text())["redaction"].encode()
    assert _enumerate_ssns(digest, (key,)) == [SSN]
    assert mask_value(E.US_SSN, "234 56 7890") == mask_value(E.US_SSN, SSN)


@pytest.mark.parametrize(
    ("etype", "value"),
    [
        (E.PHONE_NUMBER, "+1 415 555 0132"),
        (E.CREDIT_CARD, "4111 1111 1111 1111"),
        (E.IBAN_CODE, "DE89 3704 0044 0532 0130 00"),
        (E.EMAIL_ADDRESS, "jane@example.com"),
    ],
)
def test_low_entropy_masks_match_no_offline_guess(no_key: Path, etype: EntityType, value: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing-key warning, tested below
        digest = _digest(mask_value(etype, value))
    assert digest not in _offline_candidates(etype, value)
    assert len(digest) == 32


def test_production_refuses_to_redact_without_a_key(no_key: Path) -> None:
    """Fails before the fix: there was no production mode; the default key was used silently."""
    with pytest.raises(KeyMissing, match=r"aigov db upgrade.*redaction_key") as excinfo:
        apply_boundary(f"SSN {SSN}", {"US_SSN": "redact"}, production=True)
    assert SSN not in str(excinfo.value)
    # Nothing to redact for this policy (block / record only): no key is needed.
    assert apply_boundary(f"SSN {SSN}", {"US_SSN": "block"}, production=True).blocked


def test_elsewhere_it_warns_loudly_and_masks_are_random_per_process(
    no_key: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_ai_governance.boundary import RedactionKeyWarning

    with pytest.warns(RedactionKeyWarning, match="NO REDACTION KEY IS CONFIGURED.*aigov db upgrade"):
        first = mask_value(E.US_SSN, SSN)
    assert "NO REDACTION KEY IS CONFIGURED" in caplog.text
    assert mask_value(E.US_SSN, SSN) == first  # stable within the process
    code = (
        "import warnings; warnings.simplefilter('ignore');"
        "from airflow_ai_governance.boundary import mask_value; print(mask_value('US_SSN', '234-56-7890'))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ)
    ).stdout.strip()
    assert MASK.fullmatch(other) and other != first  # another process, another key


def test_a_configured_key_gives_stable_masks_across_processes(no_key: Path) -> None:
    ensure_key_file()
    code = "from airflow_ai_governance.boundary import mask_value; print(mask_value('US_SSN', '234-56-7890'))"
    runs = {
        subprocess.run(
            [sys.executable, "-W", "error", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ),
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(runs) == 1 and runs == {mask_value(E.US_SSN, SSN)}


def test_short_keys_are_refused(no_key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KeyMissing, match="too short"):
        mask_value(E.US_SSN, SSN, key="k1")
    monkeypatch.setenv("AIGOV_REDACTION_KEY", "short")
    with pytest.raises(KeyMissing, match="too short"):
        apply_boundary(SSN, {"US_SSN": "redact"})


def test_redacted_text_rescans_clean() -> None:
    text = f"SSN {SSN}, card 4111 1111 1111 1111, jane@example.com, +1 415 555 0132"
    redacted = redact_text(text, scan_text(text))
    assert scan_text(redacted) == []
