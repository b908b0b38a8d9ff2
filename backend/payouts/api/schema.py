"""Shapes for the OpenAPI document only; the views build their JSON directly."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

STATUSES = ["pending", "processing", "completed", "failed"]

Error = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "field": serializers.CharField(allow_null=True),
            },
        )
    },
)

Payout = inline_serializer(
    "Payout",
    {
        "id": serializers.IntegerField(),
        "amount_paise": serializers.IntegerField(min_value=1),
        "bank_account_id": serializers.IntegerField(),
        "status": serializers.ChoiceField(STATUSES),
        "attempts": serializers.IntegerField(min_value=0),
        "failure_reason": serializers.CharField(allow_null=True),
        "created_at": serializers.DateTimeField(),
        "updated_at": serializers.DateTimeField(),
    },
)

PayoutRequest = inline_serializer(
    "PayoutRequest",
    {
        "amount_paise": serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        "bank_account_id": serializers.IntegerField(min_value=1, max_value=2**63 - 1),
    },
)

LedgerEntry = inline_serializer(
    "LedgerEntry",
    {
        "id": serializers.IntegerField(),
        "kind": serializers.ChoiceField(["payment", "payout", "reversal"]),
        "amount_paise": serializers.IntegerField(),
        "description": serializers.CharField(),
        "payout_id": serializers.IntegerField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)

PayoutEvent = inline_serializer(
    "PayoutEvent",
    {
        "from_status": serializers.ChoiceField(STATUSES, allow_null=True),
        "to_status": serializers.ChoiceField(STATUSES),
        "attempt": serializers.IntegerField(min_value=0),
        "reason": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
    },
)

BankAccount = inline_serializer(
    "BankAccount",
    {
        "id": serializers.IntegerField(),
        "holder_name": serializers.CharField(),
        "ifsc": serializers.CharField(),
        "account_last4": serializers.CharField(),
    },
)

Balance = inline_serializer(
    "Balance",
    {
        "available_paise": serializers.IntegerField(min_value=0),
        "held_paise": serializers.IntegerField(min_value=0),
        "currency": serializers.ChoiceField(["INR"]),
    },
)

Me = inline_serializer("Me", {"id": serializers.IntegerField(), "name": serializers.CharField()})

Health = inline_serializer(
    "Health",
    {
        "database": serializers.ChoiceField(["ok", "unavailable"]),
        "redis": serializers.ChoiceField(["ok", "unavailable"]),
    },
)

DemoMerchant = inline_serializer(
    "DemoMerchant",
    {"id": serializers.IntegerField(), "name": serializers.CharField(), "api_key": serializers.CharField()},
)


def list_of(item) -> serializers.ListSerializer:
    return serializers.ListSerializer(child=item)


def page_of(name: str, item) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "results": serializers.ListSerializer(child=item),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
        },
    )


PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit", {"type": "integer", "minimum": 1}, description="Items per page, 1 to 100 (default 20; more is 100)."
    ),
    OpenApiParameter("cursor", str, description="Opaque cursor from a page's next or previous URL."),
]

# A UUID in its 8-4-4-4-12 form, bare or as a structured-field string ("…", RFC 8941), as the
# IETF Idempotency-Key draft writes it. A string with a pattern, not `format: uuid`: client
# generators turn that into a UUID object, which HTTP libraries refuse as a header value.
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
IDEMPOTENCY_KEY_PATTERN = f'^(?:{_UUID}|"{_UUID}")$'

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN, "example": "8e03978e-40d5-43e8-bc93-6894a57f9324"},
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "A UUID chosen by the client for this intended payout; reuse it to retry safely. "
        'Bare or quoted ("8e03…", as the IETF Idempotency-Key draft writes it): both are the same key.'
    ),
)
