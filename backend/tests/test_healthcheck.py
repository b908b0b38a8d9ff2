"""backend/healthcheck.py worker: the worker container's health is its heartbeat in real Redis."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from huey.contrib.djhuey import HUEY

from payouts import tasks
from stack import free_port

HEALTHCHECK = Path(__file__).resolve().parents[1] / "healthcheck.py"


def healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "START_ROLE"}
    environment |= {"REDIS_URL": settings.REDIS_URL, "HUEY_NAME": HUEY.name, **env}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), *args], env=environment, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def heartbeat():
    conn = HUEY.storage.conn
    conn.delete(tasks.WORKER_HOST_HEARTBEAT_KEY, tasks.SWEEP_LOCK_KEY)
    yield conn
    conn.delete(tasks.WORKER_HOST_HEARTBEAT_KEY, tasks.SWEEP_LOCK_KEY)


def test_the_check_reads_the_key_and_interval_the_worker_writes():
    spec = importlib.util.spec_from_file_location("healthcheck_module", HEALTHCHECK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.environ["HUEY_NAME"], previous = HUEY.name, os.environ.get("HUEY_NAME")
    try:
        assert module.worker_heartbeat_key() == tasks.WORKER_HOST_HEARTBEAT_KEY
    finally:
        if previous is None:
            del os.environ["HUEY_NAME"]
        else:
            os.environ["HUEY_NAME"] = previous
    assert module.SWEEP_EVERY_SECONDS == tasks.SWEEP_EVERY_SECONDS


@pytest.mark.django_db(transaction=True)
def test_a_fresh_heartbeat_from_a_sweep_round_is_healthy(heartbeat):
    tasks.sweep_round("healthcheck-test")
    assert 0 < heartbeat.ttl(tasks.WORKER_HOST_HEARTBEAT_KEY) <= 3 * tasks.SWEEP_EVERY_SECONDS
    result = healthcheck("worker")
    assert result.returncode == 0, result.stderr
    # START_ROLE=worker picks the same check (the image's HEALTHCHECK passes no argument).
    assert healthcheck(START_ROLE="worker").returncode == 0


def test_no_heartbeat_is_unhealthy(heartbeat):
    result = healthcheck("worker")
    assert result.returncode == 1
    assert "no worker heartbeat" in result.stderr
    assert healthcheck(START_ROLE="worker").returncode == 1


def test_a_stale_heartbeat_is_unhealthy(heartbeat):
    heartbeat.set(tasks.WORKER_HOST_HEARTBEAT_KEY, str(time.time() - 20), ex=60)
    result = healthcheck("worker")
    assert result.returncode == 1
    assert "the worker heartbeat is 2" in result.stderr  # 20 s, or 21 on a slow machine
    heartbeat.set(tasks.WORKER_HOST_HEARTBEAT_KEY, str(time.time() - 5), ex=60)
    assert healthcheck("worker").returncode == 0


def test_another_hosts_heartbeat_does_not_count(heartbeat):
    heartbeat.set(f"{tasks.WORKER_HEARTBEAT_KEY}:another-host", str(time.time()), ex=15)
    heartbeat.set(tasks.WORKER_HEARTBEAT_KEY, str(time.time()), ex=15)  # the leader's, elsewhere
    try:
        assert healthcheck("worker").returncode == 1
    finally:
        heartbeat.delete(f"{tasks.WORKER_HEARTBEAT_KEY}:another-host", tasks.WORKER_HEARTBEAT_KEY)


def test_redis_unreachable_or_unset_is_unhealthy(heartbeat):
    heartbeat.set(tasks.WORKER_HOST_HEARTBEAT_KEY, str(time.time()), ex=15)
    result = healthcheck("worker", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 1
    assert "unhealthy: Redis" in result.stderr
    assert healthcheck("worker", REDIS_URL="").returncode == 1


def test_an_unknown_role_is_a_usage_error():
    result = healthcheck("scheduler")
    assert result.returncode == 1
    assert "usage" in result.stderr
