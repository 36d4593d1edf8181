"""The data boundary: a fast PII and secret scanner with block / redact / record actions.

Importing this package is cheap (stdlib only); pandas, Presidio and Faker are imported lazily by
the functions that need them.

>>> from airflow_ai_governance.boundary import apply_boundary
>>> result = apply_boundary("mail jane@example.com", {"EMAIL_ADDRESS": "redact"})
>>> result.summary()
{'EMAIL_ADDRESS': 1}
"""

from __future__ import annotations

from airflow_ai_governance.boundary.redaction import (
    REDACTION_KEY_ENV,
    BoundaryResult,
    RedactionKeyWarning,
    UnscannableData,
    apply_boundary,
    mask_value,
    redact_text,
    redaction_key,
)
from airflow_ai_governance.boundary.scanner import Scanner, ScannerBase, parse_types, scan_text
from airflow_ai_governance.boundary.types import BoundaryAction, EntityType, Finding

__all__ = [
    "REDACTION_KEY_ENV",
    "BoundaryAction",
    "BoundaryResult",
    "EntityType",
    "Finding",
    "RedactionKeyWarning",
    "Scanner",
    "ScannerBase",
    "UnscannableData",
    "apply_boundary",
    "mask_value",
    "parse_types",
    "redact_text",
    "redaction_key",
    "scan_text",
]
