"""A DAG of the ``ops`` team that runs no governed task (browser tests: a user who reads only it
may see no use case)."""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(schedule=None, catchup=False, tags=["ops"])
def ops_housekeeping() -> None:
    @task
    def rotate_logs() -> int:
        return 0

    rotate_logs()


ops_housekeeping()
