"""Boundary actions: keyed, type-labelled masks and :func:`apply_boundary`.

A mask looks like ``<EMAIL_ADDRESS:9f2c1a7e04b3d5e6a8c0f1d2e3b4a596>``: the entity type and 128 bits
of HMAC-SHA256, under the redaction key, of the *normalised* value (digits only for cards, SSNs and
phones, upper case without spaces for IBANs, case-folded e-mail addresses, ...). The same value
gets the same mask under the same key, so redacted data can still be joined and counted; without
the key nobody can tell which value a mask stands for, not even by trying every SSN (10^9 values)
or every phone number: each guess needs the key. No unkeyed hash of a value is ever computed.

The key (:func:`redaction_key`): the ``key`` argument, else ``$AIGOV_REDACTION_KEY``, else the
governance key for the ``redaction`` purpose (:mod:`airflow_ai_governance.keys`: ``[ai_governance]
redaction_key``, its ``_secret``/``_cmd`` variants, or the 0600 key file ``aigov db upgrade``
writes). There is no built-in default key. Without a configured key, redaction for a production use
case is refused (:class:`~airflow_ai_governance.keys.KeyMissing`); elsewhere a loud warning is
logged and a random key of this process is used: masks are then unguessable but differ between
processes (runs, workers), so they cannot be joined across runs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_ai_governance.boundary._walk import UnscannableData, Walk
from airflow_ai_governance.boundary.scanner import (
    Scanner,
    ScannerBase,
    dataframe_path,
)
from airflow_ai_governance.boundary.types import BoundaryAction, EntityType, Finding

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = [
    "REDACTION_KEY_ENV",
    "BoundaryResult",
    "RedactionKeyWarning",
    "UnscannableData",
    "apply_boundary",
    "dataframe_path",
    "mask_value",
    "redact_text",
    "redaction_key",
]

log = logging.getLogger(__name__)

REDACTION_KEY_ENV = "AIGOV_REDACTION_KEY"
#: A redaction key shorter than this is refused (it could be guessed).
MIN_KEY_BYTES = 32
_MASK_BYTES = 16  # 128 bits: no collisions in practice, nothing to enumerate without the key
_DOMAIN = b"airflow-ai-governance/mask/v2\x00"

_ephemeral_lock = threading.Lock()
_ephemeral: bytes | None = None


class RedactionKeyWarning(UserWarning):
    """Redaction ran without a configured key: masks are random per process (not stable)."""


def _checked(raw: bytes, source: str) -> bytes:
    if len(raw) < MIN_KEY_BYTES:
        from airflow_ai_governance.keys import KeyMissing

        raise KeyMissing(
            f"the redaction key from {source} is too short ({len(raw)} bytes; at least {MIN_KEY_BYTES}): "
            'use a long random value, e.g. `python -c "import secrets; print(secrets.token_hex(32))"`'
        )
    return raw


def _ephemeral_key() -> bytes:
    global _ephemeral
    with _ephemeral_lock:
        if _ephemeral is None:
            _ephemeral = secrets.token_bytes(32)
            message = (
                "NO REDACTION KEY IS CONFIGURED: redaction masks use a random key of this process, so "
                "they are not stable across runs or workers. Configure one: run `aigov db upgrade` "
                "(it generates the key file) or set [ai_governance] redaction_key "
                "(AIRFLOW__AI_GOVERNANCE__REDACTION_KEY, or redaction_key_secret for the secrets backend). "
                "Production use cases refuse to redact without it."
            )
            log.warning(message)
            warnings.warn(message, RedactionKeyWarning, stacklevel=3)
        return _ephemeral


def configured_redaction_key() -> bytes | None:
    """The configured redaction key (``$AIGOV_REDACTION_KEY`` or :mod:`~airflow_ai_governance.keys`),
    ``None`` when there is none. A key that is too short raises ``KeyMissing``."""
    env = os.environ.get(REDACTION_KEY_ENV)
    if env:
        return _checked(env.encode("utf-8"), f"${REDACTION_KEY_ENV}")
    from airflow_ai_governance.keys import get_key

    return get_key("redaction")


def redaction_key(key: str | bytes | None = None, *, production: bool = False) -> bytes:
    """The key masks are made with.

    ``key`` when given (at least 32 bytes); else the configured key; else, for ``production``,
    :class:`~airflow_ai_governance.keys.KeyMissing` saying how to configure one; else (warning
    loudly, once per process) a random key of this process.
    """
    if key is not None:
        return _checked(key.encode("utf-8") if isinstance(key, str) else bytes(key), "the key argument")
    configured = configured_redaction_key()
    if configured is not None:
        return configured
    if production:
        from airflow_ai_governance.keys import KeyMissing, key_file

        raise KeyMissing(
            "refusing to redact for a production use case without a redaction key (masks made with a "
            "guessable or throw-away key would either reveal the values or not be stable): run "
            f"`aigov db upgrade`, which generates {key_file()}, or set [ai_governance] redaction_key "
            "(AIRFLOW__AI_GOVERNANCE__REDACTION_KEY, or redaction_key_secret to read it from the "
            "secrets backend) to a random value of at least 32 characters"
        )
    return _ephemeral_key()


def _normalise(etype: EntityType, value: str) -> str:
    if etype in (EntityType.CREDIT_CARD, EntityType.US_SSN):
        return "".join(ch for ch in value if ch.isdigit())
    if etype is EntityType.PHONE_NUMBER:
        digits = "".join(ch for ch in value if ch.isdigit())
        return ("+" + digits) if value.lstrip().startswith("+") else digits
    if etype is EntityType.IBAN_CODE:
        return "".join(ch for ch in value if ch.isalnum()).upper()
    if etype in (EntityType.EMAIL_ADDRESS, EntityType.IP_ADDRESS):
        return value.casefold()
    return value


class _Masker:
    """Masks under one key (the HMAC state keyed once, copied per value)."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes) -> None:
        self._base = hmac.new(key, _DOMAIN, hashlib.sha256)

    def mask(self, etype: EntityType, value: str) -> str:
        mac = self._base.copy()
        mac.update(etype.value.encode("ascii") + b"\x00")
        mac.update(_normalise(etype, value).encode("utf-8", "surrogatepass"))
        return f"<{etype.value}:{mac.digest()[:_MASK_BYTES].hex()}>"

    def redact(self, text: str, findings: Sequence[Finding]) -> str:
        spans = sorted((f.start, f.end, f.type) for f in findings if 0 <= f.start < f.end <= len(text))
        if not spans:
            return text
        merged: list[list[Any]] = []
        for start, end, etype in spans:
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end, etype])
        parts: list[str] = []
        pos = 0
        for start, end, etype in merged:
            parts.append(text[pos:start])
            parts.append(self.mask(etype, text[start:end]))
            pos = end
        parts.append(text[pos:])
        return "".join(parts)


def mask_value(etype: EntityType | str, value: str, key: str | bytes | None = None) -> str:
    """The mask of ``value``: ``<TYPE:32 hex digits>`` (HMAC-SHA256 of the normalised value, 128 bits).

    ``key``: see :func:`redaction_key` (no key configured: a random key of this process, with a
    warning).
    """
    return _Masker(redaction_key(key)).mask(EntityType.parse(etype), value)


def redact_text(text: str, findings: Sequence[Finding], key: str | bytes | None = None) -> str:
    """``text`` with every finding's span replaced by its mask (``path`` is ignored).

    Overlapping spans are merged and masked as one (labelled with the type of the first), so no
    part of either value survives; spans outside the text are ignored.
    """
    if not any(0 <= f.start < f.end <= len(text) for f in findings):
        return text
    return _Masker(redaction_key(key)).redact(text, findings)


def _mask_pattern() -> re.Pattern[str]:
    """A mask as :meth:`_Masker.mask` writes it: a known type, a colon and the digest in hex."""
    names = "|".join(sorted(re.escape(t.value) for t in EntityType))
    return re.compile(rf"<(?:{names}):[0-9a-f]{{{_MASK_BYTES * 2}}}>")


_MASK: re.Pattern[str] | None = None


def outside_masks(text: str, found: list[Finding]) -> list[Finding]:
    """``found`` without findings that lie inside a mask already in ``text``.

    Data redacted by a boundary upstream is scanned again before an AI step; a mask is never the
    value it hides (``<SECRET:1a2b3c4d>`` would otherwise read as a secret and be masked, or
    blocked, a second time). Only exact masks qualify: a digest of the mask's own length, so a
    real value cannot hide behind the syntax.
    """
    global _MASK
    if not found or "<" not in text:
        return found
    if _MASK is None:
        _MASK = _mask_pattern()
    spans = [m.span() for m in _MASK.finditer(text)]
    if not spans:
        return found
    return [f for f in found if not any(s <= f.start and f.end <= e for s, e in spans)]


class _MaskAware(ScannerBase):
    """``scanner`` not reporting what lies inside a mask already in the text (see :func:`outside_masks`)."""

    def __init__(self, scanner: ScannerBase) -> None:
        self.inner = scanner
        self.types = scanner.types

    def scan_text(self, text: str) -> list[Finding]:
        return outside_masks(text, self.inner.scan_text(text))

    def scan_many(self, texts: Sequence[str]) -> Iterator[tuple[int, list[Finding]]]:
        for i, found in self.inner.scan_many(texts):
            kept = outside_masks(texts[i], found)
            if kept:
                yield i, kept


@dataclass(frozen=True)
class BoundaryResult:
    """What :func:`apply_boundary` found and did.

    ``data`` is a new object of the input's type with REDACT findings masked (the input is never
    mutated); ``findings`` are all findings of the scanned types (offsets refer to the *original*
    text); ``blocked`` the findings whose action is BLOCK; ``redacted`` how many findings were
    masked. Raising on ``blocked`` is the caller's decision (see ``DataBoundaryViolation``).
    """

    data: Any
    findings: list[Finding] = field(default_factory=list)
    blocked: list[Finding] = field(default_factory=list)
    redacted: int = 0

    @property
    def is_blocked(self) -> bool:
        """True when at least one finding has the BLOCK action."""
        return bool(self.blocked)

    def summary(self) -> dict[str, int]:
        """Number of findings per entity type (never any matched value)."""
        counts = Counter(f.type.value for f in self.findings)
        return dict(sorted(counts.items()))

    def blocked_summary(self) -> dict[str, int]:
        """Number of blocked findings per entity type."""
        counts = Counter(f.type.value for f in self.blocked)
        return dict(sorted(counts.items()))


def _parse_actions(
    actions: Mapping[EntityType | str, BoundaryAction | str],
) -> dict[EntityType, BoundaryAction]:
    parsed: dict[EntityType, BoundaryAction] = {}
    for etype, action in actions.items():
        parsed[EntityType.parse(etype)] = BoundaryAction.parse(action)
    return parsed


def _is_dataframe(data: object) -> bool:
    module = type(data).__module__
    return module.startswith("pandas") and type(data).__name__ == "DataFrame"


def apply_boundary(
    data: Any,
    actions: Mapping[EntityType | str, BoundaryAction | str],
    scanner: ScannerBase | None = None,
    *,
    key: str | bytes | None = None,
    columns: Sequence[Any] | None = None,
    production: bool = False,
) -> BoundaryResult:
    """Scan ``data`` for the types in ``actions`` and apply them.

    ``data``: text, numbers, bytes, dicts (keys too), lists, tuples, sets, dataclasses, pydantic
    models, numpy arrays, pandas DataFrames and Series, nested to any depth (see :mod:`._walk`).

    * ``record``: the finding is reported only;
    * ``redact``: the span is replaced by its mask in the returned copy (a number, or a key,
      becomes its masked text);
    * ``block``: the finding is reported in ``BoundaryResult.blocked`` (and left as is).

    Types missing from ``actions`` are not reported. ``scanner`` defaults to the built-in
    :class:`Scanner`; ``key`` and ``production`` choose the redaction key (:func:`redaction_key`:
    with a REDACT action and no configured key, ``production=True`` raises ``KeyMissing`` before
    anything is scanned); ``columns`` limits the cells scanned of a top-level DataFrame. The input
    is never mutated; parts without redaction are shared with it. Raises ``ValueError`` for an
    unknown type or action, :class:`UnscannableData` (a ``TypeError``) for a value the scanner
    cannot see into, never letting it pass unscanned.
    """
    parsed = _parse_actions(actions)
    if not parsed:
        return BoundaryResult(data=data)
    wanted = frozenset(parsed)
    if scanner is None:
        scanner = Scanner(wanted)
    redact_types = frozenset(t for t, a in parsed.items() if a is BoundaryAction.REDACT)
    mask: Callable[[str, list[Finding]], str] | None = None
    if redact_types:
        mask = _Masker(redaction_key(key, production=production)).redact
    walk = Walk(
        _MaskAware(scanner), wanted=wanted, redact=redact_types, mask=mask, rebuild=True, columns=columns
    )
    new_data = walk.value(data)
    findings = walk.findings
    blocked = [f for f in findings if parsed[f.type] is BoundaryAction.BLOCK]
    redacted = sum(1 for f in findings if f.type in redact_types)
    return BoundaryResult(data=new_data, findings=findings, blocked=blocked, redacted=redacted)
