"""A real Huey consumer process, killed mid-flight, against real PostgreSQL and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from huey.contrib.djhuey import HUEY

from conftest import database_url, wait_until
from payouts.models import Payout

BACKEND = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def start_consumer(**env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "HUEY_NAME": HUEY.name,
        "HUEY_WORKERS": "4",
        "BANK_SIMULATOR_OUTCOME": "random",
        "BANK_SIMULATOR_SEED": "7",
        "PAYOUT_PROCESSING_TIMEOUT_SECONDS": "2",
        "PAYOUT_RETRY_BACKOFF_SECONDS": "1",
        "PAYOUT_SWEEP_GRACE_SECONDS": "3",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_huey"],
        cwd=BACKEND,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def in_flight() -> int:
    return Payout.objects.filter(status__in=Payout.IN_FLIGHT).count()


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)


@pytest.fixture
def clean_queue():
    HUEY.flush()
    yield
    HUEY.flush()


def test_a_consumer_processes_payouts_and_a_killed_one_loses_nothing(make_merchant, clean_queue):
    merchants = [make_merchant(credit_paise=1_000_000) for _ in range(3)]
    consumer = start_consumer()
    try:
        first_batch = [m.api.create_payout(1_000 + i, m.bank_account_id) for i in range(20) for m in merchants]
        assert {r.status for r in first_batch} == {201}
        assert wait_until(lambda: in_flight() == 0, timeout=60), f"{in_flight()} payouts still in flight"

        second_batch = [m.api.create_payout(500 + i, m.bank_account_id) for i in range(30) for m in merchants]
        assert {r.status for r in second_batch} == {201}
        # Kill the consumer while payouts are in flight: queued, claimed and hung attempts.
        assert wait_until(lambda: Payout.objects.filter(status="processing").exists(), timeout=10)
        stop(consumer, signal.SIGKILL)
        assert in_flight() > 0

        consumer = start_consumer()
        assert wait_until(lambda: in_flight() == 0, timeout=90), f"{in_flight()} payouts still in flight"
    finally:
        stop(consumer)

    statuses = set(Payout.objects.values_list("status", flat=True))
    assert statuses <= {"completed", "failed"}
    assert Payout.objects.count() == 150
    call_command("check_ledger")
    for merchant in merchants:
        available, held = merchant.api.balance()
        completed = sum(
            Payout.objects.filter(merchant_id=merchant.id, status="completed").values_list("amount_paise", flat=True)
        )
        assert (available, held) == (1_000_000 - completed, 0)


def test_a_payout_whose_enqueue_failed_is_processed_by_a_consumer_that_starts_later(
    make_merchant, clean_queue, monkeypatch
):
    """Redis refuses the enqueue at commit: the API still answers 201, and the sweep finds the payout."""
    import redis

    import payouts.tasks

    def redis_down(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    merchant = make_merchant(credit_paise=10_000)
    monkeypatch.setattr(payouts.tasks, "payout_process_task", redis_down)
    reply = merchant.api.create_payout(1_000, merchant.bank_account_id)
    monkeypatch.undo()
    assert reply.status == 201
    assert HUEY.pending_count() == 0

    # No sleep past the sweep grace: the consumer's own sweep finds the payout once it is due.
    consumer = start_consumer(BANK_SIMULATOR_OUTCOME="success")
    try:
        assert wait_until(lambda: in_flight() == 0, timeout=30)
    finally:
        stop(consumer)
    assert merchant.api.get(f"/payouts/{reply.json['id']}").json["status"] == "completed"
