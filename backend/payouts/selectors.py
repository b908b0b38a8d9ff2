"""The payouts' read side. Nothing here locks: dashboards never wait on a payout."""

from __future__ import annotations

from django.db.models import QuerySet

from payouts.models import Payout, PayoutEvent


def payouts(*, merchant_id: int, status: str | None = None) -> QuerySet[Payout]:
    queryset = Payout.objects.filter(merchant_id=merchant_id)
    if status is not None:
        queryset = queryset.filter(status=status)
    return queryset


def payout_get(*, merchant_id: int, payout_id: int) -> Payout | None:
    return Payout.objects.filter(pk=payout_id, merchant_id=merchant_id).first()


def payout_events(*, merchant_id: int, payout_id: int) -> list[PayoutEvent] | None:
    """The payout's audit trail, oldest first; None if it is not this merchant's payout."""
    if not Payout.objects.filter(pk=payout_id, merchant_id=merchant_id).exists():
        return None
    return list(PayoutEvent.objects.filter(payout_id=payout_id, merchant_id=merchant_id).order_by("id"))
