"""Idempotency keys: fingerprint, replay, remember, expire.

A key is scoped to its merchant. The record holds the fingerprint of the
request body and the exact response first sent. It is read and written only
while the caller holds the merchant lock, inside the same transaction as the
payout it answers for, so:

* a retry after the first request committed finds the record and replays it;
* a concurrent duplicate still in flight waits on the merchant lock, then
  finds the committed record and replays it: never a second payout;
* if the first request rolled back, nothing was remembered and the retry runs
  afresh.

A record past its ``expires_at`` counts as absent and is overwritten; the
reaper task deletes expired ones in the background.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection

from common.errors import IdempotencyKeyReused, PayoutError
from payouts.models import IdempotencyRecord
from payouts.representations import render


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    replayed: bool = False
    # The payout this response created (a fresh 201 only): processing is
    # enqueued for it once the transaction has committed.
    payout_id: int | None = None

    @classmethod
    def of_error(cls, error: PayoutError) -> StoredResponse:
        return cls(status=error.status, body=render(error.as_dict()))


def request_fingerprint(body: dict) -> str:
    """SHA-256 of the body's canonical JSON: key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_replay(*, merchant_id: int, key: UUID, fingerprint: str, now: datetime) -> StoredResponse | None:
    """The response to replay for this key, or None if the key is new (or expired).

    Caller holds the merchant lock. Raises ``IdempotencyKeyReused`` when the
    key was used with a different body.
    """
    assert connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT fingerprint, response_status, response_body FROM payouts_idempotencyrecord"
            " WHERE merchant_id = %s AND key = %s AND expires_at > %s",
            [merchant_id, key, now],
        )
        record = cursor.fetchone()
    if record is None:
        return None
    seen_fingerprint, status, body = record
    if seen_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return StoredResponse(status=status, body=body, replayed=True)


def idempotency_remember(
    *,
    merchant_id: int,
    key: UUID,
    fingerprint: str,
    response: StoredResponse,
    payout_id: int | None,
    now: datetime,
) -> None:
    """Store the response for the key, replacing an expired record. Caller holds the merchant lock."""
    assert connection.in_atomic_block
    IdempotencyRecord.objects.bulk_create(
        [
            IdempotencyRecord(
                merchant_id=merchant_id,
                key=key,
                fingerprint=fingerprint,
                response_status=response.status,
                response_body=response.body,
                payout_id=payout_id,
                created_at=now,
                expires_at=now + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
            )
        ],
        update_conflicts=True,
        unique_fields=["merchant", "key"],
        update_fields=["fingerprint", "response_status", "response_body", "payout", "created_at", "expires_at"],
    )


def idempotency_expire(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete up to ``batch`` records expired by ``now`` (the database's clock by default); returns how many.

    Needs no lock: a record past its expiry is already treated as absent.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM payouts_idempotencyrecord WHERE id IN ("
            " SELECT id FROM payouts_idempotencyrecord"
            " WHERE expires_at <= coalesce(%(now)s::timestamptz, now()) LIMIT %(batch)s)",
            {"now": now, "batch": batch},
        )
        return cursor.rowcount
