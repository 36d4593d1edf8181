"""Per-value type checks for the policy's field types, as pandas data produces them.

``expect_column_values_to_be_in_type_list`` is not used for field types: on pandas it compares the
column's *dtype* unless the dtype is ``object``, which is wrong for records in several ways. A
nullable integer column becomes ``float64`` (``[1, None]``), so ``2.5`` would pass an integer check;
pandas 3 stores text as the ``str`` dtype, which no type-list name matches; and a dtype-level
failure has no row indexes, so nothing could be quarantined row by row. Each value is checked
instead (nulls are left to the null check, as in every GX map expectation):

========== ===================================================================================
type       accepted values
========== ===================================================================================
string     ``str``
integer    ``int`` and numpy integers, and integral finite floats (``3.0``, what pandas makes of
           an int column with nulls); never ``bool``
number     ``int``, ``float``, numpy numbers and ``Decimal``, finite; never ``bool``
boolean    ``bool`` and ``numpy.bool_``
datetime   ``datetime``/``pandas.Timestamp``, ``numpy.datetime64``, or an ISO 8601 string that
           ``datetime.fromisoformat`` parses
date       ``date`` (not a datetime), a naive datetime at midnight (a date in a datetime64
           column), or a ``YYYY-MM-DD`` string
========== ===================================================================================

This module imports neither pandas nor numpy: numpy scalars are recognised through the
:mod:`numbers` ABCs they register with, and by type name.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, get_args

from airflow_ai_governance.policy.models import FieldType

FIELD_TYPES: tuple[str, ...] = get_args(FieldType)

_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or (type(value).__name__ in ("bool_", "bool") and hasattr(value, "dtype"))


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def is_integer(value: Any) -> bool:
    if _is_bool(value):
        return False
    if isinstance(value, numbers.Integral):
        return True
    if isinstance(value, numbers.Real):
        as_float = float(value)
        return math.isfinite(as_float) and as_float.is_integer()
    if isinstance(value, Decimal):
        return value.is_finite() and value == value.to_integral_value()
    return False


def is_number(value: Any) -> bool:
    if _is_bool(value):
        return False
    if isinstance(value, numbers.Integral):
        return True
    if isinstance(value, numbers.Real):
        return math.isfinite(float(value))
    if isinstance(value, Decimal):
        return value.is_finite()
    return False


def is_boolean(value: Any) -> bool:
    return _is_bool(value)


def _is_datetime64(value: Any) -> bool:
    return type(value).__name__ == "datetime64" and str(value) != "NaT"


def is_datetime(value: Any) -> bool:
    if isinstance(value, datetime) or _is_datetime64(value):
        return True
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


def is_date(value: Any) -> bool:
    if isinstance(value, datetime):
        return value.tzinfo is None and value.time() == time(0)
    if isinstance(value, date):
        return True
    if isinstance(value, str) and _DATE_TEXT.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": is_string,
    "integer": is_integer,
    "number": is_number,
    "boolean": is_boolean,
    "datetime": is_datetime,
    "date": is_date,
}


def matches_field_type(value: Any, field_type: str) -> bool:
    """Whether one (non-null) value is of the policy field type ``field_type``."""
    try:
        check = TYPE_CHECKS[field_type]
    except KeyError:
        raise ValueError(f"unknown field type {field_type!r}; known: {', '.join(FIELD_TYPES)}") from None
    return check(value)
