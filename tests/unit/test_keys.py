"""Governance keys: environment first, then configuration, then the generated key file (0600)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_ai_governance.keys import KeyMissing, ensure_key_file, get_key, key_file, require_key


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONFIG", raising=False)
    for name in ("AUDIT_KEY", "REDACTION_KEY", "KEY_FILE"):
        monkeypatch.delenv(f"AIRFLOW__AI_GOVERNANCE__{name}", raising=False)
    return tmp_path


def test_no_key_anywhere_is_none_and_require_says_how_to_configure() -> None:
    assert get_key("audit") is None
    with pytest.raises(KeyMissing, match=r"AIRFLOW__AI_GOVERNANCE__AUDIT_KEY.*aigov db upgrade"):
        require_key("audit")


def test_generated_key_file_is_private_and_stable(home: Path) -> None:
    assert sorted(ensure_key_file()) == ["audit", "redaction"]
    path = key_file()
    assert path == home / "ai_governance_keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = require_key("audit")
    assert ensure_key_file() == []  # kept, not regenerated
    assert require_key("audit") == first != require_key("redaction")


def test_environment_wins_over_the_key_file(monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_key_file()
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY", "e" * 40)
    assert get_key("audit") == b"e" * 40


def test_airflow_cfg_option_is_read_without_importing_airflow(home: Path) -> None:
    (home / "airflow.cfg").write_text("[ai_governance]\nredaction_key = " + "r" * 32 + "\n")
    code = (
        "import sys; from airflow_ai_governance.keys import ensure_key_file, get_key;"
        "print(get_key('redaction').decode(), ensure_key_file(), 'airflow' in sys.modules)"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # the configured key is used and not generated again; Airflow was not imported for it
    assert out.stdout.split() == ["r" * 32, "['audit']", "False"]


def test_short_or_unreadable_keys_are_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__AI_GOVERNANCE__AUDIT_KEY", "short")
    with pytest.raises(KeyMissing, match="too short"):
        get_key("audit")
    (home / "ai_governance_keys.json").write_text("{not json")
    with pytest.raises(KeyMissing, match="cannot be read"):
        get_key("redaction")
