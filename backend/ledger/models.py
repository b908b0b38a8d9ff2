"""The ledger's one table. The invariants it keeps are stated in ``ledger.audit``.

What PostgreSQL refuses (ledger/migrations/0001_initial.py): entries are never
updated, deleted or truncated; amounts are non-zero and their sign matches
their kind (check); a payout has at most one ``payout`` debit and at most one
``reversal`` (partial unique indexes), and at commit exactly the ones its
status requires (deferred constraint triggers).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class LedgerEntry(models.Model):
    """One signed movement of a merchant's available balance, in paise.

    Append-only. ``payment``: a customer paid the merchant (+). ``payout``: the
    funds of a payout left the available balance when it was requested (-).
    ``reversal``: a failed payout's funds came back (+).
    """

    class Kind(models.TextChoices):
        PAYMENT = "payment"
        PAYOUT = "payout"
        REVERSAL = "reversal"

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount_paise = models.BigIntegerField()
    description = models.CharField(max_length=255)
    payout = models.ForeignKey(
        "payouts.Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="payment", amount_paise__gt=0, payout__isnull=True)
                    | Q(kind="payout", amount_paise__lt=0, payout__isnull=False)
                    | Q(kind="reversal", amount_paise__gt=0, payout__isnull=False)
                ),
                name="ledger_entry_kind_sign_payout",
            ),
            models.UniqueConstraint(fields=["payout"], condition=Q(kind="payout"), name="ledger_one_debit_per_payout"),
            models.UniqueConstraint(
                fields=["payout"], condition=Q(kind="reversal"), name="ledger_one_reversal_per_payout"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="ledger_merchant_recent"),
            # The list's and the export's filters.
            models.Index(fields=["merchant", "kind", "-id"], name="ledger_merchant_kind_recent"),
            models.Index(fields=["merchant", "-created_at"], name="ledger_merchant_created"),
        ]
