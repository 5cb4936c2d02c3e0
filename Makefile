# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format venv bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

## Serve the demo as in production (DEBUG off, generated secrets in var/) with the Jira and
## ServiceNow simulators, a worker and beat, on http://$(HOST):$(PORT); DEBUG=1 make run to develop
run: venv
	HOST=$(HOST) PORT=$(PORT) BIN=$(BIN) bash scripts/run_dev.sh

## The whole test suite (tests needing a missing service are skipped and named)
test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Pages beside their floors on Postgres + gunicorn (ARGS='--scale 1m' for 1,000,000 anomalies)
bench: venv
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf var/celery-broker var/*.log
