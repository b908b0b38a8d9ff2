"""Huey tasks: thin adapters around services, safe to run twice.

Brokers redeliver and sweeps re-enqueue, so every task re-reads the database
and acts only if the payout is still in the state the task expects (see the
fencing rules in services.py). A task lost with Redis is found again by the
sweep, which reads the work list from PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from payouts import services
from payouts.idempotency import idempotency_expire

logger = logging.getLogger(__name__)

SWEEP_EVERY_SECONDS = 5
SWEEP_RUNS_FOR_SECONDS = 55
SWEEP_MAX_BACKLOG = 100
SWEEP_LOCK_KEY = f"{HUEY.name}:payout-sweep-lock"


@db_task()
def payout_process_task(payout_id: int) -> None:
    _follow(payout_id, services.payout_process(payout_id=payout_id))


@db_task()
def payout_check_task(payout_id: int, attempt: int) -> None:
    _follow(payout_id, services.payout_check_attempt(payout_id=payout_id, attempt=attempt))


def _follow(payout_id: int, follow_up: services.FollowUp | None) -> None:
    if follow_up is None:
        return
    if follow_up.action == "check":
        payout_check_task.schedule((payout_id, follow_up.attempt), eta=follow_up.at)
    else:
        payout_process_task.schedule((payout_id,), eta=follow_up.at)


def sweep_once() -> int:
    """Enqueue the next step of every payout whose task was lost. Returns how many.

    Skipped while the queue holds a backlog: the consumers are busy with
    queued work, and payouts merely waiting in it would only be enqueued
    twice. Lost work is found as soon as the backlog drains.
    """
    if HUEY.pending_count() > SWEEP_MAX_BACKLOG:
        return 0
    work = services.payouts_needing_work(now=timezone.now())
    for item in work:
        if item.action == "check":
            payout_check_task(item.payout_id, item.attempt)
        else:
            payout_process_task(item.payout_id)
    if work:
        logger.info("sweep re-enqueued %d payouts", len(work))
    return len(work)


@db_periodic_task(crontab(minute="*"))
def payout_sweep_task() -> None:
    """The safety net: every few seconds for a minute, re-enqueue lost work.

    Huey's periodic tasks fire once a minute; sweeping every few seconds within
    the minute means a payout whose enqueue was lost is picked up soon after
    Redis is back. Every consumer runs this loop, but only the holder of a
    short lock sweeps; the holder renews it each round, so if it is killed
    another consumer takes over within seconds.
    """
    token = uuid.uuid4().hex
    started = time.monotonic()
    while time.monotonic() - started < SWEEP_RUNS_FOR_SECONDS:
        try:
            if _hold_sweep_lock(token):
                sweep_once()
        except Exception:
            logger.exception("sweep failed; trying again in %ss", SWEEP_EVERY_SECONDS)
        time.sleep(SWEEP_EVERY_SECONDS)


def _hold_sweep_lock(token: str) -> bool:
    conn = HUEY.storage.conn
    ttl = SWEEP_EVERY_SECONDS * 2
    if conn.set(SWEEP_LOCK_KEY, token, nx=True, ex=ttl):
        return True
    if conn.get(SWEEP_LOCK_KEY) == token.encode():
        conn.expire(SWEEP_LOCK_KEY, ttl)
        return True
    return False


_startup_lock = threading.Lock()
_startup_sweep_sent = False


@HUEY.on_startup()
def _sweep_when_a_consumer_starts() -> None:
    """A consumer that starts (or restarts after a crash) sweeps at once, not at the next minute.

    Runs in each worker thread; only the first enqueues the sweeper.
    """
    global _startup_sweep_sent
    with _startup_lock:
        if _startup_sweep_sent:
            return
        _startup_sweep_sent = True
    try:
        payout_sweep_task()
    except Exception:
        logger.warning("could not enqueue the startup sweep; the periodic one will run", exc_info=True)


@db_periodic_task(crontab(minute="*/10"))
def idempotency_reaper_task() -> None:
    """Delete idempotency records past their TTL, a batch at a time."""
    while idempotency_expire(now=timezone.now()) > 0:
        pass
