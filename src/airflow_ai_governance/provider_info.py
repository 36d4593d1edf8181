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
                    "audit_checkpoint_file": {
                        "description": "Append-only JSON-lines file of signed audit chain checkpoints "
                        "(`aigov audit checkpoint`), kept outside the sidecar; `aigov audit verify` checks "
                        "the chain against every one. Empty: $AIRFLOW_HOME/ai_governance_audit_checkpoints.jsonl.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/var/lib/airflow/audit/ai_governance_audit_checkpoints.jsonl",
                        "default": "",
                    },
                    "key_file": {
                        "description": "JSON file of generated keys (mode 0600), written by `aigov db "
                        "upgrade` for the keys not configured otherwise.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/secrets/ai_governance_keys.json",
                        "default": "",
                    },
                    "governance_roles": {
                        "description": "Auth-manager roles that hold the governance role in the AI "
                        "Governance pages and API: they see every use case and take lifecycle decisions "
                        "(never the owner's promotion to production). Comma-separated, case-insensitive.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "Admin,AI Governance",
                        "default": "admin,ai governance",
                    },
                    "notification_from": {
                        "description": "Sender of notification e-mails (default: the SMTP connection's "
                        "from_email).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "ai-governance@example.com",
                        "default": "",
                    },
                    "smtp_conn_id": {
                        "description": "SMTP connection of e-mail notifications (default: [email] "
                        "email_conn_id, else smtp_default).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "smtp_default",
                        "default": "",
                    },
                    "slack_webhook_conn_id": {
                        "description": "Slack incoming-webhook connection for contacts on the slack channel.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "slack_default",
                        "default": "slack_default",
                    },
                    "webhook_conn_ids": {
                        "description": "HTTP connections of webhook (and teams) contacts, comma-separated: "
                        "a contact's URL is sent through the connection with the same host, never elsewhere.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "ai_governance_webhook,teams_webhook",
                        "default": "ai_governance_webhook",
                    },
                    "pagerduty_conn_id": {
                        "description": "HTTP connection to PagerDuty's Events API v2 for pagerduty contacts.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "pagerduty_events",
                        "default": "pagerduty_events",
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
