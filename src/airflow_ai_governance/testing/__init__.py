"""Testing and demo utilities: a real Airflow 3 cluster in local processes, and a REST client for it.

Not meant for production deployments: the cluster runs Airflow's ``SimpleAuthManager`` (plaintext
passwords) and the ``LocalExecutor`` on one machine. It backs the project's end-to-end tests
(``tests/integration/e2e``) and ``make airflow``. Importing this package starts nothing.
"""

from __future__ import annotations

from airflow_ai_governance.testing.airflow_cluster import (
    COMPONENTS,
    DEFAULT_USERS,
    AirflowClient,
    AirflowCluster,
    AirflowClusterError,
)

__all__ = [
    "COMPONENTS",
    "DEFAULT_USERS",
    "AirflowClient",
    "AirflowCluster",
    "AirflowClusterError",
]
