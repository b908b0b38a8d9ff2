"""The payouts' read side. Nothing here locks: dashboards never wait on a payout."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from payouts.models import Payout, PayoutEvent


def payouts(
    *,
    merchant_id: int,
    status: str | None = None,
    reference_id: str | None = None,
    bank_account_id: int | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> QuerySet[Payout]:
    """The merchant's payouts that match every filter given (each has an index led by the merchant)."""
    queryset = Payout.objects.filter(merchant_id=merchant_id)
    if status is not None:
        queryset = queryset.filter(status=status)
    if reference_id is not None:
        queryset = queryset.filter(reference_id=reference_id)
    if bank_account_id is not None:
        queryset = queryset.filter(bank_account_id=bank_account_id)
    if created_gte is not None:
        queryset = queryset.filter(created_at__gte=created_gte)
    if created_lt is not None:
        queryset = queryset.filter(created_at__lt=created_lt)
    return queryset


def payout_get(*, merchant_id: int, payout_id: int) -> Payout | None:
    return Payout.objects.filter(pk=payout_id, merchant_id=merchant_id).first()


def payout_events(*, merchant_id: int, payout_id: int) -> list[PayoutEvent] | None:
    """The payout's audit trail, oldest first; None if it is not this merchant's payout."""
    if not Payout.objects.filter(pk=payout_id, merchant_id=merchant_id).exists():
        return None
    return list(PayoutEvent.objects.filter(payout_id=payout_id, merchant_id=merchant_id).order_by("id"))
