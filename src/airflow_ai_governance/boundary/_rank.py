"""Overlap priority of entity types (stdlib only; shared by the scanner and its detectors)."""

from __future__ import annotations

from airflow_ai_governance.boundary.types import EntityType

#: A hit before it becomes a Finding: (start, end, rank, confidence).
Hit = tuple[int, int, int, float]

#: Overlap priority (lower wins): a validated IBAN beats the phone-like digit groups inside it, a
#: connection-string password beats the e-mail-like ``password@host`` around it.
RANK: dict[EntityType, int] = {
    EntityType.SECRET: 0,
    EntityType.IBAN_CODE: 1,
    EntityType.CREDIT_CARD: 2,
    EntityType.EMAIL_ADDRESS: 3,
    EntityType.US_SSN: 4,
    EntityType.IP_ADDRESS: 5,
    EntityType.PHONE_NUMBER: 6,
}
TYPE_BY_RANK: tuple[EntityType, ...] = tuple(sorted(RANK, key=RANK.__getitem__))

#: Joins DataFrame cells for one scan per column; no pattern can match across it.
CELL_SEP = "\x00"
