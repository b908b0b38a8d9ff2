#!/usr/bin/env bash
# `make run`: migrate, seed the demo merchants, then run the API (gunicorn), the
# Huey worker and the dashboard until Ctrl-C. Uses DATABASE_URL / REDIS_URL if
# set, else embedded PostgreSQL and Redis under .data/.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-true}"
export DEMO_MODE="${DEMO_MODE:-true}"
# Webhook receivers on this machine (http://localhost:…) are allowed while developing.
export WEBHOOKS_ALLOW_HTTP="${WEBHOOKS_ALLOW_HTTP:-true}" WEBHOOKS_ALLOW_PRIVATE="${WEBHOOKS_ALLOW_PRIVATE:-true}"
export API_PORT="${API_PORT:-8000}" WEB_PORT="${WEB_PORT:-5173}"
PY=.venv/bin/python

# Pid files of this run's processes (scripts/run_guard.py). Whatever a previous
# run left running (killed with SIGKILL, say) is stopped first: an old worker
# would go on taking tasks with its old settings.
mkdir -p "${RUN_PID_DIR:-.data/run}"
RUN_DIR=$(cd "${RUN_PID_DIR:-.data/run}" && pwd)
guard() { "$PY" scripts/run_guard.py "$@"; }
guard stop "$RUN_DIR" --grace 10 --previous

embedded=false
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then embedded=true; fi
eval "$($PY backend/config/embedded.py env)"
$PY backend/manage.py migrate --noinput
# The API and the worker run as the application role: rows only, owner of nothing.
eval "$($PY backend/manage.py app_role --env)"
$PY backend/manage.py seed

# Nothing started below may outlive this script, however it is stopped:
# - the children stay in this process group, so a signal to the group (Ctrl-C,
#   SIGTERM, SIGKILL, the SIGHUP of a closing terminal) reaches each of them;
# - each records its pid under $RUN_DIR and, on Linux, gets SIGTERM when this
#   script dies, even by SIGKILL (a parent-death signal);
# - a watchdog stops them all once this script is gone, and tells it when its
#   terminal has closed (make, not a shell, got the SIGHUP then).
# Each carries PAYOUTS_RUN_ID, which finds the orphans among them on Linux.
PAYOUTS_RUN_ID="$$-$(date +%s)-$RANDOM"
export PAYOUTS_RUN_ID
stopping=false
cleanup() {
  if $stopping; then return 0; fi
  stopping=true
  set +e
  # A second signal (make forwards SIGTERM, Ctrl-C twice) must not cut this short.
  trap '' INT TERM HUP PIPE
  echo "stopping..."
  guard stop "$RUN_DIR" --except watchdog
  if $embedded; then $PY backend/config/embedded.py down; fi
}
on_signal() {
  if $stopping; then return 0; fi
  cleanup
  exit 0
}
trap cleanup EXIT
trap on_signal INT TERM HUP
# (Started directly, not through a function: each must be a child of this shell.)
"$PY" scripts/run_guard.py watch "$RUN_DIR" $$ &
launch=("$PWD/$PY" "$PWD/scripts/run_guard.py" launch "$RUN_DIR")

# The API and the worker share one metrics directory, emptied first (config/metrics_dir.py).
PROMETHEUS_MULTIPROC_DIR=$($PY backend/config/metrics_dir.py clear)
export PROMETHEUS_MULTIPROC_DIR
"${launch[@]}" api $$ -- .venv/bin/gunicorn config.wsgi --chdir backend --bind "127.0.0.1:${API_PORT}" \
  --config "$PWD/backend/config/gunicorn_conf.py" --workers "${WEB_CONCURRENCY:-3}" --access-logfile - &
(cd backend && exec "${launch[@]}" worker $$ -- ../$PY manage.py run_huey) &
(cd frontend && VITE_API_URL="http://127.0.0.1:${API_PORT}" exec "${launch[@]}" web $$ -- \
  node_modules/.bin/vite --host 127.0.0.1 --port "${WEB_PORT}" --strictPort) &

sleep 2 &
wait $!  # (in the background, so that a signal is handled at once)
echo
echo "  Dashboard: http://127.0.0.1:${WEB_PORT}"
echo "  API:       http://127.0.0.1:${API_PORT}/api/v1/health   docs: http://127.0.0.1:${API_PORT}/api/v1/docs"
echo "  Ctrl-C stops everything."
echo
wait -n
