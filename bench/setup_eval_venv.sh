#!/usr/bin/env bash
# Creates bench/.venv-eval: a virtualenv with presidio-evaluator (its sentence faker and templates),
# kept apart from the project's .venv because its pins need not fit beside Airflow.
# Used only by bench/independent_corpus.py; nothing here ships or is imported by src/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-eval"
uv="${UV:-$here/../.venv/bin/uv}"
[ -x "$uv" ] || uv="uv"
"$uv" venv --python 3.11 "$venv"
"$uv" pip install --python "$venv/bin/python" "presidio-evaluator==0.3.2"
"$venv/bin/python" -c "import presidio_evaluator; print('presidio-evaluator', presidio_evaluator.__file__)"
