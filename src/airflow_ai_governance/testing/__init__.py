"""Testing and demo utilities: a real Airflow 3 cluster in local processes, and a REST client for it.

Not meant for production deployments: the cluster runs Airflow's ``SimpleAuthManager`` (plaintext
passwords) and the ``LocalExecutor`` on one machine. It backs the project's end-to-end tests
(``tests/integration/e2e``) and ``make airflow``. Importing this package starts nothing (and
imports nothing heavy: the names below load on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_ai_governance.testing.airflow_cluster import (
        COMPONENTS,
        DEFAULT_USERS,
        AirflowClient,
        AirflowCluster,
        AirflowClusterError,
        create_postgres_database,
        drop_postgres_database,
    )

__all__ = [
    "COMPONENTS",
    "DEFAULT_USERS",
    "AirflowClient",
    "AirflowCluster",
    "AirflowClusterError",
    "create_postgres_database",
    "drop_postgres_database",
]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m airflow_ai_governance.testing.airflow_cluster` does not find its
    # module already imported by the package (runpy's RuntimeWarning).
    if name in __all__:
        from airflow_ai_governance.testing import airflow_cluster

        return getattr(airflow_cluster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
