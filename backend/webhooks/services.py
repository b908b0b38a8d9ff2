"""Webhook endpoints, and getting every event to them: dispatch, attempts, retries, redelivery.

The path of an event (at least once; receivers dedupe on ``webhook-id``):

1. the change's transaction writes the event (``webhooks.outbox``);
2. after it commits, ``webhooks_dispatch`` (the worker's dispatcher, polling
   the small partial index of undispatched events) creates one delivery per
   enabled endpoint that wants the event type and marks the event
   dispatched, in one short transaction (rows taken with SKIP LOCKED, so any
   number of dispatchers can run);
3. a sender (``deliveries_send``) picks the next claimable deliveries
   straight from the table, and ``delivery_attempt`` claims it with a lease
   in a short transaction, sends it with no transaction open and no lock
   held, then records the outcome: delivered, or the next try after the
   retry schedule (with jitter), or failed after the last. A sender that dies
   mid-attempt loses only its lease: once it runs out, the delivery is
   claimable again.

The table is the queue: deliveries never wait in Redis, so they cannot be
lost with it, and they never queue in front of (or behind) payout tasks. The
senders are threads of their own in each consumer (``webhooks.tasks``).

A slow or dead receiver cannot hold up anyone else's deliveries: an attempt
lasts at most ``WEBHOOK_TIMEOUT_SECONDS``, and at most
``WEBHOOK_ENDPOINT_CONCURRENCY`` attempts to one endpoint are out at once (the
claim counts the endpoint's live leases under a short lock on the endpoint's
row), so one endpoint holds at most that many senders; the claimable list
offers one delivery per endpoint under its bound, so a backlog at one endpoint
never hides another's.

Times that decide anything come from the database's clock; ``now`` is
injectable for tests.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from common import metrics
from common.errors import PayoutError
from webhooks import client, signing, targets
from webhooks.models import EVENT_TYPES, Delivery, DeliveryAttempt, Endpoint, Event

LEASE_SECONDS = 30  # longer than an attempt can last (timeout 10 s)
DISPATCH_BATCH = 500


class InvalidEnabledEvents(PayoutError):
    code = "invalid_enabled_events"
    field = "enabled_events"
    message = f"enabled_events must be a non-empty list of event types: {', '.join(EVENT_TYPES)}."


class InvalidEndpointStatus(PayoutError):
    code = "invalid_status"
    field = "status"
    message = "status must be enabled or disabled."


class EndpointNotFound(PayoutError):
    status = 404
    code = "not_found"
    message = "No such webhook endpoint."


class EventNotFound(PayoutError):
    status = 404
    code = "not_found"
    message = "No such event."


def db_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


# --- endpoints ----------------------------------------------------------------------------


def _enabled_events(value: Any) -> list[str]:
    if value is None:
        return list(EVENT_TYPES)
    if not isinstance(value, list) or not value or any(v not in EVENT_TYPES for v in value):
        raise InvalidEnabledEvents()
    return [t for t in EVENT_TYPES if t in value]


@dataclass(frozen=True)
class NewSecret:
    endpoint: Endpoint
    secret: str


def endpoint_create(*, merchant_id: int, url: Any, enabled_events: Any = None) -> NewSecret:
    """A new enabled endpoint and its signing secret (returned in clear this once)."""
    targets.resolve(url)
    events = _enabled_events(enabled_events)
    secret = signing.secret_new()
    now = db_now()
    endpoint = Endpoint.objects.create(
        merchant_id=merchant_id,
        url=url,
        enabled_events=events,
        secret_sealed=signing.seal(secret),
        created_at=now,
        updated_at=now,
    )
    return NewSecret(endpoint=endpoint, secret=secret)


def _endpoint(merchant_id: int, endpoint_id: int, *, lock: bool = False) -> Endpoint:
    queryset = Endpoint.objects.filter(pk=endpoint_id, merchant_id=merchant_id, deleted_at__isnull=True)
    endpoint = (queryset.select_for_update() if lock else queryset).first()
    if endpoint is None:
        raise EndpointNotFound()
    return endpoint


def endpoint_update(
    *, merchant_id: int, endpoint_id: int, changes: dict[str, Any], disabled_by: str = "the merchant"
) -> Endpoint:
    """Change url, enabled_events or status. Enabling a disabled endpoint forgets its failing streak.

    ``disabled_by`` names who disabled it, in ``disabled_reason`` ("staff" from the admin console).
    """
    if "url" in changes:
        targets.resolve(changes["url"])
    events = _enabled_events(changes["enabled_events"]) if "enabled_events" in changes else None
    status = changes.get("status")
    if status is not None and status not in Endpoint.Status.values:
        raise InvalidEndpointStatus()
    with transaction.atomic(durable=True):
        endpoint = _endpoint(merchant_id, endpoint_id, lock=True)
        if "url" in changes:
            endpoint.url = changes["url"]
        if events is not None:
            endpoint.enabled_events = events
        if status is not None and status != endpoint.status:
            endpoint.status = status
            endpoint.disabled_reason = "" if status == Endpoint.Status.ENABLED else f"disabled by {disabled_by}"
            endpoint.failing_since = None
        endpoint.updated_at = db_now()
        endpoint.save()
    return endpoint


def endpoint_delete(*, merchant_id: int, endpoint_id: int) -> None:
    """The endpoint stops receiving at once; its delivery log is kept."""
    with transaction.atomic(durable=True):
        endpoint = _endpoint(merchant_id, endpoint_id, lock=True)
        now = db_now()
        Endpoint.objects.filter(pk=endpoint.pk).update(deleted_at=now, updated_at=now)
        Delivery.objects.filter(endpoint_id=endpoint.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, next_attempt_at=None, updated_at=now
        )


def endpoint_rotate_secret(*, merchant_id: int, endpoint_id: int, overlap_seconds: int = 86400) -> NewSecret:
    """A new secret; the current one keeps signing beside it for ``overlap_seconds`` (24 hours)."""
    secret = signing.secret_new()
    with transaction.atomic(durable=True):
        endpoint = _endpoint(merchant_id, endpoint_id, lock=True)
        now = db_now()
        endpoint.previous_secret_sealed = endpoint.secret_sealed
        endpoint.previous_secret_expires_at = now + timedelta(seconds=overlap_seconds)
        endpoint.secret_sealed = signing.seal(secret)
        endpoint.updated_at = now
        endpoint.save()
    return NewSecret(endpoint=endpoint, secret=secret)


def endpoint_secrets(endpoint: Endpoint, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    active = [signing.unseal(endpoint.secret_sealed)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed and expires is not None and expires > now:
        active.append(signing.unseal(endpoint.previous_secret_sealed))
    return active


# --- dispatch -----------------------------------------------------------------------------

_DISPATCH = """
WITH batch AS (
    SELECT id, merchant_id, type FROM webhooks_event
     WHERE NOT dispatched ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE webhooks_event AS e SET dispatched = true FROM batch WHERE e.id = batch.id
), made AS (
    INSERT INTO webhooks_delivery (merchant_id, endpoint_id, event_id, status, attempts, tries,
                                   next_attempt_at, created_at, updated_at)
    SELECT batch.merchant_id, ep.id, batch.id, 'pending', 0, 0, now(), now(), now()
      FROM batch JOIN webhooks_endpoint AS ep
        ON ep.merchant_id = batch.merchant_id AND ep.status = 'enabled' AND ep.deleted_at IS NULL
       AND ep.enabled_events @> jsonb_build_array(batch.type)
        ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM batch), coalesce((SELECT array_agg(id ORDER BY id) FROM made), '{}')
"""


def webhooks_dispatch(*, limit: int = DISPATCH_BATCH) -> tuple[int, list[int]]:
    """Fan committed, undispatched events out to their endpoints. Returns (events, new delivery ids)."""
    assert not connection.in_atomic_block, "the dispatch is its own short transaction"
    with connection.cursor() as cursor:
        cursor.execute(_DISPATCH, {"limit": limit})
        events, deliveries = cursor.fetchone()
    return events, list(deliveries)


# --- attempts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    merchant_id: int
    attempt: int
    tries: int
    endpoint: Endpoint
    event: Event
    now: datetime


def _claim(delivery_id: int, now: datetime | None) -> Claimed | datetime | None:
    """Take the due delivery with a lease. None: nothing to do; a time: the endpoint is busy."""
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT d.endpoint_id, coalesce(%s::timestamptz, now()) FROM webhooks_delivery AS d"
                " WHERE d.id = %s AND d.status = 'pending'",
                [now, delivery_id],
            )
            row = cursor.fetchone()
            if row is None:
                return None
            endpoint_id, now = row
            # The endpoint's row lock orders claims to one endpoint, so the bound holds exactly;
            # it is held for this short transaction only, never while sending.
            endpoint = Endpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)
            if endpoint.status != Endpoint.Status.ENABLED or endpoint.deleted_at is not None:
                # Not sent to a disabled endpoint: failed, so nothing keeps waiting for it (redeliver
                # once it is enabled again).
                cursor.execute(
                    "UPDATE webhooks_delivery SET status = 'failed', next_attempt_at = NULL, lease_until = NULL,"
                    " updated_at = %s WHERE id = %s AND status = 'pending'",
                    [now, delivery_id],
                )
                return None
            cursor.execute(
                "SELECT count(*) FROM webhooks_delivery WHERE endpoint_id = %s AND lease_until > %s",
                [endpoint_id, now],
            )
            (busy,) = cursor.fetchone()
            if busy >= settings.WEBHOOK_ENDPOINT_CONCURRENCY:
                return now
            cursor.execute(
                "UPDATE webhooks_delivery SET attempts = attempts + 1, tries = tries + 1,"
                " lease_until = %s, updated_at = %s"
                " WHERE id = %s AND status = 'pending' AND next_attempt_at <= %s"
                "   AND (lease_until IS NULL OR lease_until <= %s)"
                " RETURNING merchant_id, event_id, attempts, tries",
                [now + timedelta(seconds=LEASE_SECONDS), now, delivery_id, now, now],
            )
            taken = cursor.fetchone()
        if taken is None:
            return None
        merchant_id, event_id, attempt, tries = taken
        event = Event.objects.get(pk=event_id)
    return Claimed(delivery_id, merchant_id, attempt, tries, endpoint, event, now)


def event_body(event: Event) -> bytes:
    """The event as JSON: ``{"id", "type", "created_at", "data"}``, ``data`` verbatim."""
    created_at = event.created_at.isoformat().replace("+00:00", "Z")
    head = json.dumps({"id": event.public_id, "type": event.type, "created_at": created_at}, separators=(",", ":"))
    return (head[:-1] + ',"data":' + event.data + "}").encode()


def retry_delay(tries: int) -> float | None:
    """Seconds before the next try after ``tries`` failed ones (with +-20% jitter), or None: no more."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if tries > len(schedule):
        return None
    return schedule[tries - 1] * random.uniform(0.8, 1.2)  # jitter, not a secret


@dataclass(frozen=True)
class AttemptResult:
    delivery_id: int
    status: str  # delivered, pending (retry at next_attempt_at), failed, busy, skipped
    next_attempt_at: datetime | None = None
    endpoint_id: int | None = None


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AttemptResult:
    """Send one due delivery and record the outcome. Safe to call twice: a claimed delivery is skipped."""
    claimed = _claim(delivery_id, now)
    if claimed is None:
        return AttemptResult(delivery_id, "skipped")
    if isinstance(claimed, datetime):
        return AttemptResult(delivery_id, "busy")
    endpoint, event = claimed.endpoint, claimed.event
    body = event_body(event)
    try:
        target = targets.resolve(endpoint.url)  # again at delivery: DNS may have changed since
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "payout-engine-webhooks/1",
            "webhook-id": event.public_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                secrets_=endpoint_secrets(endpoint, now=claimed.now),
                msg_id=event.public_id,
                timestamp=timestamp,
                body=body,
            ),
        }
        outcome = client.post(target=target, headers=headers, body=body, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except targets.InvalidWebhookUrl as exc:
        outcome = client.Outcome(status_code=None, error=exc.message[:255], response_body="", duration_ms=0)
    result = _record(claimed, outcome)
    if result.status in ("delivered", "pending", "failed"):
        metrics.WEBHOOK_DELIVERIES.labels(result="delivered" if result.status == "delivered" else "failed").inc()
    if result.status == "delivered":
        metrics.WEBHOOK_DELIVERY_LAG_SECONDS.observe(max(0.0, time.time() - event.created_at.timestamp()))
    return result


def _record(claimed: Claimed, outcome: client.Outcome) -> AttemptResult:
    with transaction.atomic(durable=True):
        now = db_now()
        DeliveryAttempt.objects.create(
            merchant_id=claimed.merchant_id,
            endpoint_id=claimed.endpoint.pk,
            delivery_id=claimed.delivery_id,
            event_public_id=claimed.event.public_id,
            attempt=claimed.attempt,
            status_code=outcome.status_code,
            error=outcome.error or ("" if outcome.ok else f"HTTP {outcome.status_code}"),
            response_body=outcome.response_body[: client.RESPONSE_SLICE_BYTES],
            duration_ms=outcome.duration_ms,
            created_at=now,
        )
        deliveries = Delivery.objects.filter(pk=claimed.delivery_id, status=Delivery.Status.PENDING)
        if outcome.ok:
            deliveries.update(status=Delivery.Status.DELIVERED, next_attempt_at=None, lease_until=None, updated_at=now)
            Endpoint.objects.filter(pk=claimed.endpoint.pk, failing_since__isnull=False).update(failing_since=None)
            return AttemptResult(claimed.delivery_id, "delivered", endpoint_id=claimed.endpoint.pk)
        _endpoint_failed(claimed.endpoint.pk, now)
        delay = retry_delay(claimed.tries)
        if delay is None:
            deliveries.update(status=Delivery.Status.FAILED, next_attempt_at=None, lease_until=None, updated_at=now)
            return AttemptResult(claimed.delivery_id, "failed", endpoint_id=claimed.endpoint.pk)
        next_at = now + timedelta(seconds=delay)
        deliveries.update(next_attempt_at=next_at, lease_until=None, updated_at=now)
        return AttemptResult(claimed.delivery_id, "pending", next_at, endpoint_id=claimed.endpoint.pk)


def _endpoint_failed(endpoint_id: int, now: datetime) -> None:
    """Start or continue the endpoint's failing streak; after WEBHOOK_DISABLE_AFTER_SECONDS, disable it."""
    Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
    cutoff = now - timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    disabled = Endpoint.objects.filter(
        pk=endpoint_id, status=Endpoint.Status.ENABLED, failing_since__lte=cutoff
    ).update(
        status=Endpoint.Status.DISABLED,
        disabled_reason="every delivery failed for 3 days",
        updated_at=now,
    )
    if disabled:
        Delivery.objects.filter(endpoint_id=endpoint_id, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, next_attempt_at=None, lease_until=None, updated_at=now
        )


# --- redelivery and the sweep ------------------------------------------------------------


def event_redeliver(*, merchant_id: int, event_public_id: str, endpoint_id: int | None = None) -> list[int]:
    """Send the event again to one endpoint (or every enabled endpoint that wants it). Returns delivery ids.

    A redelivery is more attempts of the same delivery, under the same webhook-id.
    """
    with transaction.atomic(durable=True):
        event = Event.objects.filter(public_id=event_public_id, merchant_id=merchant_id).first()
        if event is None:
            raise EventNotFound()
        endpoints = Endpoint.objects.filter(merchant_id=merchant_id, deleted_at__isnull=True)
        if endpoint_id is not None:
            endpoints = endpoints.filter(pk=endpoint_id)
            if not endpoints.exists():
                raise EndpointNotFound(field="endpoint_id")
        else:
            endpoints = endpoints.filter(status=Endpoint.Status.ENABLED, enabled_events__contains=[event.type])
        now = db_now()
        ids = []
        for endpoint in endpoints:
            delivery, created = Delivery.objects.get_or_create(
                endpoint=endpoint,
                event=event,
                defaults={"merchant_id": merchant_id, "next_attempt_at": now, "created_at": now, "updated_at": now},
            )
            if not created:
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=Delivery.Status.PENDING, tries=0, next_attempt_at=now, updated_at=now
                )
            ids.append(delivery.pk)
    return ids


# Up to ``bound`` due, unleased deliveries of each enabled endpoint that is under its bound of
# WEBHOOK_ENDPOINT_CONCURRENCY leases, oldest first: a backlog at one endpoint never hides another
# endpoint's work. Each endpoint's are an index range scan (delivery_endpoint_due) with a LIMIT.
_CLAIMABLE = """
SELECT d.id
  FROM webhooks_endpoint AS ep
 CROSS JOIN LATERAL (
       SELECT id, next_attempt_at FROM webhooks_delivery
        WHERE endpoint_id = ep.id AND status = 'pending' AND next_attempt_at <= now()
          AND (lease_until IS NULL OR lease_until <= now())
        ORDER BY next_attempt_at LIMIT %(bound)s) AS d
 WHERE ep.status = 'enabled' AND ep.deleted_at IS NULL
   AND (SELECT count(*) FROM webhooks_delivery AS l
         WHERE l.endpoint_id = ep.id AND l.lease_until > now()) < %(bound)s
 ORDER BY d.next_attempt_at
 LIMIT %(limit)s
"""


def deliveries_claimable(*, limit: int = 100) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIMABLE, {"bound": settings.WEBHOOK_ENDPOINT_CONCURRENCY, "limit": limit})
        return [row[0] for row in cursor.fetchall()]


def deliveries_send(*, limit: int = 100) -> int:
    """Claim and send the claimable deliveries (any endpoint's), one after another. Returns how many were sent.

    Senders in every consumer call this at once: each goes through the list
    from a random offset, and skips a delivery another sender took or whose
    endpoint is at its bound by now.
    """
    candidates = deliveries_claimable(limit=limit)
    if not candidates:
        return 0
    start = random.randrange(len(candidates))  # spread concurrent senders over the list
    sent = 0
    for delivery_id in candidates[start:] + candidates[:start]:
        result = delivery_attempt(delivery_id=delivery_id)
        if result.status not in ("skipped", "busy"):
            sent += 1
    return sent
