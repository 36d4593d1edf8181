"""Entity types the data boundary knows, and what a policy may do with each (stdlib only)."""

from __future__ import annotations

from enum import StrEnum


class EntityType(StrEnum):
    EMAIL_ADDRESS = "EMAIL_ADDRESS"
    PHONE_NUMBER = "PHONE_NUMBER"
    CREDIT_CARD = "CREDIT_CARD"
    IBAN_CODE = "IBAN_CODE"
    US_SSN = "US_SSN"
    IP_ADDRESS = "IP_ADDRESS"
    SECRET = "SECRET"


class BoundaryAction(StrEnum):
    BLOCK = "block"
    REDACT = "redact"
    RECORD = "record"
