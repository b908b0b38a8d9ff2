"""No tables of its own: views of other apps' rows that the operators' console lists apart."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from payouts.models import Payout


class AwaitingCancellationManager(models.Manager["PayoutAwaitingCancellation"]):
    def get_queryset(self):
        return super().get_queryset().filter(status=Payout.Status.PROCESSING, cancel_requested_at__isnull=False)


class PayoutAwaitingCancellation(Payout):
    """A processing payout whose attempts are exhausted, its funds held, until the bank confirms a cancellation.

    (``payouts.services.payout_cancel``: ``cancel_requested_at`` is set and the next request to the bank
    is due at ``next_cancel_at``; the payout fails and refunds only once the bank confirms it will never
    pay, or completes if the bank says it paid.)
    """

    objects: ClassVar[models.Manager[PayoutAwaitingCancellation]] = AwaitingCancellationManager()

    class Meta:
        proxy = True
        verbose_name = "payout awaiting bank cancellation"
        verbose_name_plural = "payouts awaiting bank cancellation"
