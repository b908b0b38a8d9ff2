"""The ledger's read side. Nothing here locks."""

from __future__ import annotations

from django.db.models import QuerySet

from ledger.models import LedgerEntry


def ledger_entries(*, merchant_id: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(merchant_id=merchant_id)
