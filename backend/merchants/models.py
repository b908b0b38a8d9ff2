"""Merchants, their API keys and their bank accounts.

What PostgreSQL refuses here, whatever code or session asks:

* ``Merchant.available_paise`` and ``held_paise`` are derived state kept by
  the ledger's triggers (ledger/migrations/0001_initial.py) from the ledger
  and the payouts in the same transaction; nobody writes them directly, and
  neither can go below zero (checks).
* A bank account's IFSC and number have their formats (checks), and
  (id, merchant) is unique: the target of the payout's composite foreign key.

Every table of merchant data carries ``merchant_id`` so the schema can be
distributed by merchant (EXPLAINER.md, "Growth").
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Merchant(models.Model):
    name = models.CharField(max_length=200)
    is_demo = models.BooleanField(default=False)
    # Derived from the ledger and the payouts by database triggers; read them,
    # never write them.
    available_paise = models.BigIntegerField(default=0)
    held_paise = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(available_paise__gte=0), name="merchant_available_not_negative"),
            models.CheckConstraint(condition=Q(held_paise__gte=0), name="merchant_held_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class ApiKey(models.Model):
    """An API key, stored as its SHA-256: a database dump reveals no usable key."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)


class BankAccount(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="bank_accounts")
    holder_name = models.CharField(max_length=200)
    ifsc = models.CharField(max_length=11)
    account_number = models.CharField(max_length=18)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # The target of the payout's composite foreign key (bank account, merchant).
            models.UniqueConstraint(fields=["id", "merchant"], name="bank_account_id_merchant"),
            models.CheckConstraint(condition=Q(ifsc__regex=r"^[A-Z]{4}0[A-Z0-9]{6}$"), name="bank_account_ifsc_format"),
            models.CheckConstraint(
                condition=Q(account_number__regex=r"^[0-9]{9,18}$"), name="bank_account_number_format"
            ),
        ]
