# Payout engine. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export API_PORT ?= 8000
export WEB_PORT ?= 5173

.DEFAULT_GOAL := help
.PHONY: help run test test-backend test-deploy test-frontend lint format e2e bench chaos lock services-down clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# Installed from the locks only, every file checked against its hash (`make lock` refreshes them).
$(VENV)/.installed: requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

venv: $(VENV)/.installed
node: frontend/node_modules/.installed

run: venv node ## Start everything (API, worker, dashboard) with demo data; Ctrl-C stops it all
	@scripts/run.sh

test: venv node ## Run every test: lint, migrations check, backend, alert rules, frontend, end to end
	@scripts/test.sh

test-backend: venv ## Backend tests only (lint, migrations check, pytest)
	@scripts/test.sh backend

test-deploy: venv ## Alert rules, their promtool unit tests and the Prometheus config (installs promtool as root)
	@scripts/test.sh deploy

test-frontend: venv node ## Frontend API types check, lint, build and unit tests only
	@scripts/test.sh frontend

e2e: venv node ## The browser test against the real API and worker
	@scripts/test.sh e2e

lint: venv ## ruff check and format check
	$(VENV)/bin/ruff check backend scripts bench
	$(VENV)/bin/ruff format --check backend scripts bench

format: venv ## Format the backend code
	$(VENV)/bin/ruff format backend scripts bench
	$(VENV)/bin/ruff check --fix backend scripts bench

api-types: venv node ## Regenerate the dashboard's API types from the backend's OpenAPI schema
	@scripts/api_types.sh write
.PHONY: api-types

bench: venv ## Benchmark: API vs pgbench ceiling, cost growth, worker drain (about 10 minutes)
	@bench/run.sh

chaos: venv ## Chaos soak: kills API and worker processes and restarts Redis under load
	@$(PY) scripts/chaos.py

# uv resolves for every platform and Python 3.11+ (--universal), with the hashes
# of every file of each pinned release. The dev and bench locks are constrained
# by the runtime lock, so tests and the benchmark run exactly what the image runs.
# `make lock` keeps the pins that still fit the ranges; `make lock UPGRADE=1`
# takes the newest release within them.
UV_VERSION := 0.13.9
UV := .data/tools/uv-$(UV_VERSION)/bin/uv
UV_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

$(UV):
	$(PYTHON) -m venv $(dir $(@D))
	$(dir $(@D))bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

lock: $(UV) ## Refresh requirements.lock, requirements-dev.lock, bench/requirements.lock (UPGRADE=1: newest in range)
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock
	$(UV_COMPILE) bench/requirements.txt -c requirements-dev.lock -o bench/requirements.lock

services-down: venv ## Stop the embedded PostgreSQL and Redis (data under .data/ is kept)
	$(PY) backend/config/embedded.py down
	EMBEDDED_DATA_DIR=.data/test $(PY) backend/config/embedded.py down

image-check: ## Build the one-container image and run it against this machine's PostgreSQL and Redis (root; Docker)
	@scripts/image_check.sh
.PHONY: image-check

clean: services-down ## Remove the virtualenv, node_modules and embedded data
	rm -rf $(VENV) frontend/node_modules frontend/dist .data
