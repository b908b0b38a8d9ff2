"""Events and webhook endpoints (CONTRACT §8). Each view parses and validates, then makes one call.

Events are readable with any credential of the merchant (an API key reads as a
developer). Webhook endpoints, their deliveries and redelivery are managed by
a signed-in owner or developer only: a call with an API key gets 403
``forbidden``, so a leaked key cannot point the merchant's events elsewhere.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api import schema
from api.auth import IsMerchant
from api.pagination import NewestFirst
from api.permissions import WEBHOOK_MANAGERS
from api.views import MerchantView
from common.errors import InvalidRequestBody, PayoutError
from webhooks import selectors, services
from webhooks.models import EVENT_TYPES, DeliveryAttempt, Endpoint, Event


class InvalidEventFilter(PayoutError):
    code = "invalid_filter"
    message = "The filter is not valid."


# --- wire shapes ------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_as_dict(event: Event) -> dict:
    return {
        "id": event.public_id,
        "type": event.type,
        "created_at": _iso(event.created_at),
        "data": json.loads(event.data),
    }


def endpoint_as_dict(endpoint: Endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "enabled_events": list(endpoint.enabled_events),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason or None,
        "created_at": _iso(endpoint.created_at),
    }


def attempt_as_dict(attempt: DeliveryAttempt) -> dict:
    return {
        "event_id": attempt.event_public_id,
        "attempt": attempt.attempt,
        "status_code": attempt.status_code,
        "error": attempt.error or None,
        "response_body": attempt.response_body,
        "duration_ms": attempt.duration_ms,
        "created_at": _iso(attempt.created_at),
    }


def _event_types(**options) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(list(EVENT_TYPES)), min_length=1, **options)


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="evt_…: receivers dedupe on it (it is the webhook-id header).")
    type = serializers.ChoiceField(list(EVENT_TYPES))
    created_at = serializers.DateTimeField()
    data = serializers.DictField(  # type: ignore[assignment]  # the event's field, not Serializer.data
        help_text="The payout or ledger entry as the API returned it at that moment."
    )


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    enabled_events = _event_types()
    status = serializers.ChoiceField(Endpoint.Status.values)
    disabled_reason = serializers.CharField(allow_null=True, help_text="Why the endpoint is disabled, else null.")
    created_at = serializers.DateTimeField()


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="whsec_…: shown only this once.")


class EndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField()
    enabled_events = _event_types(required=False, help_text="Default: every type.")


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(required=False)
    enabled_events = _event_types(required=False)
    status = serializers.ChoiceField(Endpoint.Status.values, required=False)


class DeliveryAttemptSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    attempt = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    response_body = serializers.CharField(help_text="The first 1024 bytes of the receiver's answer.")
    duration_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RedeliverRequestSerializer(serializers.Serializer):
    endpoint_id = serializers.IntegerField(required=False)


class RedeliverReplySerializer(serializers.Serializer):
    deliveries = serializers.IntegerField(help_text="How many deliveries were queued.")


def _merchant_id(request) -> int:
    user = request.user
    return getattr(user, "merchant_id", None) or user.id


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidRequestBody()
    return request.data


def _moment(request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    text = raw.strip()
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:  # RFC 3339 also allows a lower-case t and z
        try:
            moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is not None:
        try:  # in UTC: PostgreSQL refuses offsets beyond 15 hours, which ISO 8601 allows
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        except OverflowError:
            moment = None
    if moment is None:
        raise InvalidEventFilter(f"{name} must be an ISO 8601 date and time.", field=name)
    return moment


# What any operation with a JSON body may answer before the view runs, or for a body that is no object.
_BODY_ERRORS = ("malformed_json", "invalid_body", "request_too_large", "unsupported_media_type")
_EVENT_ID = OpenApiParameter(
    "event_id",
    {"type": "string", "pattern": "^evt_[a-z2-7]{26}$"},
    OpenApiParameter.PATH,
    description="The event's id, evt_…",
)
_SESSION_ONLY = "A signed-in owner or developer only: a call with an API key gets 403 forbidden."


class ManagedView(MerchantView):
    def get_permissions(self):
        return [IsMerchant(), WEBHOOK_MANAGERS]


# --- events -------------------------------------------------------------------------------


class EventsView(MerchantView):
    @extend_schema(
        **schema.operation(
            {200: schema.page_of("EventPage", EventSerializer)},
            "invalid_filter",
            "invalid_limit",
            "invalid_cursor",
            parameters=[
                *schema.PAGE_PARAMETERS,
                OpenApiParameter("type", str, enum=list(EVENT_TYPES), description="Only events of this type."),
                OpenApiParameter(
                    "created_gte", OpenApiTypes.DATETIME, description="Only events at or after this time (ISO 8601)."
                ),
                OpenApiParameter(
                    "created_lt", OpenApiTypes.DATETIME, description="Only events before this time (ISO 8601)."
                ),
            ],
        ),
        operation_id="events_list",
    )
    def get(self, request):
        type_ = request.query_params.get("type")
        if type_ is not None and type_ not in EVENT_TYPES:
            raise InvalidEventFilter(f"type must be one of {', '.join(EVENT_TYPES)}.", field="type")
        queryset = selectors.events(
            merchant_id=_merchant_id(request),
            type=type_,
            created_gte=_moment(request, "created_gte"),
            created_lt=_moment(request, "created_lt"),
        )
        paginator = NewestFirst()
        page = paginator.paginate_queryset(queryset, request, self)
        return paginator.get_paginated_response([event_as_dict(e) for e in page or []])


class EventDetailView(MerchantView):
    @extend_schema(
        **schema.operation({200: EventSerializer}, "not_found", parameters=[_EVENT_ID]), operation_id="event_get"
    )
    def get(self, request, event_id: str):
        event = selectors.event_get(merchant_id=_merchant_id(request), event_id=event_id)
        if event is None:
            raise services.EventNotFound()
        return Response(event_as_dict(event))


class EventRedeliverView(ManagedView):
    @extend_schema(
        **schema.operation(
            {202: RedeliverReplySerializer},
            *_BODY_ERRORS[:2],
            "forbidden",
            "not_found",
            *_BODY_ERRORS[2:],
            parameters=[_EVENT_ID],
        ),
        request=RedeliverRequestSerializer,
        operation_id="event_redeliver",
        description="Send the event again (to one endpoint, or to every enabled endpoint that wants it). "
        + _SESSION_ONLY,
    )
    def post(self, request, event_id: str):
        body = request.data if request.data not in (None, "") else {}
        if not isinstance(body, dict):
            raise InvalidRequestBody()
        endpoint_id = body.get("endpoint_id")
        if endpoint_id is not None and (type(endpoint_id) is not int or not 0 < endpoint_id < 2**63):
            raise InvalidRequestBody(
                "endpoint_id must be the id of one of your webhook endpoints.", field="endpoint_id"
            )
        ids = services.event_redeliver(
            merchant_id=_merchant_id(request), event_public_id=event_id, endpoint_id=endpoint_id
        )
        return Response({"deliveries": len(ids)}, status=202)


# --- endpoints ----------------------------------------------------------------------------


class EndpointsView(ManagedView):
    @extend_schema(
        **schema.operation({200: schema.list_of(EndpointSerializer)}, "forbidden"),
        operation_id="webhook_endpoints_list",
        description=_SESSION_ONLY,
    )
    def get(self, request):
        return Response([endpoint_as_dict(e) for e in selectors.endpoints(merchant_id=_merchant_id(request))])

    @extend_schema(
        **schema.operation(
            {201: EndpointWithSecretSerializer},
            *_BODY_ERRORS[:2],
            "invalid_url",
            "invalid_enabled_events",
            "forbidden",
            *_BODY_ERRORS[2:],
        ),
        request=EndpointCreateSerializer,
        operation_id="webhook_endpoints_create",
        description="Add an endpoint; its signing secret is in this response only. " + _SESSION_ONLY,
    )
    def post(self, request):
        body = _body(request)
        created = services.endpoint_create(
            merchant_id=_merchant_id(request), url=body.get("url", ""), enabled_events=body.get("enabled_events")
        )
        return Response(endpoint_as_dict(created.endpoint) | {"secret": created.secret}, status=201)


class EndpointDetailView(ManagedView):
    @extend_schema(
        **schema.operation({200: EndpointSerializer}, "forbidden", "not_found"), operation_id="webhook_endpoint_get"
    )
    def get(self, request, endpoint_id: int):
        endpoint = selectors.endpoint_get(merchant_id=_merchant_id(request), endpoint_id=endpoint_id)
        if endpoint is None:
            raise services.EndpointNotFound()
        return Response(endpoint_as_dict(endpoint))

    @extend_schema(
        **schema.operation(
            {200: EndpointSerializer},
            *_BODY_ERRORS[:2],
            "invalid_url",
            "invalid_enabled_events",
            "invalid_status",
            "forbidden",
            "not_found",
            *_BODY_ERRORS[2:],
        ),
        request=EndpointUpdateSerializer,
        operation_id="webhook_endpoint_update",
    )
    def patch(self, request, endpoint_id: int):
        body = _body(request)
        changes = {k: body[k] for k in ("url", "enabled_events", "status") if k in body}
        endpoint = services.endpoint_update(merchant_id=_merchant_id(request), endpoint_id=endpoint_id, changes=changes)
        return Response(endpoint_as_dict(endpoint))

    @extend_schema(**schema.operation({204: None}, "forbidden", "not_found"), operation_id="webhook_endpoint_delete")
    def delete(self, request, endpoint_id: int):
        services.endpoint_delete(merchant_id=_merchant_id(request), endpoint_id=endpoint_id)
        return Response(status=204)


class EndpointRotateSecretView(ManagedView):
    @extend_schema(
        **schema.operation({200: EndpointWithSecretSerializer}, "forbidden", "not_found"),
        request=None,
        operation_id="webhook_endpoint_rotate_secret",
        description="A new signing secret, shown this once; the previous one keeps signing beside it for 24 hours. "
        + _SESSION_ONLY,
    )
    def post(self, request, endpoint_id: int):
        rotated = services.endpoint_rotate_secret(merchant_id=_merchant_id(request), endpoint_id=endpoint_id)
        return Response(endpoint_as_dict(rotated.endpoint) | {"secret": rotated.secret})


class EndpointDeliveriesView(ManagedView):
    @extend_schema(
        **schema.operation(
            {200: schema.page_of("WebhookDeliveryAttemptPage", DeliveryAttemptSerializer)},
            "forbidden",
            "not_found",
            "invalid_limit",
            "invalid_cursor",
            parameters=schema.PAGE_PARAMETERS,
        ),
        operation_id="webhook_endpoint_deliveries",
    )
    def get(self, request, endpoint_id: int):
        merchant_id = _merchant_id(request)
        if selectors.endpoint_get(merchant_id=merchant_id, endpoint_id=endpoint_id) is None:
            raise services.EndpointNotFound()
        paginator = NewestFirst()
        queryset = selectors.delivery_attempts(merchant_id=merchant_id, endpoint_id=endpoint_id)
        page = paginator.paginate_queryset(queryset, request, self)
        return paginator.get_paginated_response([attempt_as_dict(a) for a in page or []])
