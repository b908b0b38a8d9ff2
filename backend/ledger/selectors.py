"""The ledger's read side. Nothing here locks."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from ledger.models import LedgerEntry


def ledger_entries(
    *,
    merchant_id: int,
    kind: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> QuerySet[LedgerEntry]:
    """The merchant's entries that match every filter given (each has an index led by the merchant)."""
    queryset = LedgerEntry.objects.filter(merchant_id=merchant_id)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    if created_gte is not None:
        queryset = queryset.filter(created_at__gte=created_gte)
    if created_lt is not None:
        queryset = queryset.filter(created_at__lt=created_lt)
    return queryset
