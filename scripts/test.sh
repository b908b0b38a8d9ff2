#!/usr/bin/env bash
# `make test`: every check, against real PostgreSQL and Redis.
#   scripts/test.sh            all phases
#   scripts/test.sh backend    ruff, migrations check, pytest
#   scripts/test.sh frontend   API types up to date, eslint, type-checked build, vitest
#   scripts/test.sh e2e        the dashboard in headless Chromium against the real API and worker
#   scripts/test.sh deploy     promtool: the alert rules, their unit tests, the Prometheus config
# DATABASE_URL / REDIS_URL are used when set; otherwise embedded servers are
# started under .data/test (kept apart from `make run`'s) and stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
phases=("${@:-backend deploy frontend e2e}")
phases=(${phases[*]})

export EMBEDDED_DATA_DIR="${EMBEDDED_DATA_DIR:-$PWD/.data/test}"
embedded=false
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then embedded=true; fi
eval "$($PY backend/config/embedded.py env)"
stop_services() { if $embedded; then $PY backend/config/embedded.py down >/dev/null 2>&1 || true; fi; }
trap stop_services EXIT

# Tests get their own Huey queue so they never take tasks of a running `make run`.
export HUEY_NAME="payouts-test-$$"
export DEBUG=false DEMO_MODE=false

run_backend() {
  echo "== ruff"
  .venv/bin/ruff check backend scripts bench
  .venv/bin/ruff format --check backend scripts bench
  echo "== import layers (import-linter)"
  (cd backend && ../.venv/bin/lint-imports ../pyproject.toml)
  echo "== mypy"
  (cd backend && ../.venv/bin/mypy --config-file ../pyproject.toml api bank common config ledger merchants ops payouts webhooks)
  echo "== migrations are up to date"
  (cd backend && ../$PY manage.py makemigrations --check --dry-run)
  echo "== pytest"
  .venv/bin/pytest backend "${PYTEST_ARGS[@]}"
}

run_frontend() {
  echo "== frontend: API types match the schema"
  scripts/api_types.sh check
  echo "== frontend: lint, build, unit tests"
  (cd frontend && npm run --silent lint && npm run --silent build && npm test --silent)
}

run_deploy() {
  echo "== deploy: alert rules, their unit tests, Prometheus config (promtool)"
  local promtool dir
  promtool=$(scripts/promtool.sh)
  "$promtool" check rules deploy/prometheus/alerts.yml
  "$promtool" test rules deploy/prometheus/tests/*.yml
  # The config reads the bearer token from a file beside it, which only the
  # running service has: check a copy with a placeholder token.
  dir=$(mktemp -d)
  cp deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml "$dir"
  echo placeholder >"$dir/metrics_token"
  "$promtool" check config "$dir/prometheus.yml" || { rm -rf "$dir"; return 1; }
  rm -rf "$dir"
}

run_e2e() {
  echo "== end to end: dashboard in Chromium against the real API and worker"
  scripts/e2e.sh
}

PYTEST_ARGS=()
for phase in "${phases[@]}"; do
  case "$phase" in
    backend) run_backend ;;
    deploy) run_deploy ;;
    frontend) run_frontend ;;
    e2e) run_e2e ;;
    *) echo "unknown phase: $phase" >&2; exit 2 ;;
  esac
done
echo "== all passed: ${phases[*]}"
