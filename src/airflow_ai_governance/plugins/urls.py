"""Where the governance pages live: paths and absolute links (no FastAPI needed: workers import it).

The plugin's app is mounted under :data:`URL_PREFIX`. Its pages are shown inside Airflow's UI as
the nav entry "AI Governance" (``/plugin/<NAV_ROUTE>``); Airflow 3.3 keeps the iframe's location
in the address bar, so ``/plugin/governance/ai-governance/review/...`` opens a page inside Airflow.
Absolute links (HITL bodies, e-mails) start at Airflow's ``[api] base_url``.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import quote, urlencode

URL_PREFIX = "/ai-governance"
API_PREFIX = f"{URL_PREFIX}/api/v1"
#: Airflow UI route of the nav entry (``/plugin/governance``).
NAV_ROUTE = "governance"
DEFAULT_BASE_URL = "http://localhost:8080"


def _q(segment: str | int) -> str:
    return quote(str(segment), safe="")


def airflow_base_url() -> str:
    """Airflow's ``[api] base_url`` without a trailing slash (default ``http://localhost:8080``)."""
    value = os.environ.get("AIRFLOW__API__BASE_URL")
    if not value and "airflow" in sys.modules:
        try:
            from airflow.configuration import conf
        except ImportError:  # a Task-SDK-only worker
            value = None
        else:
            value = conf.get("api", "base_url", fallback=None)
    value = (value or "").strip()
    if not value.startswith(("http://", "https://")):
        return DEFAULT_BASE_URL
    return value.rstrip("/")


def absolute(path: str, base_url: str | None = None) -> str:
    """``path`` (starting with ``/``) under Airflow's base URL (which may carry a path prefix)."""
    return (base_url.rstrip("/") if base_url else airflow_base_url()) + path


def review_path(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The review page of one approval request (contract C1)."""
    return f"{URL_PREFIX}/review/{_q(dag_id)}/{_q(run_id)}/{_q(task_id)}/{int(map_index)}"


def review_url(
    dag_id: str, run_id: str, task_id: str, map_index: int = -1, *, base_url: str | None = None
) -> str:
    """Absolute link to the review page, for HITL bodies and notifications."""
    return absolute(review_path(dag_id, run_id, task_id, map_index), base_url)


def use_case_path(use_case_id: str) -> str:
    return f"{URL_PREFIX}/use-cases/{_q(use_case_id)}"


def use_case_url(use_case_id: str, *, base_url: str | None = None) -> str:
    return absolute(use_case_path(use_case_id), base_url)


def inbox_path() -> str:
    return f"{URL_PREFIX}/approvals"


def in_airflow(path: str) -> str:
    """A page path of this plugin, shown inside Airflow's UI (nav entry, iframe)."""
    return f"/plugin/{NAV_ROUTE}{path}"


def task_instance_path(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """Airflow UI page of a task instance."""
    path = f"/dags/{_q(dag_id)}/runs/{_q(run_id)}/tasks/{_q(task_id)}"
    return f"{path}/mapped/{int(map_index)}" if map_index >= 0 else path


def required_actions_path(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """Airflow UI's Required Actions tab of a task instance (what ``HITLOperator`` links to)."""
    base = f"/dags/{_q(dag_id)}/runs/{_q(run_id)}/tasks/{_q(task_id)}/required_actions"
    return f"{base}?{urlencode({'map_index': int(map_index)})}"
