"""Support code for the example DAGs in the repository's ``dags/`` folder (offline models)."""
