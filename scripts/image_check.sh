#!/usr/bin/env bash
# `make image-check`: build backend/Dockerfile and run the image for real.
#
#  1. makes sure a Docker engine answers (starts Debian's dockerd when none
#     runs, and stops it again at the end);
#  2. builds local Debian base images (scripts/ci_base.sh; cached) and the
#     image on them, with host networking and the classic builder;
#  3. runs the image against this machine's PostgreSQL (a scratch database,
#     payouts_image_check, dropped at the end) and Redis (a database of its
#     own, emptied at the end), with host networking, DEBUG off and DEMO_MODE on,
#     and checks that
#     a. GET /api/v1/health answers 200, and Docker reports the container
#        healthy (the image's HEALTHCHECK);
#     b. a payout made over HTTP with a demo merchant's key is completed by the
#        worker inside within PAYOUT_WAIT seconds, and check_ledger passes;
#     c. `docker stop` (SIGTERM) stops it within GRACEFUL_TIMEOUT with status 0,
#        and none of its processes is left;
#     d. in a second container, SIGKILL of run_huey makes the container exit
#        non-zero within a few seconds (start.sh stops the API and exits).
# Prints a summary with timings; exits non-zero on any failure. Containers, the
# scratch database and the Redis database are always cleaned up.
#
# Needs root on a Debian-like machine: the missing tools (docker.io,
# debootstrap, postgresql-client, redis-tools, curl) are installed with apt-get.
#
#   IMAGE_CHECK_POSTGRES  server's maintenance database   [postgres://$USER@127.0.0.1:5432/postgres]
#   IMAGE_CHECK_REDIS     Redis database used and emptied [redis://127.0.0.1:6379/14]
#   IMAGE_CHECK_IMAGE     tag of the image built          [payouts:image-check]
#   IMAGE_CHECK_BASE      official | local: base images   [local]
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

pg_admin_url=${IMAGE_CHECK_POSTGRES:-postgres://$(id -un)@127.0.0.1:5432/postgres}
redis_url=${IMAGE_CHECK_REDIS:-redis://127.0.0.1:6379/14}
image=${IMAGE_CHECK_IMAGE:-payouts:image-check}
base=${IMAGE_CHECK_BASE:-local}
db_name=payouts_image_check
grace=8 # GRACEFUL_TIMEOUT in the container: start.sh's default
payout_wait=30
kill_wait=10
work=$(mktemp -d)
run_id="image-check-$$"
containers=()
dockerd_pid=""
db_created=false
summary=()

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
seconds_since() { # seconds_since START_MS: "12.3"
  local ms=$(($(now_ms) - $1))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}
say() { echo "== $*"; }
fail() {
  echo "image check FAILED: $*" >&2
  exit 1
}
record() { summary+=("$(printf '  %-58s %s' "$1" "$2")"); }

cleanup() {
  local status=$?
  set +e
  local name
  for name in "${containers[@]}"; do
    if ((status != 0)); then
      echo "--- last lines of $name's log" >&2
      docker logs --tail 40 "$name" 2>&1 | cut -c1-400 >&2
    fi
    docker rm -f "$name" >/dev/null 2>&1
  done
  if $db_created; then
    psql -q -X "$pg_admin_url" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" \
      -c "DROP ROLE IF EXISTS ${db_name}_app" >/dev/null 2>&1
  fi
  redis-cli -u "$redis_url" flushdb >/dev/null 2>&1
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf -- "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools and the engine ------------------------------------------------------------

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    fail "missing ${missing[*]}; install them (or run as root where apt-get exists)"
  fi
fi
for tool in docker npm python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
done

started=$(now_ms)
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || fail "no Docker engine answers, and starting one needs root"
  # No bridge and no iptables rules: builds and containers use the host's
  # network, so the engine changes nothing in the machine's firewall.
  say "starting dockerd (log: /var/log/payouts-dockerd.log)"
  dockerd --iptables=false --ip-masq=false --bridge=none >>/var/log/payouts-dockerd.log 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited; see /var/log/payouts-dockerd.log"
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || fail "dockerd did not answer within 30s; see /var/log/payouts-dockerd.log"
  record "dockerd started" "$(seconds_since "$started")s"
fi

# --- build ---------------------------------------------------------------------------

build_args=()
if [ "$base" = local ]; then
  started=$(now_ms)
  say "local base images (scripts/ci_base.sh)"
  mapfile -t bases < <(scripts/ci_base.sh)
  ((${#bases[@]} == 2)) || fail "scripts/ci_base.sh did not name two images"
  record "base images ${bases[0]#*:} (cached after the first run)" "$(seconds_since "$started")s"
  # The classic builder builds every stage, the nginx one too: it gets the
  # python base, which can hold its files just as well (it is never run here).
  build_args=(--build-arg "PYTHON_IMAGE=${bases[0]}" --build-arg "NODE_IMAGE=${bases[1]}"
    --build-arg "NGINX_IMAGE=${bases[0]}")
fi

say "docker build -f backend/Dockerfile -t $image ."
started=$(now_ms)
# Every stage gets a tag (the app's last; the others come from the cache by
# then), so that each build replaces the previous one's images instead of
# leaving them behind untagged.
for target in dashboard-build dashboard app; do
  tag=$image
  if [ "$target" != app ]; then tag="$image-$target"; fi
  previous=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  if ! DOCKER_BUILDKIT=0 docker build --network host --target "$target" "${build_args[@]}" \
    -f backend/Dockerfile -t "$tag" . >>"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    fail "docker build failed"
  fi
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
done
build_time=$(seconds_since "$started")
record "docker build (unchanged layers cached)" "${build_time}s"
echo "built $image in ${build_time}s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1 / 1e6}'))"
docker run --rm --network none --entrypoint python "$image" -c \
  'import sys; assert sys.version_info >= (3, 11), sys.version; print("image Python", sys.version.split()[0])'

# --- run ------------------------------------------------------------------------------

PGOPTIONS=--client-min-messages=warning psql -q -X -v ON_ERROR_STOP=1 "$pg_admin_url" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" \
  -c "CREATE DATABASE $db_name" >/dev/null
db_created=true
database_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
  "$pg_admin_url" "$db_name")
# As in production: the container migrates as the owner and serves as a role
# that owns nothing (start.sh runs manage.py app_role to give it its rights).
app_password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
app_database_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); host = p.netloc.rsplit("@", 1)[-1]; print(u.urlunsplit(p._replace(netloc=sys.argv[2] + ":" + sys.argv[3] + "@" + host)))' \
  "$database_url" "${db_name}_app" "$app_password")
redis-cli -u "$redis_url" flushdb >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$port/api/v1"
secret_key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')
bank_account_key=$(python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')

run_container() { # run_container NAME: started with the check's settings
  containers+=("$1")
  docker run -d --name "$1" --network host \
    -e DATABASE_OWNER_URL="$database_url" -e DATABASE_URL="$app_database_url" -e REDIS_URL="$redis_url" \
    -e SECRET_KEY="$secret_key" -e BANK_ACCOUNT_ENCRYPTION_KEY="$bank_account_key" \
    -e DEBUG=false -e ALLOWED_HOSTS=127.0.0.1,localhost \
    -e DEMO_MODE=true -e BANK_SIMULATOR_OUTCOME=success -e HUEY_NAME="$run_id" \
    -e API_PORT="$port" -e GRACEFUL_TIMEOUT="$grace" -e WEB_CONCURRENCY=2 -e HUEY_WORKERS=4 \
    "$image" >/dev/null
}

wait_for_health() { # wait_for_health NAME: until /health answers 200
  local deadline=$((SECONDS + 90))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/health")" = 200 ]; do
    [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] || fail "$1 exited before /health answered"
    ((SECONDS < deadline)) || fail "/api/v1/health did not answer 200 within 90s"
    sleep 0.3
  done
}

json() { # json EXPRESSION: evaluates EXPRESSION on the JSON document `d` read from stdin
  python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

in_container_pid_of_worker() { # prints the pid, inside the container NAME, of run_huey
  docker exec "$1" python -c 'import os
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            if open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[1:3] == [b"manage.py", b"run_huey"]:
                print(p)
        except OSError:
            pass'
}

say "a. run it: migrate, seed, API and worker"
first="$run_id-a"
started=$(now_ms)
run_container "$first"
wait_for_health "$first"
record "a. /api/v1/health 200 after docker run (migrate, seed, boot)" "$(seconds_since "$started")s"

say "b. a payout over HTTP"
started=$(now_ms)
key=$(curl -sf "$api/demo/merchants" | json 'd[0]["api_key"]')
auth=(-H "Authorization: Bearer $key")
account=$(curl -sf "${auth[@]}" "$api/bank-accounts" | json 'd[0]["id"]')
payout=$(curl -sf "${auth[@]}" -H "Content-Type: application/json" \
  -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
  -d "{\"amount_paise\": 12345, \"bank_account_id\": $account}" "$api/payouts" | json 'd["id"]')
deadline=$((SECONDS + payout_wait))
while :; do
  status=$(curl -sf "${auth[@]}" "$api/payouts/$payout" | json 'd["status"]')
  [ "$status" = completed ] && break
  [ "$status" = failed ] && fail "payout $payout failed"
  ((SECONDS < deadline)) || fail "payout $payout still $status after ${payout_wait}s"
  sleep 0.3
done
record "b. payout $payout created and completed" "$(seconds_since "$started")s"
docker exec -w /app/backend "$first" python manage.py check_ledger >"$work/check_ledger.log" 2>&1 ||
  { cat "$work/check_ledger.log" >&2; fail "check_ledger failed in the container"; }
record "b. check_ledger in the container" "passed"

say "a. Docker's own health check"
started=$(now_ms)
deadline=$((SECONDS + 45))
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$first")" = healthy ]; do
  ((SECONDS < deadline)) || fail "Docker did not report $first healthy within 45s"
  sleep 0.5
done
record "a. HEALTHCHECK reports healthy (first probe at 15s)" "after $(seconds_since "$started")s more"

say "c. docker stop (SIGTERM)"
mapfile -t host_pids < <(docker top "$first" -eo pid | tail -n +2)
started=$(now_ms)
docker stop --time $((grace + 20)) "$first" >/dev/null
stop_ms=$(($(now_ms) - started))
stop_time=$(seconds_since "$started")
code=$(docker inspect -f '{{.State.ExitCode}}' "$first")
[ "$code" = 0 ] || fail "docker stop: the container exited with $code, not 0"
((stop_ms <= grace * 1000)) || fail "docker stop took ${stop_time}s, beyond GRACEFUL_TIMEOUT=${grace}s"
left=()
for pid in "${host_pids[@]}"; do
  if [ -e "/proc/$pid" ]; then left+=("$pid"); fi
done
((${#left[@]} == 0)) || fail "processes of the container left after it stopped: ${left[*]}"
docker logs "$first" >"$work/first.log" 2>&1
grep -q '"exiting with status 0"' "$work/first.log" || fail "start.sh did not log a clean exit"
record "c. SIGTERM: exit 0, ${#host_pids[@]} processes gone (grace ${grace}s)" "${stop_time}s"

say "d. SIGKILL of the worker in a second container"
second="$run_id-d"
run_container "$second"
wait_for_health "$second"
worker_pid=$(in_container_pid_of_worker "$second")
[[ $worker_pid =~ ^[0-9]+$ ]] || fail "no single run_huey process in $second (found: '$worker_pid')"
started=$(now_ms)
docker exec "$second" bash -c "kill -KILL $worker_pid"
code=$(timeout "$kill_wait" docker wait "$second") || fail "$second still runs ${kill_wait}s after its worker was killed"
kill_time=$(seconds_since "$started")
[ "$code" != 0 ] || fail "$second exited with 0 after its worker was killed"
docker logs "$second" >"$work/second.log" 2>&1
grep -q '"worker exited with status 137; stopping the container"' "$work/second.log" ||
  fail "start.sh did not log the worker's death"
record "d. SIGKILL of run_huey: container exited with $code" "${kill_time}s"

echo
echo "image check passed ($image):"
printf '%s\n' "${summary[@]}"
