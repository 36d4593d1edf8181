"""Governance keys: the secrets that make the audit chain and redaction masks unforgeable.

A key never lives in the sidecar database: whoever holds the sidecar's credentials must not be able
to recompute the chain's MACs or guess a mask. One key per purpose (:data:`PURPOSES`); the first
source that has it wins:

1. the environment: ``AIRFLOW__AI_GOVERNANCE__<PURPOSE>_KEY``;
2. Airflow's configuration ``[ai_governance] <purpose>_key``: through ``airflow.configuration.conf``
   when Airflow is imported (its ``_cmd`` / ``_secret`` variants fetch the key from a command or
   the secrets backend), else ``airflow.cfg`` read directly;
3. the key file ``[ai_governance] key_file`` (``AIRFLOW__AI_GOVERNANCE__KEY_FILE``), default
   ``$AIRFLOW_HOME/ai_governance_keys.json``: a JSON object ``{purpose: key}``, mode 0600, that
   :func:`ensure_key_file` (run by ``aigov db upgrade``) creates with random keys.

Nothing here imports Airflow unless it already is imported.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Literal

from airflow_ai_governance.exceptions import AIGovernanceError

log = logging.getLogger(__name__)

Purpose = Literal["audit", "redaction"]
PURPOSES: tuple[Purpose, ...] = ("audit", "redaction")
SECTION = "ai_governance"
ENV_KEY_FILE = "AIRFLOW__AI_GOVERNANCE__KEY_FILE"
MIN_KEY_CHARS = 32


class KeyMissing(AIGovernanceError):
    """No key is configured for a purpose that needs one."""


def _airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or "~/airflow").expanduser()


def _option(name: str) -> str | None:
    """``[ai_governance] name`` from the environment, Airflow's configuration or ``airflow.cfg``."""
    value = os.environ.get(f"AIRFLOW__{SECTION.upper()}__{name.upper()}")
    if value:
        return value
    if "airflow" in sys.modules:
        try:
            from airflow.configuration import conf
        except ImportError:  # a Task-SDK-only worker: read the file
            pass
        else:
            found = conf.get(SECTION, name, fallback=None)
            return str(found) if found else None
    path = Path(os.environ.get("AIRFLOW_CONFIG") or _airflow_home() / "airflow.cfg").expanduser()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return parser.get(SECTION, name, fallback=None) or None


def key_file() -> Path:
    """Where the generated keys live (outside the sidecar database)."""
    return Path(_option("key_file") or _airflow_home() / "ai_governance_keys.json").expanduser()


def _from_key_file(purpose: Purpose) -> str | None:
    path = key_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise KeyMissing(f"key file {path} cannot be read ({exc}); fix or remove it") from exc
    value = data.get(purpose) if isinstance(data, dict) else None
    return str(value) if value else None


def get_key(purpose: Purpose) -> bytes | None:
    """The key for ``purpose`` (``None`` when none is configured anywhere)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}; known: {', '.join(PURPOSES)}")
    value = _option(f"{purpose}_key") or _from_key_file(purpose)
    if value is None:
        return None
    if len(value) < MIN_KEY_CHARS:
        raise KeyMissing(
            f"the {purpose} key is too short ({len(value)} characters; at least {MIN_KEY_CHARS}): "
            f"set [ai_governance] {purpose}_key to a long random value, e.g. `python -c "
            '"import secrets; print(secrets.token_hex(32))"`'
        )
    return value.encode()


def require_key(purpose: Purpose) -> bytes:
    """The key for ``purpose``, or :class:`KeyMissing` saying how to configure one."""
    key = get_key(purpose)
    if key is None:
        raise KeyMissing(
            f"no {purpose} key is configured: set AIRFLOW__AI_GOVERNANCE__{purpose.upper()}_KEY (or "
            f"[ai_governance] {purpose}_key, or its _secret variant for the secrets backend), or run "
            f"`aigov db upgrade`, which generates {key_file()}"
        )
    return key


def ensure_key_file(path: Path | None = None) -> list[Purpose]:
    """Generate random keys for the purposes that have none anywhere, into the key file (0600).

    Keys already in the file are kept; returns the purposes that got a new key.
    """
    path = path or key_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError as exc:
        raise KeyMissing(f"key file {path} is not JSON ({exc}); fix or remove it") from exc
    missing = [p for p in PURPOSES if not data.get(p) and _option(f"{p}_key") is None]
    if not missing:
        return []
    for purpose in missing:
        data[purpose] = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)
    log.warning("Generated %s key(s) into %s: keep this file secret and backed up", ", ".join(missing), path)
    return missing
