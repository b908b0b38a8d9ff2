"""Payouts, their events, idempotency records and reconciliation incidents.

No business logic lives here; services.py moves payouts. What PostgreSQL
refuses, whatever code, admin action or psql session asks
(payouts/migrations/0001_initial.py):

* ``Payout.status`` moves only along pending → processing → completed|failed
  (trigger ``payout_guard``); amount, merchant, bank account, reference and
  creation time never change; payouts are never deleted.
* A processing payout has exactly one next step: a live attempt
  (``attempt_deadline``), a retry (``next_attempt_at``) or a cancellation
  (``next_cancel_at``); once a cancellation is asked for, no attempt starts.
* A payout's bank account belongs to the payout's merchant (a composite
  foreign key).
* Payout events and reconciliation incidents are append-only; payouts, their
  events and incidents refuse TRUNCATE (statement triggers).
* One idempotency record per (merchant, key) (unique constraint).
* A merchant's ``reference_id`` names at most one payout (partial unique index);
  a ``failure_code`` is set only on a failed payout (check).

The money side of a payout (its debit, its reversal, the held balance) is the
ledger's: see ``ledger.audit`` for those invariants.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Payout(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"

    class FailureCode(models.TextChoices):
        """Why a payout failed, as a stable code clients branch on (``failure_reason`` says it in words)."""

        BANK_DECLINED = "bank_declined"
        BENEFICIARY_ACCOUNT_CLOSED = "beneficiary_account_closed"
        BENEFICIARY_NAME_MISMATCH = "beneficiary_name_mismatch"
        BENEFICIARY_ACCOUNT_FROZEN = "beneficiary_account_frozen"
        INVALID_IFSC = "invalid_ifsc"
        NO_BANK_ANSWER = "no_bank_answer"

    IN_FLIGHT = (Status.PENDING, Status.PROCESSING)

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="payouts")
    bank_account = models.ForeignKey("merchants.BankAccount", on_delete=models.PROTECT, related_name="payouts")
    amount_paise = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The idempotency reference the bank knows this payout by: random, so it is
    # unique across environments, restores and re-created databases.
    reference = models.CharField(max_length=32, unique=True)
    # Attempts started so far; the current one is number `attempts`.
    attempts = models.PositiveSmallIntegerField(default=0)
    # While an attempt is out at the bank: when it counts as stuck. NULL otherwise.
    attempt_deadline = models.DateTimeField(null=True, blank=True)
    # After a stuck attempt: when the next one may start. NULL otherwise.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # After the last stuck attempt the bank is asked to cancel the transfer;
    # the payout fails only once the bank confirms it will never pay it.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # While cancelling: when to ask the bank (again). NULL otherwise.
    next_cancel_at = models.DateTimeField(null=True, blank=True)
    cancel_requests = models.PositiveSmallIntegerField(default=0, db_default=0)
    # The bank's own reference (UTR) once it settled the transfer.
    bank_reference = models.CharField(max_length=64, blank=True, default="")
    failure_reason = models.TextField(null=True, blank=True)
    failure_code = models.CharField(max_length=32, choices=FailureCode.choices, null=True, blank=True)
    # What the merchant attached (CONTRACT §9): its own id for the payout (unique per merchant),
    # a narration for the beneficiary's statement, and free-form notes (string keys to strings).
    reference_id = models.CharField(max_length=40, null=True, blank=True)
    narration = models.CharField(max_length=30, null=True, blank=True)
    # As canonical JSON text (sorted keys, ASCII with escapes): any JSON string, a NUL
    # included, is kept exactly, which jsonb would refuse.
    notes = models.TextField(default="{}", db_default="{}")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "processing", "completed", "failed"]), name="payout_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status="failed", failure_reason__isnull=False) | ~Q(status="failed"),
                name="payout_failed_has_reason",
            ),
            # Exactly one next step while processing; none before or after.
            models.CheckConstraint(
                condition=(
                    Q(
                        status="processing",
                        attempt_deadline__isnull=False,
                        next_attempt_at__isnull=True,
                        next_cancel_at__isnull=True,
                    )
                    | Q(
                        status="processing",
                        attempt_deadline__isnull=True,
                        next_attempt_at__isnull=False,
                        next_cancel_at__isnull=True,
                    )
                    | Q(
                        status="processing",
                        attempt_deadline__isnull=True,
                        next_attempt_at__isnull=True,
                        next_cancel_at__isnull=False,
                    )
                    | (
                        ~Q(status="processing")
                        & Q(attempt_deadline__isnull=True, next_attempt_at__isnull=True, next_cancel_at__isnull=True)
                    )
                ),
                name="payout_one_next_step",
            ),
            models.CheckConstraint(
                condition=Q(next_cancel_at__isnull=True) | Q(cancel_requested_at__isnull=False),
                name="payout_cancel_has_start",
            ),
            models.CheckConstraint(
                condition=Q(failure_code__isnull=True) | Q(status="failed"), name="payout_failure_code_when_failed"
            ),
            # The merchant's reference_id names one payout: POST /payouts answers 409 reference_id_in_use
            # when this index refuses the INSERT (no extra read under the merchant lock).
            models.UniqueConstraint(
                fields=["merchant", "reference_id"],
                condition=Q(reference_id__isnull=False),
                name="payout_merchant_reference_id",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="payout_merchant_recent"),
            models.Index(fields=["merchant", "status", "-id"], name="payout_merchant_status_recent"),
            # The list's and the export's filters (reference_id has its unique index).
            models.Index(fields=["merchant", "bank_account", "-id"], name="payout_merchant_account_recent"),
            models.Index(fields=["merchant", "-created_at"], name="payout_merchant_created"),
            # The sweep's work list stays small however many payouts are final.
            models.Index(
                fields=["status", "updated_at"],
                name="payout_in_flight",
                condition=Q(status__in=["pending", "processing"]),
            ),
        ]


class PayoutEvent(models.Model):
    """The audit trail of a payout: every transition and every retry. Append-only."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=10, null=True, blank=True)
    to_status = models.CharField(max_length=10)
    attempt = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["payout", "id"], name="payout_event_timeline")]


class IdempotencyRecord(models.Model):
    """The first response to a merchant's ``Idempotency-Key``, replayed on retries.

    ``fingerprint`` is the SHA-256 of the canonical request body; the response
    body is kept as the exact text sent, so a replay is byte-identical.
    """

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    key = models.UUIDField()
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_one_per_merchant_key")]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expiry")]


class ReconciliationIncident(models.Model):
    """An answer from the bank that contradicts the engine's books, kept for operators.

    Never dropped silently: a settled answer for a payout the engine failed,
    a declined one for a completed payout, an amount or account that does not
    match, or an answer for a reference the engine does not know. One row per
    (reference, kind): finding it again changes nothing.
    """

    class Kind(models.TextChoices):
        SETTLED_AFTER_FAILURE = "settled_after_failure"
        DECLINED_AFTER_COMPLETION = "declined_after_completion"
        AMOUNT_MISMATCH = "amount_mismatch"
        ACCOUNT_MISMATCH = "account_mismatch"
        UNKNOWN_REFERENCE = "unknown_reference"
        NOT_SETTLED_AT_BANK = "not_settled_at_bank"

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents")
    reference = models.CharField(max_length=64)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    detail = models.TextField()
    bank_state = models.CharField(max_length=16, blank=True, default="")
    bank_amount_paise = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reference", "kind"], name="incident_one_per_reference_kind")]
        indexes = [models.Index(fields=["-id"], name="incident_recent")]
