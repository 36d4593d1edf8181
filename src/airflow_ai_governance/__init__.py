"""airflow-ai-governance: governed AI in production on Apache Airflow 3."""

from __future__ import annotations

__version__ = "0.1.0"
