#!/usr/bin/env bash
# Prints the path of a promtool (Prometheus's rule and config checker) for the
# deploy phase of `make test`, installing one if the machine has none. What it
# does goes to stderr; only the path to stdout:
#
#   PROMTOOL=$(scripts/promtool.sh)
#
# In order:
#   1. PROMTOOL, if set: used as it is, or an error;
#   2. promtool on PATH or in /usr/bin;
#   3. Debian's or Ubuntu's `prometheus` package (which ships promtool), with
#      apt-get, when running as root.
set -euo pipefail

say() { echo "promtool: $*" >&2; }

works() { [ -n "$1" ] && [ -x "$1" ] && [ ! -d "$1" ] && "$1" --version >/dev/null 2>&1; }

found() {
  say "using $1 ($("$1" --version 2>&1 | head -n 1))"
  echo "$1"
  exit 0
}

if [ -n "${PROMTOOL:-}" ]; then
  if works "$PROMTOOL"; then found "$PROMTOOL"; fi
  say "PROMTOOL=$PROMTOOL is not a working promtool"
  exit 1
fi

for path in "$(command -v promtool 2>/dev/null || true)" /usr/bin/promtool /usr/local/bin/promtool; do
  if works "$path"; then found "$path"; fi
done

say "no promtool on this machine (set PROMTOOL to use one elsewhere)"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's prometheus: apt-get update && apt-get install -y --no-install-recommends prometheus"
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if apt-get update -qq >"$log" 2>&1 && apt-get install -y -qq --no-install-recommends prometheus >>"$log" 2>&1; then
    rm -f "$log"
    for path in /usr/bin/promtool "$(command -v promtool 2>/dev/null || true)"; do
      if works "$path"; then found "$path"; fi
    done
  else
    tail -n 20 "$log" >&2
    rm -f "$log"
  fi
fi
say "could not find or install promtool. Install Prometheus's promtool (apt-get install prometheus, brew install prometheus) or set PROMTOOL"
exit 1
