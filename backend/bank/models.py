"""The simulated bank's own table: not part of the engine's data."""

from __future__ import annotations

from django.db import models


class SimulatedTransfer(models.Model):
    """The simulated bank's own books (see bank/gateway.py), not part of the engine's data.

    One row per payout reference the bank has heard of. A real bank keeps
    these on its side; the simulator keeps them here so every worker process
    sees the same bank.
    """

    class State(models.TextChoices):
        SETTLED = "settled"
        DECLINED = "declined"
        LOST = "lost"  # the request never got an answer; the bank did not act on it
        CANCELLED = "cancelled"  # cancelled at the sender's request: refused forever

    reference = models.CharField(max_length=64, unique=True)
    # Null for a reference cancelled before any transfer request arrived.
    amount_paise = models.BigIntegerField(null=True, blank=True)
    ifsc = models.CharField(max_length=11, blank=True, default="")
    account_number = models.CharField(max_length=18, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices)
    bank_reference = models.CharField(max_length=64, blank=True, default="")
    reason = models.CharField(max_length=255, blank=True, default="")
    requests = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
