# airflow-ai-governance: `make demo` and `make test` set everything up themselves.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit integration bench airflow clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python scripts/demo.py

lint: install
	$(BIN)/ruff check src tests bench dags scripts
	$(BIN)/ruff format --check src tests bench dags scripts

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	@bash scripts/ensure-postgres.sh
	@bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest tests -p no:cacheprovider

bench: install
	@bash scripts/ensure-postgres.sh
	@for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

airflow: install
	bash scripts/airflow.sh $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
