"""The Airflow plugin (entry point ``airflow.plugins``): governance pages and API, nav entry, listeners.

The pages are an ``external_views`` entry: an iframe inside Airflow's UI onto pages this plugin's
FastAPI app serves (``/ai-governance/...``), shown as the top-level nav item "AI Governance"
(see docs/ui.md for why not ``react_apps``).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_ai_governance.plugins import listeners
from airflow_ai_governance.plugins.urls import NAV_ROUTE, URL_PREFIX


def _fastapi_apps() -> list[dict[str, Any]]:
    try:
        from airflow.api_fastapi.core_api.security import get_user  # noqa: F401 - an API server
    except ImportError:  # not on an API server (e.g. a worker that only needs the listeners)
        return []
    from airflow_ai_governance.plugins.access import airflow_viewer_dependency
    from airflow_ai_governance.plugins.api import create_app

    app = create_app(airflow_viewer_dependency())
    return [{"name": "AI Governance", "app": app, "url_prefix": URL_PREFIX}]


class AIGovernancePlugin(AirflowPlugin):
    name = "ai_governance"
    listeners = [listeners]
    fastapi_apps = _fastapi_apps()
    external_views = [
        {
            "name": "AI Governance",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": NAV_ROUTE,
            "nav_top_level": True,
            "icon": f"{URL_PREFIX}/static/icon.svg",
            "icon_dark_mode": f"{URL_PREFIX}/static/icon-dark.svg",
        }
    ]
