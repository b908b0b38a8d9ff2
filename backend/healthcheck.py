"""The container's health check: exit 0 when healthy, 1 when not.

With the API in the container (START_ROLE all or api): ``GET
/api/v1/health/live`` on the local port must answer 200: the process serves.
Liveness, not ``/health``: a Redis or database outage must not make the
platform restart every API container (the API keeps taking payouts without
Redis; ``/health/ready`` tells a load balancer about the database). The
request names a host from ALLOWED_HOSTS (Django refuses any other) and says
it came over HTTPS, as the proxy in front would, so
SECURE_SSL_REDIRECT does not turn it into a redirect.

A worker-only container (START_ROLE=worker, or ``healthcheck.py worker``) is
healthy while its consumer's heartbeat in Redis is fresh: every consumer's
sweeper writes ``<HUEY_NAME>:worker-heartbeat:<hostname>`` (the time, expiring
after three sweep rounds) each round, so a consumer that hangs, or cannot reach
Redis, turns its container unhealthy within 15 seconds, while a process that
merely exists does not count. (start.sh exits, and the platform restarts the
container, when the consumer process dies.) It reads Redis with redis-py,
which the image installs; nothing else beyond the standard library.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.error
import urllib.request


def api_is_healthy() -> bool:
    hosts = [h.strip().lstrip(".") for h in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and "*" not in h), "localhost")
    port = os.environ.get("PORT") or os.environ.get("API_PORT") or "8000"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/health/live", headers={"Host": host, "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - a fixed http URL on this host
            return response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return False


# tasks.SWEEP_EVERY_SECONDS and the key tasks.WORKER_HOST_HEARTBEAT_KEY (a test checks both).
SWEEP_EVERY_SECONDS = 5
HEARTBEAT_MAX_AGE_SECONDS = 3 * SWEEP_EVERY_SECONDS


def worker_heartbeat_key() -> str:
    return f"{os.environ.get('HUEY_NAME', 'payouts')}:worker-heartbeat:{socket.gethostname()}"


def worker_is_healthy() -> bool:
    """Whether this host's consumer wrote its heartbeat within the last three sweep rounds."""
    import redis  # the image's dependency; imported here so the API's check does not pay for it

    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        print("unhealthy: REDIS_URL is not set", file=sys.stderr)
        return False
    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        try:
            written = client.get(worker_heartbeat_key())
        finally:
            client.close()
    except redis.RedisError as exc:
        print(f"unhealthy: Redis: {exc}", file=sys.stderr)
        return False
    if written is None:
        print(f"unhealthy: no worker heartbeat in the last {HEARTBEAT_MAX_AGE_SECONDS}s", file=sys.stderr)
        return False
    try:
        age = time.time() - float(written)
    except ValueError:
        print(f"unhealthy: unreadable worker heartbeat {written!r}", file=sys.stderr)
        return False
    if age > HEARTBEAT_MAX_AGE_SECONDS:
        print(f"unhealthy: the worker heartbeat is {age:.0f}s old", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":  # healthcheck.py [api|worker]; by default START_ROLE's (all: the API)
    role = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_ROLE", "all")
    if role not in ("all", "api", "worker"):
        sys.exit("usage: healthcheck.py [api|worker]")
    sys.exit(0 if (worker_is_healthy() if role == "worker" else api_is_healthy()) else 1)
