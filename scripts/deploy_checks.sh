#!/usr/bin/env bash
# Static checks of the deployment files, for CI: backend/start.sh (and the
# scripts around the image) pass ShellCheck, and docker-compose.yml is valid
# with and without its `observability` profile (`docker-compose config -q`;
# nothing is built or run: make image-check does). The Prometheus files the
# profile mounts are checked by `make test`'s deploy phase (promtool).
# Installs shellcheck and docker-compose (Debian's packages) with apt-get when
# they are missing and this runs as root on a machine that has apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "deploy_checks: missing ${missing[*]}; install them (or run as root where apt-get exists)" >&2
    exit 2
  fi
fi

echo "== shellcheck"
shellcheck backend/start.sh scripts/deploy_checks.sh scripts/image_check.sh scripts/ci_base.sh scripts/promtool.sh
echo "== docker-compose config"
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml --profile observability config -q
echo "== deploy checks passed"
