"""Events (the outbox), webhook endpoints, deliveries and their attempts.

No business logic lives here. What the tables promise:

* An ``Event`` row is written in the same transaction as the change it
  describes (``webhooks.outbox``), so there is no change without its event and
  no event without its change. ``data`` is the JSON text the API returned for
  the payout or ledger entry at that moment, kept verbatim (jsonb would
  reorder its keys). ``dispatched`` turns true once its deliveries exist.
* One ``Delivery`` per (endpoint, event): retries and redeliveries are more
  attempts of the same delivery, all under the event's id (``webhook-id``).
* Every attempt is logged (``DeliveryAttempt``), with a bounded slice of the
  answer.
* An endpoint's signing secrets are stored sealed (``webhooks.signing``): a
  dump of the database alone does not reveal them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

EVENT_TYPES = ("payout.created", "payout.processing", "payout.completed", "payout.failed", "payment.credited")


class Event(models.Model):
    public_id = models.CharField(max_length=40, unique=True)  # "evt_…", the id merchants see
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=32)
    data = models.TextField()  # the object's JSON as the API rendered it when the event happened
    created_at = models.DateTimeField()
    dispatched = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(type__in=EVENT_TYPES), name="event_type_known")]
        # Few indexes: every payout writes an event under the merchant lock. ?type= filters
        # walk the merchant's newest events.
        indexes = [
            models.Index(fields=["merchant", "-id"], name="event_merchant_recent"),
            # The dispatcher's work list stays small however many events there are.
            models.Index(fields=["id"], name="event_undispatched", condition=Q(dispatched=False)),
        ]


class Endpoint(models.Model):
    class Status(models.TextChoices):
        ENABLED = "enabled"
        DISABLED = "disabled"

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    url = models.CharField(max_length=2048)
    enabled_events = models.JSONField()  # a list of event types
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ENABLED)
    disabled_reason = models.CharField(max_length=255, blank=True, default="")
    secret_sealed = models.CharField(max_length=255)
    # After a rotation the previous secret keeps signing beside the new one until this time.
    previous_secret_sealed = models.CharField(max_length=255, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt has failed (NULL after a success): 3 days of it disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(status__in=["enabled", "disabled"]), name="endpoint_status")]
        indexes = [models.Index(fields=["merchant", "-id"], name="endpoint_merchant_recent")]


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts since the last (re)delivery request: indexes the retry schedule.
    tries = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While an attempt is out: until when it is ours (a crashed worker's lease runs out).
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_one_per_endpoint_event"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]), name="delivery_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", next_attempt_at__isnull=False) | ~Q(status="pending"),
                name="delivery_pending_has_next",
            ),
        ]
        indexes = [
            # Each endpoint's due deliveries, oldest first (the senders' claimable list).
            models.Index(
                fields=["endpoint", "next_attempt_at"], name="delivery_endpoint_due", condition=Q(status="pending")
            ),
            # The attempts out now, per endpoint (a lease is cleared when its attempt is recorded).
            models.Index(fields=["endpoint"], name="delivery_leased", condition=Q(lease_until__isnull=False)),
        ]


class DeliveryAttempt(models.Model):
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="attempts")
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="attempt_log")
    event_public_id = models.CharField(max_length=40)
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True, default="")
    response_body = models.CharField(max_length=1024, blank=True, default="")
    duration_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["endpoint", "-id"], name="attempt_endpoint_recent")]
