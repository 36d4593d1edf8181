"""Signed checkpoints of the audit chain's head, kept where the sidecar's database user cannot
rewrite them: an append-only JSON-lines file on the Airflow host.

A checkpoint is ``{"v": 1, "seq": N, "mac": <hash of event N>, "first": <hash of event 1>,
"at": <ISO time>, "key_id": <audit key id>, "sig": HMAC-SHA256(audit key, canonical JSON of
["aigov-audit-checkpoint-v1", seq, mac, first, at, key_id])}``, one per line. Whoever holds only
the sidecar's credentials can neither change the file nor sign a new line, so
:func:`~airflow_ai_governance.store.audit.verify_chain` detects, against every checkpoint, a chain
cut short (tail deleted), events rewritten before a checkpoint, or a chain replaced wholesale.

The file is ``[ai_governance] audit_checkpoint_file`` (``AIRFLOW__AI_GOVERNANCE__AUDIT_CHECKPOINT_FILE``),
default ``$AIRFLOW_HOME/ai_governance_audit_checkpoints.jsonl``; write one with
``aigov audit checkpoint`` (say, hourly from cron or a scheduled task, and ship the file to
write-once storage if the host itself is not trusted).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from airflow_ai_governance.exceptions import AuditChainBroken
from airflow_ai_governance.keys import _airflow_home, _option
from airflow_ai_governance.store.audit import ChainKey, canonical_json

CHECKPOINT_TAG = "aigov-audit-checkpoint-v1"
FILE_NAME = "ai_governance_audit_checkpoints.jsonl"


class CheckpointError(AuditChainBroken):
    """The checkpoint file cannot be trusted: unreadable, malformed, or a line not signed by the key."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    mac: str
    first: str | None
    at: str
    key_id: str
    sig: str = ""
    v: int = 1

    def signed_message(self) -> bytes:
        fields = [CHECKPOINT_TAG, self.seq, self.mac, self.first, self.at, self.key_id]
        return canonical_json(fields).encode()

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")) + "\n"


def checkpoint_file() -> Path:
    """Where checkpoints are appended (outside the sidecar database)."""
    return Path(_option("audit_checkpoint_file") or _airflow_home() / FILE_NAME).expanduser()


def read_checkpoints(path: Path, key: ChainKey) -> list[Checkpoint]:
    """Every checkpoint of ``path``, each signature checked (:class:`CheckpointError` names the
    first bad line); ``[]`` when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CheckpointError(f"checkpoint file {path} cannot be read: {exc}") from exc
    checkpoints = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            checkpoint = Checkpoint(**data)
            if not isinstance(checkpoint.seq, int) or checkpoint.seq < 0:
                raise ValueError(f"seq {checkpoint.seq!r}")
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint file {path} line {number} is malformed ({exc})") from None
        if checkpoint.key_id != key.key_id:
            raise CheckpointError(
                f"checkpoint file {path} line {number} was signed with audit key {checkpoint.key_id}, but the "
                f"configured key is {key.key_id}: configure the key this deployment uses"
            )
        if checkpoint.sig != key.mac(checkpoint.signed_message()):
            raise CheckpointError(
                f"checkpoint file {path} line {number} has a bad signature: it was edited or forged"
            )
        checkpoints.append(checkpoint)
    return checkpoints


def append_checkpoint(path: Path, key: ChainKey, seq: int, mac: str, first: str | None) -> Checkpoint:
    """Sign the head ``(seq, mac)`` and append it to ``path`` (created 0600), synced to disk."""
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    unsigned = Checkpoint(seq=seq, mac=mac, first=first, at=at, key_id=key.key_id)
    checkpoint = Checkpoint(**{**asdict(unsigned), "sig": key.mac(unsigned.signed_message())})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, checkpoint.to_line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return checkpoint
