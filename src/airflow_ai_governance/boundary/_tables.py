"""pandas DataFrames and Series for the boundary walk (see :mod:`._walk`): every part that may hold text.

Cells of every dtype but booleans, datetimes, timedeltas, periods, intervals and complex numbers
are scanned: object (a cell holding a record is walked), string, numbers (a card number read as
``float64`` is a card number) and category (each category once, the unused ones too). So are the
column labels, the index (unless a ``RangeIndex``; ``MultiIndex`` tuples too), the axis names and
``attrs``. Paths: ``<column>[<row position>]``, ``<index>[<row position>]``, ``<column#j>`` for a
label, ``<column>.<categories>[k]`` for an unused category.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_ai_governance.boundary._walk import (
    _NOT_SCALAR,
    Path,
    UnscannableData,
    _ichild,
    _join,
    _kchild,
    _rebuilt_scalar,
    _shown,
    scalar_text,
    where,
)
from airflow_ai_governance.boundary.types import Finding

if TYPE_CHECKING:
    import pandas as pd

    from airflow_ai_governance.boundary._walk import Walk

PathOf = Callable[[int], Path]


def walk_table(w: Walk, obj: Any, path: Path) -> Any:
    import pandas as pd

    if isinstance(obj, pd.Series):
        return _series(w, obj, path)
    return _frame(w, obj, path)


def _skip_dtype(dtype: Any) -> bool:
    import pandas as pd

    if isinstance(dtype, pd.DatetimeTZDtype | pd.PeriodDtype | pd.IntervalDtype):
        return True
    if pd.api.types.is_bool_dtype(dtype):
        return True
    return getattr(dtype, "kind", "O") in "bMmc"


def _values(w: Walk, values: list[Any], path_of: PathOf) -> list[Any] | None:
    """Scan a column's values; the new list when (rebuilding and) something was redacted."""
    texts: list[str] = []
    rows: list[int] = []
    nested: list[int] = []
    for row, value in enumerate(values):
        kind = type(value)
        if kind is str:  # the common cases without scalar_text's ABC checks
            if value:
                texts.append(value)
                rows.append(row)
            continue
        if kind is int and -(10**18) < value < 10**18:
            texts.append(str(value))
            rows.append(row)
            continue
        try:
            text = scalar_text(value, None)
        except UnscannableData as exc:
            raise UnscannableData(f"{exc} ({where(path_of(row))})") from None
        if text is None or text == "":
            continue
        if text is _NOT_SCALAR:
            nested.append(row)
            continue
        texts.append(text)
        rows.append(row)
    new_texts = w.texts(texts, lambda i: path_of(rows[i]))
    changed: list[Any] | None = None
    if w.rebuild:
        for i, new in enumerate(new_texts):
            if new is not texts[i]:
                changed = changed if changed is not None else list(values)
                changed[rows[i]] = _rebuilt_scalar(values[rows[i]], texts[i], new)
    for row in nested:
        new_value = w.value(values[row], path_of(row))
        if w.rebuild and new_value is not values[row]:
            changed = changed if changed is not None else list(values)
            changed[row] = new_value
    return changed


def _categorical(w: Walk, s: pd.Series, path_of: PathOf, base: Path) -> Any | None:
    """Each category is scanned once; its findings are reported at every row that uses it, or at
    ``<column>.<categories>[k]`` when no row does (an unused category still travels with the data)."""
    import numpy as np
    import pandas as pd

    categories = s.cat.categories.tolist()
    codes = np.asarray(s.cat.codes)
    new_categories = list(categories)
    changed = False
    for k, category in enumerate(categories):
        cat_path = _ichild(_join(base, "<categories>"), k)
        text = scalar_text(category, cat_path)
        if text is None or text == "":
            continue
        if text is _NOT_SCALAR:
            new = w.value(category, cat_path)
            if new is not category:
                new_categories[k], changed = new, True
            continue
        found = w.keep(w.scanner.scan_text(text), None)
        if not found:
            continue
        rows = np.flatnonzero(codes == k).tolist()
        paths = [path_of(r) for r in rows] if rows else [cat_path]
        new_text = w.record_many(text, found, paths)
        if new_text is not text:
            new_categories[k], changed = _rebuilt_scalar(category, text, new_text), True
    if not (w.rebuild and changed):
        return None
    if len(set(map(repr, new_categories))) == len(new_categories):
        return s.cat.rename_categories(new_categories).array
    values = [new_categories[c] if c >= 0 else None for c in codes.tolist()]
    return pd.Categorical(values, ordered=s.cat.ordered)


def _cells(w: Walk, s: pd.Series, path_of: PathOf, base: Path) -> Any | None:
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        return _categorical(w, s, path_of, base)
    if _skip_dtype(s.dtype):
        return None
    if s.dtype.kind == "f" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        return _floats(w, s, path_of)
    return _values(w, s.tolist(), path_of)


def _floats(w: Walk, s: pd.Series, path_of: PathOf) -> list[Any] | None:
    """A float64/32 column, vectorised: only integral values can hold a number an entity is made of
    (a card, SSN or phone number read as a float); they are scanned as their digits."""
    import numpy as np

    values = s.to_numpy()
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 1e21)
    rows = np.flatnonzero(integral).tolist()
    if not rows:
        return None
    texts = [str(int(v)) for v in values[integral].tolist()]
    new_texts = w.texts(texts, lambda i: path_of(rows[i]))
    changed: list[Any] | None = None
    if w.rebuild:
        for i, new in enumerate(new_texts):
            if new is not texts[i]:
                changed = changed if changed is not None else s.tolist()
                changed[rows[i]] = new
    return changed


def _new_index(old: pd.Index, labels: list[Any]) -> pd.Index:
    import pandas as pd

    if isinstance(old, pd.MultiIndex):
        return pd.MultiIndex.from_tuples(labels, names=old.names)
    return pd.Index(labels, name=old.name, dtype=object)


def _index(w: Walk, index: pd.Index, path: Path, what: str) -> pd.Index | None:
    import pandas as pd

    if isinstance(index, pd.RangeIndex):
        return None
    base = _join(path, f"<{what}>")
    new = _values(w, index.tolist(), lambda r: _ichild(base, r))
    return _new_index(index, new) if new is not None else None


def _extras(w: Walk, obj: Any, path: Path, names: dict[str, list[Any]]) -> tuple[dict[str, Any], Any]:
    """Axis names and ``attrs``: (changed names by axis, new attrs or the old object)."""
    new_names = {}
    for axis, values in names.items():
        new = w.value(values, _join(path, f"<{axis} names>"))
        if new is not values:
            new_names[axis] = new
    attrs = obj.attrs
    new_attrs = w.value(attrs, _join(path, "<attrs>")) if attrs else attrs
    return new_names, new_attrs


def _frame(w: Walk, df: pd.DataFrame, path: Path) -> Any:
    labels = list(df.columns)
    new_labels = list(labels)
    bases: list[Path] = []
    for j, label in enumerate(labels):
        label_path = _join(path, f"<column#{j}>")
        mark = w.found
        new = w.value(label, label_path)
        bases.append(label_path if w.found != mark or not _shown(label) else _kchild(path, label))
        new_labels[j] = new
    wanted_columns = w.columns if path is None else None
    positions = (
        range(len(labels))
        if wanted_columns is None
        else [j for j, label in enumerate(labels) if label in list(wanted_columns)]
    )
    new_columns: dict[int, Any] = {}
    for j in positions:
        base = bases[j]
        new = _cells(w, df.iloc[:, j], lambda r, b=base: _ichild(b, r), base)  # type: ignore[misc]
        if new is not None:
            new_columns[j] = new
    new_index = _index(w, df.index, path, "index")
    names, attrs = _extras(w, df, path, {"index": list(df.index.names), "column": list(df.columns.names)})
    labels_changed = any(a is not b for a, b in zip(labels, new_labels, strict=True))
    if not w.rebuild or not (
        new_columns or new_index is not None or names or labels_changed or attrs is not df.attrs
    ):
        return df
    out = df.copy(deep=True)
    for j, values in new_columns.items():
        out.isetitem(j, values)
    if labels_changed:
        out.columns = _new_index(df.columns, new_labels)
    if new_index is not None:
        out.index = new_index
    if "index" in names:
        out.index = out.index.set_names(names["index"])
    if "column" in names:
        out.columns = out.columns.set_names(names["column"])
    if attrs is not df.attrs:
        out.attrs = attrs
    return out


def _series(w: Walk, s: pd.Series, path: Path) -> Any:
    import pandas as pd

    new_values = _cells(w, s, lambda r: _ichild(path, r), path)
    new_index = _index(w, s.index, path, "index")
    mark = w.changed
    new_name = w.value(s.name, _join(path, "<name>"))
    name_changed = w.changed != mark
    names, attrs = _extras(w, s, path, {"index": list(s.index.names)})
    if not w.rebuild or not (
        new_values is not None or new_index is not None or name_changed or names or attrs is not s.attrs
    ):
        return s
    out = s.copy(deep=True)
    if new_values is not None:
        out = pd.Series(new_values, index=out.index, name=out.name)
    if new_index is not None:
        out.index = new_index
    if "index" in names:
        out.index = out.index.set_names(names["index"])
    if name_changed:
        out.name = new_name
    out.attrs = attrs if attrs is not s.attrs else dict(s.attrs)
    return out


__all__ = ["Finding", "walk_table"]
