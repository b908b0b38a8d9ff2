#!/usr/bin/env bash
# `make run`: migrate, seed the demo merchants, then run the API (gunicorn), the
# Huey worker and the dashboard until Ctrl-C. Uses DATABASE_URL / REDIS_URL if
# set, else embedded PostgreSQL and Redis under .data/.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-true}"
export DEMO_MODE="${DEMO_MODE:-true}"
export API_PORT="${API_PORT:-8000}" WEB_PORT="${WEB_PORT:-5173}"
PY=.venv/bin/python

embedded=false
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then embedded=true; fi
eval "$($PY backend/config/embedded.py env)"
$PY backend/manage.py migrate --noinput
# The API and the worker run as the application role: rows only, owner of nothing.
eval "$($PY backend/manage.py app_role --env)"
$PY backend/manage.py seed

# Each child gets its own process group, so stopping one stops all it started.
set -m
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if $embedded; then $PY backend/config/embedded.py down; fi
}
trap cleanup EXIT
trap "cleanup; exit 0" INT TERM

.venv/bin/gunicorn config.wsgi --chdir backend --bind "127.0.0.1:${API_PORT}" \
  --workers "${WEB_CONCURRENCY:-3}" --access-logfile - &
pids+=($!)
(cd backend && exec ../$PY manage.py run_huey) &
pids+=($!)
(cd frontend && VITE_API_URL="http://127.0.0.1:${API_PORT}" exec node_modules/.bin/vite --host 127.0.0.1 --port "${WEB_PORT}" --strictPort) &
pids+=($!)

sleep 2
echo
echo "  Dashboard: http://127.0.0.1:${WEB_PORT}"
echo "  API:       http://127.0.0.1:${API_PORT}/api/v1/health   docs: http://127.0.0.1:${API_PORT}/api/v1/docs"
echo "  Ctrl-C stops everything."
echo
wait -n
