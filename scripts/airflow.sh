#!/usr/bin/env bash
# `make airflow`: a real Airflow 3 (api-server, scheduler, dag-processor, triggerer; LocalExecutor)
# with the AI-governance plugin and the repository's dags/, for a person to click through.
#
# - Airflow's metadata DB: SQLite in a fresh AIRFLOW_HOME (a temporary directory, removed at exit;
#   AIRFLOW_DEMO_HOME=/some/dir keeps one across runs).
# - The governance sidecar: SQLite in the same home (or $AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN),
#   migrated, loaded with the example policies of dags/governance and their use cases promoted to
#   production (recorded as decided by "admin"), so the example DAGs can run. AIGOV_DEMO_SETUP=0 skips it.
# - Users (SimpleAuthManager, password = user name): admin (admin), the owners, reviewers and
#   escalation contacts of the example policies (role user), viewer1 (viewer).
# - Ctrl-C stops every process. Extra arguments go to the harness, e.g. `--port 8081`,
#   `--db-url postgresql+psycopg://postgres@127.0.0.1:5432/empty_db`, `--random-passwords`;
#   see `.venv/bin/python -m airflow_ai_governance.testing.airflow_cluster --help`.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
USERS="admin:admin,olivia:user,oscar:user,paula:user,rita:user,rachel:user,roger:user,lena:user,eric:user,fiona:user,gina:user,viewer1:viewer"

if [[ -n "${AIRFLOW_DEMO_HOME:-}" ]]; then
  home=$(mkdir -p "$AIRFLOW_DEMO_HOME" && cd "$AIRFLOW_DEMO_HOME" && pwd)
  keep=1
else
  home=$(mktemp -d -t aigov-airflow-demo-XXXXXX)
  keep=0
fi
cleanup() {
  if [[ $keep == 0 ]]; then rm -rf "$home"; fi
}
trap cleanup EXIT

export AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN="${AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN:-sqlite:///$home/ai_governance.db}"

if [[ "${AIGOV_DEMO_SETUP:-1}" != 0 ]]; then
  echo "Preparing the governance sidecar ..."
  AIRFLOW_HOME="$home" "$BIN/aigov" db upgrade
  if AIRFLOW_HOME="$home" "$BIN/aigov" policy sync dags/governance; then
    for use_case in $(AIRFLOW_HOME="$home" "$BIN/aigov" use-case list | awk '{print $1}'); do
      for state in approved pilot production; do
        AIRFLOW_HOME="$home" "$BIN/aigov" promote "$use_case" --to "$state" --by admin \
          --reason "make airflow: demo set-up" >/dev/null 2>&1 || true
      done
    done
    AIRFLOW_HOME="$home" "$BIN/aigov" use-case list || true
  else
    echo "WARNING: the example policies could not be synced; governed DAGs will refuse to run." >&2
  fi
fi

# Not exec: the EXIT trap removes the temporary home after the harness has stopped everything.
status=0
"$BIN/python" -m airflow_ai_governance.testing.airflow_cluster \
  --dags dags --home "$home" --users "$USERS" "$@" || status=$?
exit "$status"
