"""Leaf types of the data boundary: entity types, actions and findings (stdlib only).

The policy layer imports :class:`EntityType` and :class:`BoundaryAction` from here, so this module
must stay free of any other project or third-party import.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

__all__ = ["BoundaryAction", "EntityType", "Finding"]


_E = TypeVar("_E", bound=StrEnum)


class EntityType(StrEnum):
    """The data classes the boundary scanner detects."""

    EMAIL_ADDRESS = "EMAIL_ADDRESS"
    PHONE_NUMBER = "PHONE_NUMBER"
    CREDIT_CARD = "CREDIT_CARD"
    IBAN_CODE = "IBAN_CODE"
    US_SSN = "US_SSN"
    IP_ADDRESS = "IP_ADDRESS"
    SECRET = "SECRET"

    @classmethod
    def parse(cls, value: EntityType | str) -> EntityType:
        """``EntityType`` from a member or its name (case-insensitive); ``ValueError`` names the choices."""
        return _parse(cls, value, str(value).strip().upper(), "entity type")


class BoundaryAction(StrEnum):
    """What the boundary does with a finding of a given type."""

    BLOCK = "block"
    REDACT = "redact"
    RECORD = "record"

    @classmethod
    def parse(cls, value: BoundaryAction | str) -> BoundaryAction:
        """``BoundaryAction`` from a member or its value (case-insensitive)."""
        return _parse(cls, value, str(value).strip().lower(), "boundary action")


def _parse(cls: type[_E], value: object, normalised: str, what: str) -> _E:
    if isinstance(value, cls):
        return value
    try:
        return cls(normalised)
    except ValueError:
        choices = ", ".join(member.value for member in cls)
        raise ValueError(f"unknown {what} {value!r}; expected one of: {choices}") from None


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity: its type and where it is, never the matched value.

    ``start``/``end`` are offsets (Python ``str`` indices, i.e. code points) into the scanned text.
    ``path`` locates the text inside a record or DataFrame (``None`` for a plain text):

    * records: keys joined with ``.``, list positions as ``[i]``, e.g. ``items[2].text``; a key that
      is not a plain identifier is written ``["a key"]`` (JSON-quoted), e.g. ``meta["e-mail"]``;
    * DataFrames: ``<column>[<row position>]`` with the 0-based position of the row (not the index
      label), e.g. ``notes[41]``; column names are quoted like record keys when needed.
    """

    type: EntityType
    start: int
    end: int
    confidence: float
    path: str | None = None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (type, start, end, confidence and path when set)."""
        out: dict[str, object] = {
            "type": self.type.value,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }
        if self.path is not None:
            out["path"] = self.path
        return out
