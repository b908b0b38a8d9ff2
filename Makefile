# Payout engine. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export API_PORT ?= 8000
export WEB_PORT ?= 5173

.DEFAULT_GOAL := help
.PHONY: help run test test-backend test-frontend lint format e2e bench chaos services-down clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

venv: $(VENV)/.installed
node: frontend/node_modules/.installed

run: venv node ## Start everything (API, worker, dashboard) with demo data; Ctrl-C stops it all
	@scripts/run.sh

test: venv node ## Run every test: lint, migrations check, backend, frontend, end to end
	@scripts/test.sh

test-backend: venv ## Backend tests only (lint, migrations check, pytest)
	@scripts/test.sh backend

test-frontend: venv node ## Frontend API types check, lint, build and unit tests only
	@scripts/test.sh frontend

e2e: venv node ## The browser test against the real API and worker
	@scripts/test.sh e2e

lint: venv ## ruff check and format check
	$(VENV)/bin/ruff check backend scripts
	$(VENV)/bin/ruff format --check backend scripts

format: venv ## Format the backend code
	$(VENV)/bin/ruff format backend scripts
	$(VENV)/bin/ruff check --fix backend scripts

api-types: venv node ## Regenerate the dashboard's API types from the backend's OpenAPI schema
	@scripts/api_types.sh write
.PHONY: api-types

bench: venv ## Benchmark: API vs pgbench ceiling, cost growth, worker drain (about 10 minutes)
	@bench/run.sh

chaos: venv ## Chaos soak: kills API and worker processes and restarts Redis under load
	@$(PY) scripts/chaos.py

services-down: venv ## Stop the embedded PostgreSQL and Redis (data under .data/ is kept)
	$(PY) backend/config/embedded.py down
	EMBEDDED_DATA_DIR=.data/test $(PY) backend/config/embedded.py down

image-check: ## Build the one-container image and run it against this machine's PostgreSQL and Redis (root; Docker)
	@scripts/image_check.sh
.PHONY: image-check

clean: services-down ## Remove the virtualenv, node_modules and embedded data
	rm -rf $(VENV) frontend/node_modules frontend/dist .data
