"""Provider metadata for Airflow's providers manager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_ai_governance import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-ai-governance",
        "name": "AI Governance",
        "description": "Governed AI on Apache Airflow: policy-as-code, data-boundary checks, output "
        "standards, approval gates and an audited sidecar store.",
        "versions": [__version__],
        "task-decorators": [
            {"name": "governed", "class-name": "airflow_ai_governance.decorators.governed.governed_task"},
            {
                "name": "governed_llm",
                "class-name": "airflow_ai_governance.decorators.governed.governed_llm_task",
            },
        ],
        "operators": [
            {
                "integration-name": "AI Governance",
                "python-modules": [
                    "airflow_ai_governance.operators.boundary",
                    "airflow_ai_governance.operators.ai_task",
                    "airflow_ai_governance.operators.llm",
                    "airflow_ai_governance.operators.output_standard",
                    "airflow_ai_governance.operators.approval",
                ],
            }
        ],
        "plugins": [
            {
                "name": "ai_governance",
                "plugin-class": "airflow_ai_governance.plugins.plugin.AIGovernancePlugin",
            }
        ],
        "config": {
            "ai_governance": {
                "description": "airflow-ai-governance: where the governance sidecar lives.",
                "options": {
                    "sql_alchemy_conn": {
                        "description": "SQLAlchemy URL of the governance sidecar database. Empty: the "
                        "connection ai_governance_default, else SQLite under AIRFLOW_HOME.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "postgresql+psycopg://airflow@db/airflow",
                        "default": "",
                        "sensitive": True,
                    },
                    "audit_key": {
                        "description": "Key of the audit chain's MACs (never stored in the sidecar). Use "
                        "audit_key_secret to read it from the secrets backend. Empty: the key file.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": None,
                        "default": "",
                        "sensitive": True,
                    },
                    "redaction_key": {
                        "description": "Key of the redaction masks (never stored in the sidecar). Use "
                        "redaction_key_secret to read it from the secrets backend. Empty: the key file.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": None,
                        "default": "",
                        "sensitive": True,
                    },
                    "key_file": {
                        "description": "JSON file of generated keys (mode 0600), written by `aigov db "
                        "upgrade` for the keys not configured otherwise.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/secrets/ai_governance_keys.json",
                        "default": "",
                    },
                    "policy_cache_seconds": {
                        "description": "How long the DAG-parse-time policy check caches registry lookups.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "30",
                        "default": "30",
                    },
                },
            }
        },
    }
