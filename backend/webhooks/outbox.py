"""The events outbox: an event is written in the same transaction as its change.

``event_record`` appends one event inside the caller's transaction (a
credit's, a payout transition's). ``payout_created_event_sql`` is the same
write as a step of ``payout_create``'s single statement, so taking a payout
costs no extra round trip under the merchant lock.

Nothing here sends anything: the dispatcher (``webhooks.services``) finds
undispatched events after they commit, so a change that rolls back never
leaves an event behind, and an event whose notification was lost is still
found.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from django.db import connection

from webhooks.models import EVENT_TYPES


def event_id_new() -> str:
    """``evt_`` and 26 random base32 characters (130 bits)."""
    return "evt_" + base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=").lower()[:26]


def _text(data: Any) -> str:
    if isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def event_record(*, merchant_id: int, type: str, data: Any, now: datetime) -> str:
    """Append an event of ``type`` about ``data`` (the object as the API renders it). Returns its id.

    Caller's transaction: the event commits or rolls back with the change.
    ``data`` is a mapping, or the JSON text already sent to the client.
    """
    assert connection.in_atomic_block, "an event is written in the transaction of its change"
    assert type in EVENT_TYPES, type
    event_id = event_id_new()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO webhooks_event (public_id, merchant_id, type, data, created_at, dispatched)"
            " VALUES (%s, %s, %s, %s, %s, false)",
            [event_id, merchant_id, type, _text(data), now],
        )
    return event_id


def payout_created_event_sql(*, payout: str) -> str:
    """The ``payout.created`` event as a step of the statement that creates the payout.

    ``payout`` names the step that inserted it (returning ``id, merchant_id,
    created_at``). Parameters: ``%(event_id)s`` and ``%(body)s``, the
    payout's JSON as the 201 sends it.
    """
    return f"""created_event AS (
    INSERT INTO webhooks_event (public_id, merchant_id, type, data, created_at, dispatched)
    SELECT %(event_id)s, merchant_id, 'payout.created', %(body)s, created_at, false FROM {payout}
)"""
