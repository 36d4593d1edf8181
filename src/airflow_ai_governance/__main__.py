from airflow_ai_governance.cli import run

run()
