#!/usr/bin/env bash
# The dashboard in headless Chromium against the real API and worker.
# Starts its own stack on free ports against a fresh database `<name>_e2e` on
# the configured server (DATABASE_URL / REDIS_URL must be set: scripts/test.sh
# does it), runs frontend/e2e/dashboard.e2e.mjs and webhooks.e2e.mjs (DEMO_MODE
# on; the webhooks with a real receiver on 127.0.0.1), then restarts the API and
# the worker with DEMO_MODE off and runs frontend/e2e/onboarding.e2e.mjs,
# checking the ledger after each.
# Finds or installs the browser first: scripts/browser.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$PWD/.venv/bin/python"
stack() { "$PY" scripts/stack.py "$@"; }  # the scratch stack the scripts and tests share

# The browser: CHROME_PATH, else one on the machine, else one installed now
# (scripts/browser.sh says which, and what it installs).
CHROMIUM_PATH=$(scripts/browser.sh)
export CHROMIUM_PATH

{ read -r API; read -r WEB; } < <(stack free-port 2)
SERVER_URL="$DATABASE_URL"
E2E_DATABASE_URL=$(stack db create e2e)
export DATABASE_URL="$E2E_DATABASE_URL"
export DEBUG=false DEMO_MODE=true SECRET_KEY="e2e-$(date +%s%N)-not-secret"
BANK_ACCOUNT_ENCRYPTION_KEY=$("$PY" -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")
export BANK_ACCOUNT_ENCRYPTION_KEY
export ALLOWED_HOSTS=127.0.0.1,localhost CORS_ALLOWED_ORIGINS="http://127.0.0.1:${WEB}"
export HUEY_NAME="payouts-e2e-$$" BANK_SIMULATOR_OUTCOME=random BANK_SIMULATOR_SEED=e2e
export PAYOUT_PROCESSING_TIMEOUT_SECONDS=2 PAYOUT_RETRY_BACKOFF_SECONDS=1 LOG_LEVEL=WARNING
# As under make run: the webhooks test's receiver listens on 127.0.0.1 over plain http.
export WEBHOOKS_ALLOW_HTTP=true WEBHOOKS_ALLOW_PRIVATE=true

logs=$(mktemp -d)
set -m  # each child in its own process group, stopped as a group
pids=()
finish() {
  status=$?
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $status -ne 0 ]; then
    echo "--- API log"; tail -n 40 "$logs/api.log" || true
    echo "--- worker log"; tail -n 40 "$logs/worker.log" || true
  fi
  DATABASE_URL="$SERVER_URL" stack db drop e2e >/dev/null 2>&1 || true
  rm -rf "$logs"
  exit $status
}
trap finish EXIT

# Migrate as the owner; the API and the worker then run as the application role.
(cd backend && "$PY" manage.py migrate --noinput >/dev/null)
eval "$(cd backend && "$PY" manage.py app_role --env)"
(cd backend && "$PY" manage.py seed >/dev/null)
# A real merchant, onboarded as the README says: its owner signs in with a password.
export E2E_OWNER_EMAIL="owner@onboarded-e2e.example" E2E_OWNER_PASSWORD="e2e-owner-$(date +%s%N)"
(cd backend && "$PY" manage.py create_merchant --name "Onboarded E2E Pvt Ltd" --credit-paise 500000 \
  --owner-email "$E2E_OWNER_EMAIL" --owner-password "$E2E_OWNER_PASSWORD" >/dev/null)
# Another merchant for the webhooks test, with an owner and a viewer who sign in with passwords.
export E2E_HOOKS_EMAIL="owner@webhooks-e2e.example" E2E_HOOKS_PASSWORD="e2e-hooks-$(date +%s%N)"
export E2E_HOOKS_VIEWER_EMAIL="viewer@webhooks-e2e.example" E2E_HOOKS_VIEWER_PASSWORD="e2e-viewer-$(date +%s%N)"
hooks_merchant=$(cd backend && "$PY" manage.py create_merchant --name "Webhooks E2E Pvt Ltd" --credit-paise 500000 \
  --owner-email "$E2E_HOOKS_EMAIL" --owner-password "$E2E_HOOKS_PASSWORD" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
(cd backend && "$PY" manage.py create_user --merchant "$hooks_merchant" --email "$E2E_HOOKS_VIEWER_EMAIL" --role viewer \
  --password "$E2E_HOOKS_VIEWER_PASSWORD" >/dev/null)
# An operator for the admin console, onboarded as docs/RUNBOOK.md says: createsuperuser, then totp_enroll.
export E2E_ADMIN_EMAIL="ops@operators-e2e.example" E2E_ADMIN_PASSWORD="e2e-ops-$(date +%s%N)"
(cd backend && DJANGO_SUPERUSER_PASSWORD="$E2E_ADMIN_PASSWORD" "$PY" manage.py createsuperuser --noinput \
  --email "$E2E_ADMIN_EMAIL" >/dev/null)
E2E_ADMIN_TOTP_URI=$(cd backend && "$PY" manage.py totp_enroll --email "$E2E_ADMIN_EMAIL")
export E2E_ADMIN_TOTP_URI
# gunicorn (2 workers) and one consumer, stopped cleanly on SIGTERM; logs api.log and worker.log.
"$PY" scripts/stack.py serve --port "$API" --workers 2 --consumers 1 --logs "$logs" &
pids+=($!)
(cd frontend && VITE_API_URL="http://127.0.0.1:${API}" exec node_modules/.bin/vite --host 127.0.0.1 --port "$WEB" --strictPort >"$logs/web.log" 2>&1) &
pids+=($!)

stack wait "http://127.0.0.1:${API}/api/v1/health" "http://127.0.0.1:${WEB}/" --timeout 60

(cd frontend && E2E_WEB_URL="http://127.0.0.1:${WEB}" E2E_API_URL="http://127.0.0.1:${API}" npm run --silent e2e)
(cd frontend && E2E_WEB_URL="http://127.0.0.1:${WEB}" E2E_API_URL="http://127.0.0.1:${API}" node e2e/webhooks.e2e.mjs)
# The operators' console, with its second factor (DEBUG is off here).
(cd frontend && E2E_API_URL="http://127.0.0.1:${API}" npm run --silent e2e:admin)
(cd backend && "$PY" manage.py check_ledger | tail -n 1)

# The second run: DEMO_MODE off, as in production. The API and the worker restart on the
# same port and database; a merchant is onboarded as the README says (frontend/e2e/onboarding.e2e.mjs).
kill -TERM -- "-${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
export DEMO_MODE=false
ONBOARDING_EMAIL="owner@first-day-e2e.example" ONBOARDING_PASSWORD="e2e-first-day-$(date +%s%N)"
(cd backend && "$PY" manage.py create_merchant --name "First Day E2E Pvt Ltd" --credit-paise 500000 \
  --owner-email "$ONBOARDING_EMAIL" --owner-password "$ONBOARDING_PASSWORD" >/dev/null)
"$PY" scripts/stack.py serve --port "$API" --workers 2 --consumers 1 --logs "$logs" &
pids[0]=$!
stack wait "http://127.0.0.1:${API}/api/v1/health" --timeout 60
(cd frontend && E2E_WEB_URL="http://127.0.0.1:${WEB}" E2E_API_URL="http://127.0.0.1:${API}" \
  E2E_OWNER_EMAIL="$ONBOARDING_EMAIL" E2E_OWNER_PASSWORD="$ONBOARDING_PASSWORD" npm run --silent e2e:onboarding)
(cd backend && "$PY" manage.py check_ledger | tail -n 1)
