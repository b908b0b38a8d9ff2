"""The filters of the payout and ledger lists and their CSV exports: query parameters, checked.

Each function returns the selector's keyword arguments, or raises the error
naming the first parameter refused (400 ``invalid_status`` for a payout
status, ``invalid_filter`` for the rest). Times are ISO 8601 (a time without
an offset is UTC; a date alone is its midnight, UTC); ``created_gte`` is
inclusive, ``created_lt`` exclusive.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter

from api.pagination import InvalidStatusFilter
from common.errors import InvalidFilter
from ledger.models import LedgerEntry
from payouts import representations as wire
from payouts.models import Payout


def _moment(params: QueryDict, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    # A "+" left unencoded in a query string arrives as a space.
    text = raw.strip().replace(" ", "+")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ].+", text):
            raise ValueError(text)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidFilter(f"{name} must be an ISO 8601 time, for example 2026-01-31T18:30:00Z.", field=name) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    # In UTC: PostgreSQL takes offsets up to 15:59 only, ISO 8601 allows up to 23:59.
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # beyond year 1 or 9999 once in UTC: before or after every payout
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)


def _created(params: QueryDict) -> dict[str, Any]:
    return {"created_gte": _moment(params, "created_gte"), "created_lt": _moment(params, "created_lt")}


def payout_filters(params: QueryDict) -> dict[str, Any]:
    """``?status=&reference_id=&bank_account_id=&created_gte=&created_lt=``."""
    status = params.get("status")
    if status is not None and status not in Payout.Status.values:
        raise InvalidStatusFilter()
    reference_id = params.get("reference_id")
    if reference_id is not None and not wire.REFERENCE_ID.accepts(reference_id):
        raise InvalidFilter("reference_id must be 1 to 40 of A-Z a-z 0-9 _ - .", field="reference_id")
    raw_account = params.get("bank_account_id")
    bank_account_id = None
    if raw_account is not None:
        # ASCII digits only, and no more than a 64-bit id has.
        if not (raw_account.isascii() and raw_account.isdigit() and len(raw_account.lstrip("0")) <= 19):
            raise InvalidFilter("bank_account_id must be the id of one of your bank accounts.", field="bank_account_id")
        bank_account_id = int(raw_account)
        if not wire.ID.accepts(bank_account_id):
            raise InvalidFilter("bank_account_id must be the id of one of your bank accounts.", field="bank_account_id")
    return {"status": status, "reference_id": reference_id, "bank_account_id": bank_account_id, **_created(params)}


def ledger_filters(params: QueryDict) -> dict[str, Any]:
    """``?kind=&created_gte=&created_lt=``."""
    kind = params.get("kind")
    if kind is not None and kind not in LedgerEntry.Kind.values:
        raise InvalidFilter(f"kind must be one of {', '.join(LedgerEntry.Kind.values)}.", field="kind")
    return {"kind": kind, **_created(params)}


# --- as the OpenAPI document lists them ---------------------------------------------------

_CREATED = [
    OpenApiParameter(
        "created_gte",
        {"type": "string", "format": "date-time"},
        description="Only those created at or after this time (ISO 8601; without an offset, UTC).",
    ),
    OpenApiParameter(
        "created_lt",
        {"type": "string", "format": "date-time"},
        description="Only those created before this time (ISO 8601; without an offset, UTC).",
    ),
]

PAYOUT_PARAMETERS = [
    OpenApiParameter("status", str, enum=wire.PAYOUT_STATUS.choices, description="Only payouts in this status."),
    OpenApiParameter(
        "reference_id",
        {"type": "string", "pattern": f"^{wire.REFERENCE_ID_PATTERN}$"},
        description="Only the payout with this reference_id.",
    ),
    OpenApiParameter(
        "bank_account_id",
        {"type": "integer", "minimum": 1, "maximum": wire.MAX_BIGINT},
        description="Only payouts to this bank account.",
    ),
    *_CREATED,
]

LEDGER_PARAMETERS = [
    OpenApiParameter("kind", str, enum=list(LedgerEntry.Kind.values), description="Only entries of this kind."),
    *_CREATED,
]
