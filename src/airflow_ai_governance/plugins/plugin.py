"""The Airflow plugin (entry point ``airflow.plugins``): governance API, UI link, listeners."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_ai_governance.plugins import listeners

URL_PREFIX = "/ai-governance"


def _fastapi_apps() -> list[dict[str, Any]]:
    try:
        from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
        from airflow.api_fastapi.core_api.security import requires_access_view
    except ImportError:  # not on an API server (e.g. a worker that only needs the listeners)
        return []
    from airflow_ai_governance.plugins.api import create_app

    app = create_app(auth=requires_access_view(AccessView.PLUGINS))
    return [{"name": "AI Governance API", "app": app, "url_prefix": URL_PREFIX}]


class AIGovernancePlugin(AirflowPlugin):
    name = "ai_governance"
    listeners = [listeners]
    fastapi_apps = _fastapi_apps()
    external_views = [
        {
            "name": "AI Governance API",
            "href": f"{URL_PREFIX}/docs",
            "destination": "nav",
            "category": "browse",
            "url_route": "ai-governance",
        }
    ]
