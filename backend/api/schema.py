"""What the OpenAPI document says about each operation beyond its shapes.

The shapes themselves are ``api.serializers`` (made from
``payouts.representations``); here are lists and pages of them, the
parameters, and each operation's statuses, error codes and headers.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from api.errors import envelope
from api.pagination import InvalidCursor, InvalidLimit, InvalidStatusFilter
from api.serializers import Error
from common.errors import (
    BalanceLimitExceeded,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidAmount,
    InvalidBankAccount,
    InvalidBankAccountDetails,
    InvalidCredentials,
    InvalidField,
    InvalidFilter,
    InvalidIdempotencyKey,
    InvalidMerchant,
    InvalidRequestBody,
    PaymentReferenceConflict,
    PayoutError,
    ReferenceIdInUse,
    TooManyAttempts,
)


def list_of(item: type[serializers.Serializer]) -> serializers.ListSerializer:
    return serializers.ListSerializer(child=item())


def page_of(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """A cursor page of ``item``, as ``NewestFirst`` sends it."""
    return inline_serializer(
        name,
        {
            "results": serializers.ListSerializer(child=item()),
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


# --- what each operation answers: statuses, error codes and response headers -------------


def _code(error: type[PayoutError]) -> tuple[str, tuple[int, str, str | None]]:
    return error.code, (error.status, error.message, error.field)


# Every error code the API sends, with its status and an example of its message and field.
ERROR_CODES: dict[str, tuple[int, str, str | None]] = dict(
    [
        _code(InvalidIdempotencyKey),
        ("malformed_json", (400, "The request body is not valid JSON.", None)),
        _code(InvalidRequestBody),
        _code(InvalidAmount),
        _code(InvalidBankAccount),
        (
            InvalidBankAccountDetails.code,
            (
                400,
                "ifsc must be an IFSC: 4 capital letters, a 0, then 6 capital letters or digits (like HDFC0001234).",
                "ifsc",
            ),
        ),
        (InvalidField.code, (400, "narration must be 1 to 30 printable ASCII characters (or left out).", "narration")),
        _code(InvalidStatusFilter),
        (
            InvalidFilter.code,
            (400, "created_gte must be an ISO 8601 time, for example 2026-01-31T18:30:00Z.", "created_gte"),
        ),
        _code(InvalidLimit),
        _code(InvalidCursor),
        ("invalid_request", (400, "name is required: a string of at most 100 characters.", "name")),
        ("unauthenticated", (401, "The API key is not valid.", None)),
        _code(InvalidCredentials),
        _code(Forbidden),
        ("invalid_url", (400, "url must use https.", "url")),
        ("invalid_enabled_events", (400, "enabled_events must be a non-empty list of event types.", "enabled_events")),
        ("invalid_filter", (400, "created_gte must be an ISO 8601 date and time.", "created_gte")),
        ("not_found", (404, "No such payout.", None)),
        ("not_acceptable", (406, "Could not satisfy the request Accept header.", None)),
        ("request_too_large", (413, "The request body is larger than 16384 bytes.", None)),
        ("unsupported_media_type", (415, 'Unsupported media type "text/plain" in request.', None)),
        _code(ReferenceIdInUse),
        _code(InvalidMerchant),
        _code(PaymentReferenceConflict),
        _code(BalanceLimitExceeded),
        _code(InsufficientFunds),
        _code(IdempotencyKeyReused),
        ("rate_limited", (429, "Request was throttled. Expected available in 1 second.", None)),
        _code(TooManyAttempts),
        ("dependency_unavailable", (503, "Unavailable: redis.", "redis")),
        (
            "database_timeout",
            (503, "The database did not answer in time; nothing was changed. Retry the same request.", None),
        ),
        (
            "database_unavailable",
            (503, "The database is unavailable; nothing was changed. Retry the same request.", None),
        ),
    ]
)

_REQUEST_ID = (
    "Every response; the id of this request in the API's logs. A sane X-Request-ID sent by the client is kept."
)
_RETRY_AFTER = "Seconds to wait before retrying."
_POLICY = (
    "The rate-limit policy that counted this request, as draft-ietf-httpapi-ratelimit-headers-10 writes it: "
    '"payouts";q=100;w=1 is 100 requests per 1-second window. Policies: payouts (POST /payouts per key), '
    "reads (GETs per key), auth (wrong API keys per client address). Absent when the limit is off."
)
_STATE = '"payouts";r=97;t=1: 97 requests left in the window, which ends in 1 second.'
_REPLAYED = "true when this is the stored first response to the same Idempotency-Key and body."


def _header(name: str, type_: Any, statuses, description: str, required: bool = False) -> OpenApiParameter:
    """A response header, listed on the responses with these statuses."""
    return OpenApiParameter(
        name, type_, OpenApiParameter.HEADER, required=required, response=list(statuses), description=description
    )


def operation(
    ok: dict[int, Any],
    *codes: str,
    authenticated: bool = True,
    replayed_on: tuple[int, ...] = (),
    parameters: list[OpenApiParameter] | None = None,
) -> dict[str, Any]:
    """``extend_schema`` arguments: the responses with their error codes and headers.

    ``codes`` are the operation's own error codes; an authenticated operation
    adds 401 ``unauthenticated``, 429 ``rate_limited`` and 503
    ``database_timeout`` / ``database_unavailable`` (it reads the database to
    authenticate), and every operation 406 ``not_acceptable`` (an ``Accept``
    header that excludes JSON).
    """
    database = ["database_timeout", "database_unavailable"]
    every = [*codes, *(["unauthenticated", "rate_limited", *database] if authenticated else []), "not_acceptable"]
    by_status: dict[int, list[str]] = {}
    for code in every:
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    responses: dict[int, Any] = dict(ok)
    for status, status_codes in by_status.items():
        responses[status] = OpenApiResponse(
            Error,
            description="Error codes:\n" + "\n".join(f"- `{code}`: {ERROR_CODES[code][1]}" for code in status_codes),
            examples=[
                OpenApiExample(
                    code,
                    value=envelope(code, ERROR_CODES[code][1], ERROR_CODES[code][2]),
                    response_only=True,
                )
                for code in status_codes
            ],
        )
    statuses = sorted(responses)
    # The limiters run in the view, after authentication: a 406 (content negotiation) and a
    # 413 (the body size, checked before any view) never carry their fields.
    limited = [status for status in statuses if authenticated and status not in (406, 413)]
    headers = [_header("X-Request-ID", str, statuses, _REQUEST_ID, required=True)]
    retried = [status for status in (429, 503) if status in responses and (status == 429 or authenticated)]
    if retried:
        headers.append(_header("Retry-After", {"type": "integer", "minimum": 1}, retried, _RETRY_AFTER, required=True))
    if limited:
        headers += [_header("RateLimit-Policy", str, limited, _POLICY), _header("RateLimit", str, limited, _STATE)]
    if replayed_on:
        headers.append(_header("Idempotent-Replayed", {"type": "string", "enum": ["true"]}, replayed_on, _REPLAYED))
    return {"responses": responses, "parameters": [*(parameters or []), *headers]}
