"""One walk over every value the boundary may see: records, objects and pandas tables.

Scanning (:meth:`ScannerBase.scan_record` / ``scan_dataframe``) and :func:`apply_boundary` share it,
so what is scanned and what is redacted cannot drift apart. The walk is iterative (an explicit
stack, no recursion): a record nested 100,000 deep is scanned like a flat one.

What is text to the scanner:

* ``str`` (and subclasses), mapping **keys** as well as values;
* integers as their decimal form; ``Decimal`` and integral floats as their digits (a card number
  read as ``float64`` or ``Decimal`` is still a card number), floats with a fraction hold no entity and are skipped;
* ``bytes`` / ``bytearray`` / ``memoryview`` decoded as UTF-8 (undecodable bytes kept as escapes, so
  a redacted value encodes back losslessly); ``os.PathLike`` paths;
* the fields of dataclasses and pydantic models (extra and private attributes too), the items of
  lists, tuples (named too), sets, deques, numpy arrays and any other sequence;
* pandas DataFrames and Series anywhere: every cell whatever its dtype (object, string, category
  with its unused categories, numbers; cells holding records are walked), the column labels, the
  index (``MultiIndex`` too), axis names and ``attrs``.

Anything else (an arbitrary object, a generator, a huge integer) raises :class:`UnscannableData`:
a value the scanner cannot see into is refused, never passed on unscanned.

Paths (``Finding.path``) never carry matched text: a key, column label or index label is shown
only when the built-in scanner finds nothing in it (any type); otherwise it is written by position,
``[7].<key#3>``, ``<column#2>[5]``. Findings *inside* a key or label always carry that form.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from airflow_ai_governance.boundary.types import EntityType, Finding

if TYPE_CHECKING:
    from airflow_ai_governance.boundary.scanner import ScannerBase

__all__ = ["UnscannableData", "Walk", "index_path", "key_path"]


class UnscannableData(TypeError):
    """A value the boundary cannot see into (or cannot rebuild once redacted); never passed on."""


_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: ``int`` -> ``str`` is refused by Python beyond 4,300 digits; such a number is no identifier.
_MAX_INT_BITS = 14_000
#: Opaque leaves: no free text.
_OPAQUE = (bool, type(None), date, time, timedelta, UUID, complex)
_OPAQUE_NAMES = {
    ("pandas", "NaTType"),
    ("pandas", "NAType"),
    ("pandas", "Period"),
    ("pandas", "Interval"),
    ("numpy", "bool"),
    ("numpy", "bool_"),
    ("numpy", "datetime64"),
    ("numpy", "timedelta64"),
}


#: A path while walking: ``(parent, segment)`` with the segment's own separator (``.name``,
#: ``[3]``, ``["a key"]``), so a level costs O(1) and a path is only rendered for a finding.
Path = tuple[Any, str] | None


def _join(parent: Path, part: str) -> Path:
    return (parent, "." + part)


def _kchild(parent: Path, key: object) -> Path:
    name = key if isinstance(key, str) else str(key)
    if _IDENTIFIER_RE.match(name):
        return (parent, "." + name)
    return (parent, f"[{json.dumps(name, ensure_ascii=False)}]")


def _ichild(parent: Path, index: int) -> Path:
    return (parent, f"[{index}]")


def as_path(path: str | Path) -> Path:
    """A path node for a rendered prefix (or a node as it is)."""
    return (None, path) if isinstance(path, str) else path


def render(path: Path) -> str | None:
    """The path as text (``None`` for the top level)."""
    if path is None:
        return None
    parts: list[str] = []
    node: Path = path
    while node is not None:
        parts.append(node[1])
        node = node[0]
    parts.reverse()
    return "".join(parts).removeprefix(".")


def where(path: Path) -> str:
    return render(path) or "(top level)"


def key_path(parent: str | None, key: object) -> str:
    """``parent.key`` (or ``parent["a key"]`` when the key is not a plain identifier)."""
    return render(_kchild(as_path(parent), key)) or ""


def index_path(parent: str | None, index: int) -> str:
    return render(_ichild(as_path(parent), index)) or ""


@functools.lru_cache(maxsize=16384)
def _clean_label(text: str) -> bool:
    """Whether the built-in scanner (all types) finds nothing in ``text``: safe to show in a path."""
    from airflow_ai_governance.boundary.scanner import _cached_scanner

    return not _cached_scanner(frozenset(EntityType)).scan_text(text)


def _shown(label: object) -> bool:
    if isinstance(label, bool) or not isinstance(label, str | int):
        return False
    text = label if isinstance(label, str) else str(int(label))
    return len(text) <= 200 and _clean_label(text)


def _is_pydantic(node: object) -> bool:
    return hasattr(type(node), "__pydantic_fields__") and hasattr(node, "__pydantic_fields_set__")


def _is_pandas(node: object, *names: str) -> bool:
    kind = type(node)
    return kind.__module__.startswith("pandas") and any(
        cls.__name__ in names and cls.__module__.startswith("pandas") for cls in kind.__mro__
    )


def _float_text(value: float) -> str | None:
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return None  # a fraction: no entity is written as one (a card, SSN or phone number is integral)


def _decimal_text(value: Decimal) -> str | None:
    if not value.is_finite():
        return None
    if -64 < value.adjusted() < 64:
        if value == value.to_integral_value():
            return str(int(value))
        return format(value, "f")
    return str(value)


_NOT_SCALAR = object()


def scalar_text(node: Any, path: Path) -> Any:
    """The text the scanner sees for a scalar leaf, ``None`` for a leaf without text, or
    ``_NOT_SCALAR`` for a container / object to walk. Raises :class:`UnscannableData`."""
    if isinstance(node, str):
        return node
    if isinstance(node, _OPAQUE):
        return None
    if isinstance(node, numbers.Integral):
        value = int(node)
        if value.bit_length() > _MAX_INT_BITS:
            raise UnscannableData(f"cannot scan an integer of {value.bit_length()} bits at {where(path)}")
        return str(value)
    if isinstance(node, float):
        return _float_text(node)
    if isinstance(node, Decimal):
        return _decimal_text(node)
    if isinstance(node, bytes | bytearray | memoryview):
        return bytes(node).decode("utf-8", "surrogateescape")
    if isinstance(node, numbers.Real):  # numpy floats, Fraction
        try:
            as_float = float(node)
        except (OverflowError, ValueError):
            return str(node)
        return _float_text(as_float) if type(node).__module__.startswith("numpy") else str(node)
    if isinstance(node, numbers.Number):
        return None
    kind = type(node)
    if (kind.__module__.split(".")[0], kind.__name__) in _OPAQUE_NAMES:
        return None
    if isinstance(node, Enum):
        return scalar_text(node.value, path)
    if isinstance(node, os.PathLike):
        text = os.fspath(node)
        return text if isinstance(text, str) else text.decode("utf-8", "surrogateescape")
    return _NOT_SCALAR


def _rebuilt_scalar(node: Any, text: str, new: str) -> Any:
    """``node`` with its text redacted to ``new`` (a number or enum becomes its masked text)."""
    if new == text:
        return node
    if isinstance(node, bytearray):
        return bytearray(new.encode("utf-8", "surrogateescape"))
    if isinstance(node, bytes | memoryview):
        return new.encode("utf-8", "surrogateescape")
    if isinstance(node, os.PathLike) and not isinstance(node, str):
        try:
            return type(node)(new)  # type: ignore[call-arg]
        except TypeError:
            return new
    return new


# Todo entries of a frame: (tag, a, b). Tags:
_CHILD = 0  # a = path, b = node
_KEY = 1  # a = position in the mapping, b = key
_VALUE = 2  # a = position in the mapping, b = (key, value)


class _Frame:
    __slots__ = ("build", "changed", "done", "mark", "node", "path", "todo")

    def __init__(self, node: Any, path: Path, todo: list[tuple[int, Any, Any]], build: Callable[..., Any]):
        self.node = node
        self.path = path
        self.todo = todo  # reversed: popped from the end
        self.build = build
        self.done: list[Any] = []
        self.mark = 0
        self.changed = 0


class Walk:
    """One pass over a value: findings of the ``wanted`` types, and (``rebuild=True``) the value
    with the findings of the ``redact`` types masked by ``mask(text, findings)``."""

    def __init__(
        self,
        scanner: ScannerBase,
        *,
        wanted: frozenset[EntityType] | None = None,
        redact: frozenset[EntityType] = frozenset(),
        mask: Callable[[str, list[Finding]], str] | None = None,
        rebuild: bool = False,
        columns: Sequence[Any] | None = None,
    ) -> None:
        self.scanner = scanner
        self.wanted = wanted
        self.redact = redact if mask is not None else frozenset()
        self.mask = mask
        self.rebuild = rebuild
        self.columns = columns
        self.findings: list[Finding] = []
        self.found = 0  # texts with findings so far
        self.changed = 0  # texts redacted so far
        self._key_cache: dict[str, list[Finding]] = {}
        self._segments: dict[tuple[type, object], str | None] = {}

    # ------------------------------------------------------------------ texts
    def keep(self, found: list[Finding], path: Path) -> list[Finding]:
        """``found`` filtered to the wanted types, located at ``path``."""
        if not found:
            return found
        wanted = self.wanted
        if wanted is not None:
            found = [f for f in found if f.type in wanted]
        if path is not None and found:
            rendered = render(path)
            found = [Finding(f.type, f.start, f.end, f.confidence, rendered) for f in found]
        return found

    def record_many(self, text: str, found: list[Finding], paths: list[Path]) -> str:
        """Findings of one text that occurs at several ``paths`` (a category); returns its new text."""
        if not found:
            return text
        for path in paths:
            self.found += 1
            rendered = render(path)
            self.findings.extend(Finding(f.type, f.start, f.end, f.confidence, rendered) for f in found)
        return self._mask(text, found)

    def _mask(self, text: str, found: list[Finding]) -> str:
        if self.redact:
            to_mask = [f for f in found if f.type in self.redact]
            if to_mask:
                assert self.mask is not None
                self.changed += 1
                return self.mask(text, to_mask)
        return text

    def _record(self, text: str, found: list[Finding]) -> str:
        """Record findings of one text; returns the text to pass on."""
        if not found:
            return text
        self.found += 1
        self.findings.extend(found)
        return self._mask(text, found)

    def text(self, text: str, path: Path) -> str:
        """Scan one text found at ``path``; returns it redacted where the actions say so."""
        if not text:
            return text
        return self._record(text, self.keep(self.scanner.scan_text(text), path))

    def texts(self, texts: list[str], path_of: Callable[[int], Path]) -> list[str]:
        """Many texts at once (a table column): the scanner may scan them in one pass."""
        out = list(texts)
        for i, found in self.scanner.scan_many(texts):
            out[i] = self._record(texts[i], self.keep(found, path_of(i)))
        return out

    # ------------------------------------------------------------------ values
    def value(self, root: Any, path: str | Path = None) -> Any:
        """Walk ``root`` (iteratively); returns the rebuilt value when ``rebuild`` else ``root``."""
        first = self._visit(root, as_path(path))
        if not isinstance(first, _Frame):
            return first
        stack = [first]
        while stack:
            top = stack[-1]
            if top.todo:
                tag, a, b = top.todo.pop()
                if tag == _CHILD:
                    result = self._visit(b, a)
                elif tag == _KEY:
                    top.mark = self.found
                    key_at = _join(top.path, f"<key#{a}>")
                    result = self._key(b, key_at) if type(b) is str else self._visit(b, key_at)
                else:
                    key, child = b
                    segment = None if self.found != top.mark else self._segment(key)
                    child_path = (top.path, segment) if segment is not None else _join(top.path, f"<key#{a}>")
                    result = self._visit(child, child_path)
                if isinstance(result, _Frame):
                    stack.append(result)
                else:
                    top.done.append(result)
                continue
            stack.pop()
            built = top.build(top) if self.rebuild and self.changed != top.changed else top.node
            if not stack:
                return built
            stack[-1].done.append(built)
        raise AssertionError("unreachable")  # pragma: no cover

    def _segment(self, key: object) -> str | None:
        """The path segment showing ``key`` (``None``: it may hold matched text), cached per walk."""
        cache_key = (type(key), key)
        try:
            return self._segments[cache_key]
        except KeyError:
            pass
        except TypeError:  # unhashable: cannot be a key anyway
            return None
        segment = _kchild(None, key)[1] if _shown(key) else None  # type: ignore[index]
        if len(self._segments) < 65536:
            self._segments[cache_key] = segment
        return segment

    def _key(self, key: str, path: Path) -> str:
        """A string key: records repeat their keys, so each distinct key is scanned once."""
        found = self._key_cache.get(key)
        if found is None:
            found = self.scanner.scan_text(key) if key else []
            if len(self._key_cache) < 65536:
                self._key_cache[key] = found
        return self._record(key, self.keep(found, path))

    def _frame(
        self, node: Any, path: Path, todo: list[tuple[int, Any, Any]], build: Callable[..., Any]
    ) -> _Frame:
        todo.reverse()
        frame = _Frame(node, path, todo, build)
        frame.changed = self.changed
        return frame

    def _visit(self, node: Any, path: Path) -> Any:
        kind = type(node)
        if kind is str:  # the common cases first, without the ABC checks of scalar_text
            new = self.text(node, path)
            return new if self.rebuild else node
        if kind is dict:
            return self._mapping(node, path)
        if kind is list or kind is tuple:
            return self._sequence(node, path, node, _build_sequence)
        if kind is int and -(10**18) < node < 10**18:
            text = str(node)
            new = self.text(text, path)
            return node if new is text or not self.rebuild else new
        if node is None or kind is bool:
            return node
        if kind is float:
            digits = _float_text(node)
            if digits is None:
                return node
            new = self.text(digits, path)
            return node if new is digits or not self.rebuild else new
        text = scalar_text(node, path)
        if text is None:
            return node
        if text is not _NOT_SCALAR:
            new = self.text(text, path)
            return _rebuilt_scalar(node, text, new) if self.rebuild else node
        if isinstance(node, Mapping):
            return self._mapping(node, path)
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            names = [f.name for f in dataclasses.fields(node)]
            extra = [n for n in getattr(node, "__dict__", {}) if n not in names]
            todo = [(_CHILD, _join(path, n), getattr(node, n)) for n in names + extra]
            return self._frame(node, path, todo, functools.partial(_build_dataclass, names + extra))
        if _is_pydantic(node):
            return self._pydantic(node, path)
        if _is_pandas(node, "DataFrame", "Series"):
            return self.table(node, path)
        if _is_pandas(node, "Index"):
            raise UnscannableData(f"cannot scan a pandas {type(node).__name__} at {where(path)}")
        if type(node).__module__ == "numpy" and type(node).__name__ == "ndarray":
            if node.dtype.kind in "bMmc":
                return node
            return self._sequence(node, path, node.tolist(), _build_ndarray)
        if isinstance(node, range):
            text = repr(node)
            if self.text(text, path) != text:
                raise UnscannableData(f"cannot redact a range at {where(path)}")
            return node
        if isinstance(node, list | tuple | AbstractSet | collections.deque) or (
            isinstance(node, Sequence) and not isinstance(node, str | bytes | bytearray | memoryview)
        ):
            return self._sequence(node, path, list(node), _build_sequence)
        hint = " (e.g. model.model_dump())" if hasattr(node, "model_dump") else ""
        raise UnscannableData(
            f"cannot scan a {type(node).__name__} at {where(path)}: give the data as text, "
            f"numbers, dicts, lists, dataclasses or pydantic models{hint}, or a DataFrame"
        )

    def _mapping(self, node: Mapping[Any, Any], path: Path) -> _Frame:
        todo: list[tuple[int, Any, Any]] = []
        for i, (k, v) in enumerate(node.items()):
            todo.append((_KEY, i, k))
            todo.append((_VALUE, i, (k, v)))
        return self._frame(node, path, todo, _build_mapping)

    def _sequence(self, node: Any, path: Path, items: Sequence[Any], build: Callable[..., Any]) -> _Frame:
        todo = [(_CHILD, (path, f"[{i}]"), child) for i, child in enumerate(items)]
        return self._frame(node, path, todo, build)

    def _pydantic(self, node: Any, path: Path) -> _Frame:
        names = list(type(node).__pydantic_fields__)
        todo: list[tuple[int, Any, Any]] = [(_CHILD, _join(path, n), getattr(node, n, None)) for n in names]
        extra = getattr(node, "__pydantic_extra__", None) or {}
        private = getattr(node, "__pydantic_private__", None) or {}
        # Extra fields are data (their names too): walked as a mapping; private attributes as well.
        todo.append((_CHILD, _join(path, "<extra>"), dict(extra)))
        todo.append((_CHILD, _join(path, "<private>"), dict(private)))
        return self._frame(node, path, todo, functools.partial(_build_pydantic, names))

    # ------------------------------------------------------------------ tables
    def table(self, obj: Any, path: str | Path = None) -> Any:
        """A pandas DataFrame or Series: cells, labels, index, names and attrs."""
        from airflow_ai_governance.boundary._tables import walk_table

        return walk_table(self, obj, as_path(path))


def _build_mapping(frame: _Frame) -> dict[Any, Any]:
    done = frame.done
    out = dict(zip(done[0::2], done[1::2], strict=True))
    if len(out) != len(done) // 2:
        raise UnscannableData(f"two keys at {where(frame.path)} become the same once redacted; rename them")
    return out


def _build_sequence(frame: _Frame) -> Any:
    node, done = frame.node, frame.done
    if isinstance(node, list):
        return done
    if isinstance(node, tuple):
        if hasattr(node, "_fields"):
            return type(node)._make(done)  # type: ignore[attr-defined]
        return tuple(done)
    if isinstance(node, frozenset):
        return frozenset(done)
    if isinstance(node, AbstractSet):
        return set(done)
    if isinstance(node, collections.deque):
        return collections.deque(done, maxlen=node.maxlen)
    try:
        return type(node)(done)
    except Exception as exc:
        raise UnscannableData(
            f"cannot redact inside a {type(node).__name__} at {where(frame.path)} ({exc})"
        ) from None


def _build_ndarray(frame: _Frame) -> Any:
    import numpy as np

    return np.array(frame.done, dtype=object)


def _build_dataclass(names: list[str], frame: _Frame) -> Any:
    node = frame.node
    changed = {n: new for n, new in zip(names, frame.done, strict=True) if new is not getattr(node, n)}
    init = {f.name for f in dataclasses.fields(node) if f.init}
    if set(changed) - init:
        raise UnscannableData(
            f"cannot redact the {type(node).__name__} at {where(frame.path)}: redacted "
            "attributes are not init fields; give the data as a dict"
        )
    try:
        return dataclasses.replace(node, **changed)
    except Exception as exc:
        raise UnscannableData(
            f"cannot rebuild the {type(node).__name__} at {where(frame.path)} once redacted "
            f"({type(exc).__name__}); give the data as a dict"
        ) from None


def _build_pydantic(names: list[str], frame: _Frame) -> Any:
    node = frame.node
    *fields, extra, private = frame.done
    if private != (getattr(node, "__pydantic_private__", None) or {}):
        raise UnscannableData(
            f"cannot redact private attributes of the {type(node).__name__} at {where(frame.path)}"
        )
    update = {n: new for n, new in zip(names, fields, strict=True) if new is not getattr(node, n, None)}
    old_extra = getattr(node, "__pydantic_extra__", None) or {}
    if list(extra) != list(old_extra):  # a redacted extra field *name*
        raise UnscannableData(
            f"cannot redact extra field names of the {type(node).__name__} at {where(frame.path)}"
        )
    update.update({k: v for k, v in extra.items() if v is not old_extra[k]})
    return node.model_copy(update=update)
