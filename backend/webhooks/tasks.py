"""Huey tasks and the dispatcher thread: thin adapters around ``webhooks.services``.

Each consumer runs one dispatcher thread beside its workers. Every
``DISPATCH_EVERY_SECONDS`` it fans committed events out to their endpoints
and queues their first attempts; every ``SWEEP_EVERY_SECONDS`` it also queues
the pending deliveries whose task was lost (Redis down, a worker killed
mid-attempt). Several consumers dispatch at once safely (SKIP LOCKED), and an
attempt is fenced by its lease, so a delivery queued twice is sent once.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections
from huey.contrib.djhuey import HUEY, db_task

from webhooks import services

logger = logging.getLogger(__name__)

DISPATCH_EVERY_SECONDS = 0.2
SWEEP_EVERY_SECONDS = 5.0


@db_task()
def webhook_deliver_task(delivery_id: int) -> None:
    result = services.delivery_attempt(delivery_id=delivery_id)
    if result.status == "pending" and result.next_attempt_at is not None:
        webhook_deliver_task.schedule((delivery_id,), eta=result.next_attempt_at)
    if result.endpoint_id is not None:
        # This attempt's slot is free: the endpoint's next waiting delivery takes it. (A delivery
        # that found its endpoint busy ended there; it waits for this turn, or for the sweep.)
        enqueue(services.endpoint_next_due(endpoint_id=result.endpoint_id))


def enqueue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        webhook_deliver_task(delivery_id)


def dispatch_round(*, sweep: bool) -> int:
    """Fan out new events and queue their deliveries (and, if ``sweep``, lost ones). Returns deliveries queued."""
    queued = 0
    while True:
        events, deliveries = services.webhooks_dispatch()
        enqueue(deliveries)
        queued += len(deliveries)
        if events < services.DISPATCH_BATCH:
            break
    if sweep:
        lost = services.deliveries_due()
        enqueue(lost)
        if lost:
            logger.info("webhook sweep re-enqueued %d deliveries", len(lost))
        queued += len(lost)
    return queued


def _dispatch_forever() -> None:
    last_sweep = 0.0
    while True:
        try:
            sweep = time.monotonic() - last_sweep >= SWEEP_EVERY_SECONDS
            dispatch_round(sweep=sweep)
            if sweep:
                last_sweep = time.monotonic()
        except Exception:  # the database or Redis away: try again next round; nothing is lost
            logger.exception("webhook dispatch failed; trying again")
            time.sleep(1)
        finally:
            close_old_connections()
        time.sleep(DISPATCH_EVERY_SECONDS)


_dispatcher_lock = threading.Lock()
_dispatcher: threading.Thread | None = None


@HUEY.on_startup()
def _start_dispatcher() -> None:
    """One dispatcher thread per consumer process (Huey calls this in every worker thread)."""
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is None or not _dispatcher.is_alive():
            _dispatcher = threading.Thread(target=_dispatch_forever, name="webhook-dispatcher", daemon=True)
            _dispatcher.start()
