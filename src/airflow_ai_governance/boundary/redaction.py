"""Boundary actions: stable, type-labelled masks and :func:`apply_boundary`.

A mask looks like ``<EMAIL_ADDRESS:9f2c1a7e>``: the entity type and the first 8 hex digits of a keyed
BLAKE2b digest of the *normalised* value (digits only for cards, SSNs and phones, upper case without
spaces for IBANs, case-folded e-mail addresses, ...). The same value therefore always gets the same
mask under the same key, so redacted data can still be joined and counted, while the mask does not
reveal the value (the key is secret; without it a dictionary attack on the digest is not possible).
The key comes from the ``key`` argument, else ``$AIGOV_REDACTION_KEY``, else a fixed default;
set your own key in production.
"""

from __future__ import annotations

import numbers
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from airflow_ai_governance.boundary.scanner import (
    Scanner,
    ScannerBase,
    _index_path,
    _key_path,
    dataframe_path,
)
from airflow_ai_governance.boundary.types import BoundaryAction, EntityType, Finding

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["REDACTION_KEY_ENV", "BoundaryResult", "apply_boundary", "mask_value", "redact_text"]

REDACTION_KEY_ENV = "AIGOV_REDACTION_KEY"
_DEFAULT_KEY = b"airflow-ai-governance/redaction/v1"


def _key_bytes(key: str | bytes | None) -> bytes:
    if key is None:
        key = os.environ.get(REDACTION_KEY_ENV) or _DEFAULT_KEY
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if len(raw) > 64:  # blake2b keys are at most 64 bytes
        from hashlib import blake2b

        raw = blake2b(raw, digest_size=64).digest()
    return raw


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


def mask_value(etype: EntityType | str, value: str, key: str | bytes | None = None) -> str:
    """The stable mask of ``value``: ``<TYPE:xxxxxxxx>`` (keyed BLAKE2b of the normalised value)."""
    from hashlib import blake2b

    etype = EntityType.parse(etype)
    digest = blake2b(
        _normalise(etype, value).encode("utf-8"), key=_key_bytes(key), digest_size=4, person=b"aigov-mask"
    ).hexdigest()
    return f"<{etype.value}:{digest}>"


def redact_text(text: str, findings: Sequence[Finding], key: str | bytes | None = None) -> str:
    """``text`` with every finding's span replaced by its mask (``path`` is ignored).

    Overlapping spans are merged and masked as one (labelled with the type of the first), so no
    part of either value survives; spans outside the text are ignored.
    """
    spans = sorted((f.start, f.end, f.type) for f in findings if 0 <= f.start < f.end <= len(text))
    if not spans:
        return text
    merged: list[list[Any]] = []
    for start, end, etype in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, etype])
    raw_key = _key_bytes(key)
    parts: list[str] = []
    pos = 0
    for start, end, etype in merged:
        parts.append(text[pos:start])
        parts.append(mask_value(etype, text[start:end], raw_key))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _mask_pattern() -> re.Pattern[str]:
    """A mask as :func:`mask_value` writes it (type names and digest length taken from it)."""
    sample = mask_value(EntityType.EMAIL_ADDRESS, "x", b"k")
    digits = len(sample) - len(f"<{EntityType.EMAIL_ADDRESS.value}:>")
    names = "|".join(sorted(re.escape(t.value) for t in EntityType))
    return re.compile(rf"<(?:{names}):[0-9a-f]{{{digits}}}>")


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
) -> BoundaryResult:
    """Scan ``data`` (str, dict, list or pandas DataFrame) for the types in ``actions`` and apply them.

    * ``record``: the finding is reported only;
    * ``redact``: the span is replaced by its mask in the returned copy;
    * ``block``: the finding is reported in ``BoundaryResult.blocked`` (and left as is).

    Types missing from ``actions`` are not reported. ``scanner`` defaults to the built-in
    :class:`Scanner`; ``key`` is the redaction key (see :func:`mask_value`); ``columns`` limits a
    DataFrame scan. Raises ``ValueError`` for an unknown type or action, ``TypeError`` for data of
    another type.
    """
    parsed = _parse_actions(actions)
    if not parsed:
        return BoundaryResult(data=data)
    wanted = frozenset(parsed)
    if scanner is None:
        scanner = Scanner(wanted)
    raw_key = _key_bytes(key)
    redact_types = frozenset(t for t, a in parsed.items() if a is BoundaryAction.REDACT)

    findings: list[Finding] = []

    def handle(text: str, path: str | None) -> str:
        found = outside_masks(text, [f for f in scanner.scan_text(text) if f.type in wanted])
        if path is not None:
            found = [Finding(f.type, f.start, f.end, f.confidence, path) for f in found]
        findings.extend(found)
        to_mask = [f for f in found if f.type in redact_types]
        return redact_text(text, to_mask, raw_key) if to_mask else text

    if isinstance(data, str):
        new_data: Any = handle(data, None)
    elif isinstance(data, Mapping | list | tuple):
        new_data = _rebuild(data, None, handle)
    elif _is_dataframe(data):
        new_data = _apply_dataframe(data, scanner, wanted, redact_types, raw_key, findings, columns)
    else:
        raise TypeError(
            f"apply_boundary() takes str, dict, list or pandas.DataFrame data, not {type(data).__name__}"
        )
    blocked = [f for f in findings if parsed[f.type] is BoundaryAction.BLOCK]
    redacted = sum(1 for f in findings if f.type in redact_types)
    return BoundaryResult(data=new_data, findings=findings, blocked=blocked, redacted=redacted)


#: Leaves without free text: passed on as they are, not scanned.
_OPAQUE_LEAVES = (numbers.Number, date, time, timedelta, UUID)
_OPAQUE_TYPE_NAMES = {("pandas", "NaTType"), ("pandas", "NAType"), ("numpy", "bool"), ("numpy", "bool_")}


def _rebuild(node: Any, path: str | None, handle: Any) -> Any:
    """A copy of ``node`` with every string passed through ``handle`` (same traversal as scan_record).

    Fail closed: a value that may hold text the scanner cannot see (a pydantic model, a dataclass,
    bytes, a DataFrame inside a record, any other object) raises ``TypeError`` naming its path,
    instead of passing on unscanned.
    """
    if isinstance(node, str):
        return handle(node, path)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, numbers.Integral):
        text = str(int(node))
        new = handle(text, path)
        return node if new == text else new
    if isinstance(node, Mapping):
        return {k: _rebuild(child, _key_path(path, k), handle) for k, child in node.items()}
    if isinstance(node, list | tuple):
        items = [_rebuild(child, _index_path(path, i), handle) for i, child in enumerate(node)]
        return items if isinstance(node, list) else tuple(items)
    kind = type(node)
    if (
        isinstance(node, _OPAQUE_LEAVES)
        or (kind.__module__.split(".")[0], kind.__name__) in _OPAQUE_TYPE_NAMES
    ):
        return node
    hint = " (e.g. model.model_dump())" if hasattr(node, "model_dump") else ""
    raise TypeError(
        f"cannot scan a {type(node).__name__} at {path or '(top level)'}: give the data as text, "
        f"numbers, dicts and lists{hint}, or a whole DataFrame"
    )


def _apply_dataframe(
    df: Any,
    scanner: ScannerBase,
    wanted: frozenset[EntityType],
    redact_types: frozenset[EntityType],
    raw_key: bytes,
    findings: list[Finding],
    columns: Sequence[Any] | None,
) -> Any:
    out = df.copy(deep=True)
    positions = {name: i for i, name in enumerate(df.columns)}
    for col, row, text, found in scanner.scan_cells(df, columns):
        kept = outside_masks(text, [f for f in found if f.type in wanted])
        if not kept:
            continue
        path = dataframe_path(col, row)
        findings.extend(Finding(f.type, f.start, f.end, f.confidence, path) for f in kept)
        to_mask = [f for f in kept if f.type in redact_types]
        if to_mask:
            if out[col].dtype.kind in "iu":  # an integer column becomes text once masked
                out[col] = out[col].astype(object)
            out.iat[row, positions[col]] = redact_text(text, to_mask, raw_key)
    return out
