"""The built-in data-boundary scanner: the public :class:`Scanner` and the record/DataFrame walks.

Detection itself lives in :mod:`._detectors` (compiled, linear-time patterns confirmed by
:mod:`.validators`). Overlapping findings are resolved here by a fixed priority: a validated IBAN
beats the phone-like digit groups inside it, a connection-string password beats the e-mail-like
``pw@host`` around it, and between two findings of the same priority the longer one wins.

Nothing here logs or stores a matched value; findings carry offsets only.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_ai_governance.boundary._rank import CELL_SEP as _CELL_SEP
from airflow_ai_governance.boundary._rank import RANK as _RANK
from airflow_ai_governance.boundary._rank import TYPE_BY_RANK as _TYPE_BY_RANK
from airflow_ai_governance.boundary._rank import Hit as _Hit
from airflow_ai_governance.boundary._walk import Walk, index_path, key_path
from airflow_ai_governance.boundary.types import EntityType, Finding

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Scanner", "ScannerBase", "parse_types", "scan_text"]


def _resolve_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Drop hits that overlap a hit of higher priority (lower rank), then a longer one."""
    hits.sort()
    clean = True
    for a, b in itertools.pairwise(hits):
        if b[0] < a[1]:
            clean = False
            break
    if clean:
        return hits
    kept_starts: list[int] = []
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h[2], h[0] - h[1], h[0])):
        i = bisect.bisect_right(kept_starts, hit[0])
        if i > 0 and kept[i - 1][1] > hit[0]:
            continue
        if i < len(kept) and kept[i][0] < hit[1]:
            continue
        kept_starts.insert(i, hit[0])
        kept.insert(i, hit)
    return kept


def parse_types(types: Iterable[EntityType | str] | None) -> frozenset[EntityType]:
    """The set of entity types to scan for (all of them when ``types`` is None)."""
    if types is None:
        return frozenset(EntityType)
    if isinstance(types, str | EntityType):
        types = [types]
    return frozenset(EntityType.parse(t) for t in types)


_key_path = key_path
_index_path = index_path


def dataframe_path(column: object, row: int) -> str:
    """The ``Finding.path`` of a DataFrame cell: ``<column>[<row position>]``."""
    return _index_path(_key_path(None, column), row)


def default_columns(df: pd.DataFrame) -> list[Any]:
    """Columns scanned by default: text (object / string) and integer columns."""
    import pandas as pd

    cols: list[Any] = []
    for name, dtype in df.dtypes.items():
        if (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or (pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))
        ):
            cols.append(name)
    return cols


def _cell_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    try:  # numpy integers
        import numbers

        if isinstance(value, numbers.Integral):
            return str(int(value))
    except (TypeError, ValueError):  # pragma: no cover - exotic integral types
        return None
    return None


class ScannerBase:
    """Record and DataFrame scanning on top of ``scan_text``; shared by every backend."""

    types: frozenset[EntityType]

    def scan_text(self, text: str) -> list[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def scan_many(self, texts: Sequence[str]) -> Iterator[tuple[int, list[Finding]]]:
        """``(position, findings)`` for every text of ``texts`` with findings, in order."""
        for i, text in enumerate(texts):
            found = self.scan_text(text)
            if found:
                yield i, found

    def scan_record(self, obj: Any) -> list[Finding]:
        """Findings in every text of a value, with their path (see :mod:`._walk` for what is text:
        keys, numbers, bytes, dataclasses, pydantic models, DataFrames, ...); any depth.

        Raises ``TypeError`` for a value the scanner cannot see into.
        """
        walk = Walk(self)
        walk.value(obj)
        return walk.findings

    def scan_cells(
        self, df: pd.DataFrame, columns: Sequence[Any] | None = None
    ) -> Iterator[tuple[Any, int, str, list[Finding]]]:
        """``(column, row position, cell text, findings)`` for every scalar cell with findings
        (only the cells: :meth:`scan_dataframe` also scans labels, the index and nested records)."""
        cols = list(columns) if columns is not None else default_columns(df)
        for col in cols:
            texts: list[str] = []
            rows: list[int] = []
            for row, value in enumerate(df[col].tolist()):
                text = _cell_text(value)
                if text:
                    texts.append(text)
                    rows.append(row)
            for i, found in self.scan_many(texts):
                yield col, rows[i], texts[i], found

    def scan_dataframe(self, df: pd.DataFrame, columns: Sequence[Any] | None = None) -> list[Finding]:
        """Findings in a DataFrame (or Series): cells of every text-bearing dtype (object, string,
        category, numbers; ``columns`` limits them), column labels, the index, names and attrs.

        A cell's ``Finding.path`` is ``<column>[<row position>]``; offsets are into the cell's text.
        """
        walk = Walk(self, columns=columns)
        walk.table(df)
        return walk.findings


class Scanner(ScannerBase):
    """The built-in PII and secret scanner.

    ``Scanner(types=None)`` scans for every :class:`EntityType`; pass a subset (members or names)
    to scan for fewer. Results for a subset are exactly the full scan's findings of those types.
    """

    def __init__(self, types: Iterable[EntityType | str] | None = None) -> None:
        self.types = parse_types(types)
        # Also run the types whose findings can shadow a requested type (higher priority), so that
        # a subset scan returns exactly the full scan's findings of those types.
        worst = max((_RANK[t] for t in self.types), default=-1)
        self._active = frozenset(t for t in _TYPE_BY_RANK if _RANK[t] <= worst)
        self._filter = self._active != self.types
        # The detectors (and their compiled patterns) load with the first scanner, not at import.
        from airflow_ai_governance.boundary._detectors import run_passes

        self._run_passes = run_passes

    def __repr__(self) -> str:
        return f"Scanner(types={sorted(t.value for t in self.types)!r})"

    def _hits(self, text: str) -> list[_Hit]:
        hits = self._run_passes(text, self._active)
        if len(hits) > 1:
            hits = _resolve_overlaps(hits)
        return hits

    def scan_text(self, text: str) -> list[Finding]:
        """Findings in ``text``, sorted by start offset."""
        if not text:
            return []
        hits = self._hits(text)
        if not hits:
            return []
        types = _TYPE_BY_RANK
        if self._filter:
            wanted = self.types
            return [Finding(types[r], s, e, c) for s, e, r, c in hits if types[r] in wanted]
        return [Finding(types[r], s, e, c) for s, e, r, c in hits]

    def scan_many(self, texts: Sequence[str]) -> Iterator[tuple[int, list[Finding]]]:
        """Vectorised: the texts are joined with a NUL separator and scanned in one pass."""
        if len(texts) < 2:
            yield from super().scan_many(texts)
            return
        joined = _CELL_SEP.join(texts)
        if joined.count(_CELL_SEP) != len(texts) - 1:  # a text contains NUL itself
            yield from super().scan_many(texts)
            return
        starts: list[int] = []
        offset = 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        per_text: dict[int, list[Finding]] = {}
        for f in self.scan_text(joined):
            i = bisect.bisect_right(starts, f.start) - 1
            base = starts[i]
            if f.end > base + len(texts[i]):
                continue  # cannot happen (no pattern crosses NUL); kept as a guard
            per_text.setdefault(i, []).append(replace(f, start=f.start - base, end=f.end - base))
        for i in sorted(per_text):
            yield i, per_text[i]


@functools.lru_cache(maxsize=32)
def _cached_scanner(types: frozenset[EntityType]) -> Scanner:
    return Scanner(types)


def scan_text(text: str, types: Iterable[EntityType | str] | None = None) -> list[Finding]:
    """Scan ``text`` with a cached default :class:`Scanner` for ``types`` (all types by default)."""
    return _cached_scanner(parse_types(types)).scan_text(text)
