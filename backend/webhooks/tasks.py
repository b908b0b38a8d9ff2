"""The webhook threads of each consumer: one dispatcher and a few senders.

They run beside Huey's workers, not as Huey tasks: webhook traffic (one
attempt per event and endpoint, retried for a day) must never queue in front
of payout tasks, nor take their worker threads, nor depend on Redis. The
events table is the outbox and the deliveries table is the queue:

* the dispatcher fans committed events out to their endpoints every
  ``DISPATCH_EVERY_SECONDS`` (SKIP LOCKED: every consumer runs one safely)
  and wakes the senders;
* each of ``WEBHOOK_SENDERS`` senders claims the next due delivery with a
  lease (``services.deliveries_send``), sends it and records it; when
  nothing is due it sleeps until woken or ``IDLE_SECONDS`` pass. A retry
  comes due by its time; a sender killed mid-attempt leaves a lease that runs
  out, and then any sender takes the delivery again. Nothing needs a sweep.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from huey.contrib.djhuey import HUEY

from webhooks import services

logger = logging.getLogger(__name__)

DISPATCH_EVERY_SECONDS = 0.2
IDLE_SECONDS = 0.5
_work = threading.Event()


def dispatch_round() -> int:
    """Fan out every committed, undispatched event. Returns how many deliveries it made."""
    made = 0
    while True:
        events, deliveries = services.webhooks_dispatch()
        made += len(deliveries)
        if events < services.DISPATCH_BATCH:
            return made


def _dispatch_forever() -> None:
    while True:
        try:
            if dispatch_round():
                _work.set()
        except Exception:  # the database away: try again; the events wait in their table
            logger.exception("webhook dispatch failed; trying again")
            time.sleep(1)
        finally:
            close_old_connections()
        time.sleep(DISPATCH_EVERY_SECONDS)


def _send_forever() -> None:
    while True:
        try:
            while services.deliveries_send() > 0:
                pass
        except Exception:
            logger.exception("webhook sender failed; trying again")
            time.sleep(1)
        finally:
            close_old_connections()
        if _work.wait(IDLE_SECONDS):
            _work.clear()


_threads_lock = threading.Lock()
_threads: list[threading.Thread] = []


@HUEY.on_startup()
def _start_webhook_threads() -> None:
    """One dispatcher and WEBHOOK_SENDERS senders per consumer process (Huey calls this in every worker)."""
    with _threads_lock:
        if any(t.is_alive() for t in _threads):
            return
        _threads.clear()
        _threads.append(threading.Thread(target=_dispatch_forever, name="webhook-dispatcher", daemon=True))
        _threads.extend(
            threading.Thread(target=_send_forever, name=f"webhook-sender-{n}", daemon=True)
            for n in range(settings.WEBHOOK_SENDERS)
        )
        for thread in _threads:
            thread.start()
