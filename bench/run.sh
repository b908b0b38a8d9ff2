#!/usr/bin/env bash
# `make bench`: the payout engine's benchmark (about 10 minutes; see bench/README.md).
#   bench/run.sh            the full run
#   bench/run.sh --smoke    under a minute, for CI (same as BENCH_SMOKE=1)
# Uses DATABASE_URL / REDIS_URL when set (only the server is used: the bench
# creates its own databases on it); otherwise starts embedded PostgreSQL and
# Redis under .data/bench, apart from `make run`'s and `make test`'s, and stops
# them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

if [ ! -x "$PY" ]; then
  echo "no .venv: run 'make venv' (or 'make bench') first" >&2
  exit 1
fi

# wrk drives the HTTP load. Installed only where that is ours to do.
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing wrk..." >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is required: apt-get install wrk / brew install wrk" >&2
    exit 1
  fi
fi

# Bench-only Python packages (the chart), from their lock, installed once per change of it.
stamp=.venv/.bench-installed
if [ ! -f "$stamp" ] || [ bench/requirements.lock -nt "$stamp" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r bench/requirements.lock
  touch "$stamp"
fi

export EMBEDDED_DATA_DIR="${EMBEDDED_DATA_DIR:-$PWD/.data/bench}"
embedded=false
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then embedded=true; fi
eval "$($PY backend/config/embedded.py env)"
stop_services() { if $embedded; then $PY backend/config/embedded.py down >/dev/null 2>&1 || true; fi; }
trap stop_services EXIT

# pgbench: the system's, else the one shipped with the embedded server's wheel.
if [ -z "${BENCH_PGBENCH:-}" ]; then
  if command -v pgbench >/dev/null; then
    BENCH_PGBENCH="$(command -v pgbench)"
  else
    BENCH_PGBENCH="$($PY -c 'import pathlib, pgserver; print(pathlib.Path(pgserver.__file__).parent / "pginstall/bin/pgbench")')"
  fi
fi
export BENCH_PGBENCH

args=()
for arg in "$@"; do
  case "$arg" in
    --smoke) args+=(--smoke) ;;
    *) echo "usage: bench/run.sh [--smoke]" >&2; exit 2 ;;
  esac
done
$PY bench/bench.py "${args[@]}"
