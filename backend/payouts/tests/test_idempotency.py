"""Idempotency keys: replay, a reused key, expiry and the reaper (``idempotency_expire``)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from common.errors import IdempotencyKeyReused
from payouts import services, tasks
from payouts.idempotency import idempotency_expire, request_fingerprint
from payouts.models import IdempotencyRecord, Payout


def create(merchant, amount_paise: int, key: uuid.UUID, now=None):
    body = {"amount_paise": amount_paise, "bank_account_id": merchant.bank_account_id}
    return services.payout_create(
        merchant_id=merchant.id,
        bank_account_id=merchant.bank_account_id,
        amount_paise=amount_paise,
        idempotency_key=key,
        fingerprint=request_fingerprint(body),
        now=now,
    )


def test_the_fingerprint_ignores_key_order_but_not_values():
    assert request_fingerprint({"a": 1, "b": 2}) == request_fingerprint({"b": 2, "a": 1})
    assert request_fingerprint({"a": 1, "b": 2}) != request_fingerprint({"a": 1, "b": 3})


def test_a_retry_with_the_same_key_replays_the_first_response_byte_for_byte(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = uuid.uuid4()
    first = create(merchant, 1_000, key)

    again = create(merchant, 1_000, key)

    assert (again.status, again.body, again.replayed, again.payout_id) == (201, first.body, True, None)
    assert Payout.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_an_insufficient_funds_answer_is_remembered_too(make_merchant):
    merchant = make_merchant(credit_paise=500)
    key = uuid.uuid4()
    first = create(merchant, 1_000, key)

    again = create(merchant, 1_000, key)

    assert (first.status, again.status, again.body, again.replayed) == (422, 422, first.body, True)
    assert Payout.objects.count() == 0


def test_the_same_key_with_another_body_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = uuid.uuid4()
    create(merchant, 1_000, key)

    with pytest.raises(IdempotencyKeyReused):
        create(merchant, 2_000, key)

    assert list(Payout.objects.values_list("amount_paise", flat=True)) == [1_000]


def test_a_key_past_its_ttl_counts_as_new_and_its_record_is_replaced(make_merchant, settings):
    merchant = make_merchant(credit_paise=10_000)
    key = uuid.uuid4()
    first = create(merchant, 1_000, key)
    expires_at = IdempotencyRecord.objects.get().expires_at
    assert expires_at == Payout.objects.get().created_at + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)

    later = create(merchant, 2_000, key, now=expires_at)

    assert (later.status, later.replayed) == (201, False)
    assert later.payout_id != first.payout_id
    record = IdempotencyRecord.objects.get()
    assert (record.payout_id, record.expires_at) == (
        later.payout_id,
        expires_at + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
    )


def test_the_reaper_deletes_records_expired_by_now_a_batch_at_a_time(make_merchant, settings):
    merchant = make_merchant(credit_paise=10_000)
    for amount in (100, 200, 300):
        create(merchant, amount, uuid.uuid4())
    expiry = max(IdempotencyRecord.objects.values_list("expires_at", flat=True))

    assert idempotency_expire(now=expiry - timedelta(days=1)) == 0
    assert idempotency_expire(now=expiry, batch=2) == 2
    assert idempotency_expire(now=expiry, batch=2) == 1
    assert idempotency_expire(now=expiry, batch=2) == 0
    assert IdempotencyRecord.objects.count() == 0
    assert Payout.objects.count() == 3  # the payouts stay


def test_the_reaper_task_leaves_live_records_alone(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    create(merchant, 100, uuid.uuid4())

    tasks.idempotency_reaper_task.call_local()

    assert IdempotencyRecord.objects.count() == 1
