"""The read side for the API: events, endpoints and delivery attempts of one merchant."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from webhooks.models import DeliveryAttempt, Endpoint, Event


def events(
    *,
    merchant_id: int,
    type: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> QuerySet[Event]:
    queryset = Event.objects.filter(merchant_id=merchant_id)
    if type is not None:
        queryset = queryset.filter(type=type)
    if created_gte is not None:
        queryset = queryset.filter(created_at__gte=created_gte)
    if created_lt is not None:
        queryset = queryset.filter(created_at__lt=created_lt)
    return queryset


def event_get(*, merchant_id: int, event_id: str) -> Event | None:
    return Event.objects.filter(merchant_id=merchant_id, public_id=event_id).first()


def endpoints(*, merchant_id: int) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(merchant_id=merchant_id, deleted_at__isnull=True).order_by("-id")


def endpoints_disabled_count(*, merchant_id: int) -> int:
    return endpoints(merchant_id=merchant_id).filter(status=Endpoint.Status.DISABLED).count()


def endpoint_get(*, merchant_id: int, endpoint_id: int) -> Endpoint | None:
    return endpoints(merchant_id=merchant_id).filter(pk=endpoint_id).first()


def delivery_attempts(*, merchant_id: int, endpoint_id: int) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(merchant_id=merchant_id, endpoint_id=endpoint_id)
