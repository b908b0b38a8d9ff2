"""Huey tasks: thin adapters around services, safe to run twice.

Brokers redeliver and sweeps re-enqueue, so every task re-reads the database
and acts only if the payout is still in the state the task expects (see the
fencing rules in services.py). A task lost with Redis is found again by the
sweeper, which reads the work list from PostgreSQL.

The request id of the API call that created a payout travels with its tasks,
so every log line of a payout's life carries it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from common import metrics
from config.logs import bind_request_id, request_id_var
from merchants.accounts import bank_accounts_awaiting_verification
from payouts import services, verification
from payouts.idempotency import idempotency_expire

logger = logging.getLogger(__name__)

SWEEP_EVERY_SECONDS = 5
SWEEP_MAX_BACKLOG = 100
SWEEP_LOCK_KEY = f"{HUEY.name}:payout-sweep-lock"
# Written by every sweep; /health says the worker is stale once it is older than three sweeps.
WORKER_HEARTBEAT_KEY = f"{HUEY.name}:worker-heartbeat"
# Written by every consumer's sweeper each round, leader or not: its container's
# health check (healthcheck.py worker) fails once it is older than three rounds.
WORKER_HOST_HEARTBEAT_KEY = f"{WORKER_HEARTBEAT_KEY}:{socket.gethostname()}"


@db_task()
def payout_process_task(payout_id: int, request_id: str | None = None) -> None:
    with bind_request_id(request_id):
        _follow(payout_id, services.payout_process(payout_id=payout_id))


@db_task()
def payout_check_task(payout_id: int, attempt: int, request_id: str | None = None) -> None:
    with bind_request_id(request_id):
        _follow(payout_id, services.payout_check_attempt(payout_id=payout_id, attempt=attempt))


@db_task()
def payout_cancel_task(payout_id: int, request_id: str | None = None) -> None:
    with bind_request_id(request_id):
        _follow(payout_id, services.payout_cancel(payout_id=payout_id))


@db_task()
def bank_account_verify_task(bank_account_id: int) -> None:
    again = verification.bank_account_verify(bank_account_id=bank_account_id)
    if again is not None:
        bank_account_verify_task.schedule((bank_account_id,), eta=again.at)


def enqueue_verification(bank_account_id: int) -> bool:
    """Queue the bank's check of a new account. Never raises: if Redis fails, the sweep asks later."""
    try:
        bank_account_verify_task(bank_account_id)
    except Exception:
        logger.warning(
            "could not queue the verification of bank account %s; the sweep will pick it up",
            bank_account_id,
            exc_info=True,
        )
        return False
    return True


# After Redis fails to take a task, this process stops trying for a while:
# with Redis unreachable (packets dropped, not refused), every attempt would
# otherwise cost a request its whole socket timeout. The payout is durable in
# PostgreSQL; the sweep enqueues it once Redis is back.
ENQUEUE_PAUSE_SECONDS = 5.0
_enqueue_paused_until = 0.0


def enqueue_processing(payout_id: int) -> bool:
    """Queue the payout's first attempt, carrying the current request id.

    Never raises and never waits longer than Redis's short socket timeout;
    returns whether the task was queued.
    """
    global _enqueue_paused_until
    if time.monotonic() < _enqueue_paused_until:
        logger.info("not queueing payout %s: Redis failed moments ago; the sweep will pick it up", payout_id)
        return False
    try:
        payout_process_task(payout_id, request_id=request_id_var.get())
    except Exception:
        _enqueue_paused_until = time.monotonic() + ENQUEUE_PAUSE_SECONDS
        logger.warning(
            "could not queue payout %s; not trying again for %ss; the sweep will pick it up",
            payout_id,
            ENQUEUE_PAUSE_SECONDS,
            exc_info=True,
        )
        return False
    _enqueue_paused_until = 0.0
    return True


def _follow(payout_id: int, follow_up: services.FollowUp | None) -> None:
    if follow_up is None:
        return
    carry = {"request_id": request_id_var.get()}
    if follow_up.action == "check":
        payout_check_task.schedule((payout_id, follow_up.attempt), carry, eta=follow_up.at)
    elif follow_up.action == "cancel":
        payout_cancel_task.schedule((payout_id,), carry, eta=follow_up.at)
    else:
        payout_process_task.schedule((payout_id,), carry, eta=follow_up.at)


# --- the sweeper ---------------------------------------------------------------------


# While the queue holds a backlog the sweep waits (payouts merely waiting in it
# would only be enqueued twice), but never longer than this: a backlog that
# never drains must not hide lost work.
SWEEP_MAX_DELAY_SECONDS = 60
_last_sweep = 0.0


def sweep_once() -> int:
    """Enqueue the next step of every payout, and the verification of every bank account, whose task was lost.

    Returns how many.

    Delayed while the queue holds a backlog, by at most SWEEP_MAX_DELAY_SECONDS.
    """
    global _last_sweep
    if HUEY.pending_count() > SWEEP_MAX_BACKLOG and time.monotonic() - _last_sweep < SWEEP_MAX_DELAY_SECONDS:
        return 0
    work = services.payouts_needing_work()
    _last_sweep = time.monotonic()
    for item in work:
        if item.action == "check":
            payout_check_task(item.payout_id, item.attempt)
        elif item.action == "cancel":
            payout_cancel_task(item.payout_id)
        else:
            payout_process_task(item.payout_id)
    if work:
        logger.info("sweep re-enqueued %d payouts", len(work))
    accounts = bank_accounts_awaiting_verification(grace_seconds=settings.PAYOUT_SWEEP_GRACE_SECONDS)
    for bank_account_id in accounts:
        bank_account_verify_task(bank_account_id)
    if accounts:
        logger.info("sweep re-enqueued the verification of %d bank accounts", len(accounts))
    return len(work) + len(accounts)


def _hold_sweep_lock(token: str) -> bool:
    """Take or renew the sweep lock. It expires by itself if its holder dies."""
    conn = HUEY.storage.conn
    ttl = SWEEP_EVERY_SECONDS * 2
    if conn.set(SWEEP_LOCK_KEY, token, nx=True, ex=ttl):
        return True
    if conn.get(SWEEP_LOCK_KEY) == token.encode():
        conn.expire(SWEEP_LOCK_KEY, ttl)
        return True
    return False


def worker_is_fresh() -> bool:
    """Whether some consumer has swept within the last three sweep intervals."""
    return bool(HUEY.storage.conn.exists(WORKER_HEARTBEAT_KEY))


def _release_sweep_lock(token: str) -> None:
    """Give the lease up (only if still ours), so a sweeper that can reach the database takes over."""
    try:
        conn = HUEY.storage.conn
        if conn.get(SWEEP_LOCK_KEY) == token.encode():
            conn.delete(SWEEP_LOCK_KEY)
    except Exception:
        logger.warning("could not release the sweep lock; it expires by itself", exc_info=True)


def sweep_round(token: str) -> str:
    """One round of the sweeper: sweep if this consumer holds the lease. Returns the token for the next round.

    A sweeper that cannot reach PostgreSQL gives the lease up at once (and
    takes a new token), so a consumer that can reach it leads instead.
    """
    try:
        HUEY.storage.conn.set(WORKER_HOST_HEARTBEAT_KEY, str(time.time()), ex=3 * SWEEP_EVERY_SECONDS)
        if _hold_sweep_lock(token):
            try:
                sweep_once()
                now = time.time()
                HUEY.storage.conn.set(WORKER_HEARTBEAT_KEY, str(now), ex=3 * SWEEP_EVERY_SECONDS)
                metrics.WORKER_HEARTBEAT_TIMESTAMP.set(now)
            except DatabaseError:
                logger.exception("sweep failed on the database; giving up the sweep lock")
                _release_sweep_lock(token)
                return uuid.uuid4().hex
    except Exception:  # Redis away: try again next round
        logger.exception("sweep failed; trying again in %ss", SWEEP_EVERY_SECONDS)
    finally:
        close_old_connections()
    return token


def _sweep_forever() -> None:
    token = uuid.uuid4().hex
    while True:
        token = sweep_round(token)
        time.sleep(SWEEP_EVERY_SECONDS)


_sweeper_lock = threading.Lock()
_sweeper: threading.Thread | None = None
_metrics_server_started = False


@HUEY.on_startup()
def _start_sweeper() -> None:
    """Each consumer process runs one sweeper thread beside its workers.

    It takes no worker slot and does not depend on Redis to be scheduled: it
    sweeps every few seconds while it holds a short lock in Redis that it
    renews each round, so one sweeper works at a time across all consumers,
    and another takes over within seconds if its holder dies. While Redis is
    down it keeps trying, so lost work is enqueued seconds after Redis is back.
    Huey calls this hook in every worker thread; the first starts the thread.
    """
    global _sweeper, _metrics_server_started
    with _sweeper_lock:
        if _sweeper is None or not _sweeper.is_alive():
            _sweeper = threading.Thread(target=_sweep_forever, name="payout-sweeper", daemon=True)
            _sweeper.start()
        if settings.WORKER_METRICS_PORT and not _metrics_server_started:
            # A worker-only container's own /metrics (no API process reads its files).
            metrics.worker_metrics_serve(port=settings.WORKER_METRICS_PORT, token=settings.METRICS_TOKEN)
            _metrics_server_started = True
            logger.info("worker metrics at http://0.0.0.0:%s/metrics", settings.WORKER_METRICS_PORT)


@db_periodic_task(crontab(minute="*/10"))
def idempotency_reaper_task() -> None:
    """Delete idempotency records past their TTL, a batch at a time."""
    while idempotency_expire() > 0:
        pass
