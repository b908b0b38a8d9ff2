"""The container's health check: exit 0 when healthy, 1 when not. Standard library only.

With the API in the container (START_ROLE all or api): ``GET
/api/v1/health/live`` on the local port must answer 200: the process serves.
Liveness, not ``/health``: a Redis or database outage must not make the
platform restart every API container (the API keeps taking payouts without
Redis; ``/health/ready`` tells a load balancer about the database). The
request names a host from ALLOWED_HOSTS (Django refuses any other) and says
it came over HTTPS, as the proxy in front would, so
SECURE_SSL_REDIRECT does not turn it into a redirect.

A worker-only container (START_ROLE=worker) is healthy while its Huey
consumer runs; start.sh exits, and the platform restarts the container, when
it does not.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


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


def worker_is_running() -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"run_huey" in (entry / "cmdline").read_bytes().split(b"\0"):
                    return True
            except OSError:
                continue
    print("unhealthy: no run_huey process", file=sys.stderr)
    return False


if __name__ == "__main__":
    role = os.environ.get("START_ROLE", "all")
    sys.exit(0 if (worker_is_running() if role == "worker" else api_is_healthy()) else 1)
