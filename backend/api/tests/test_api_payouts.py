"""POST /api/v1/payouts, over HTTP, as CONTRACT §2.1 states it."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import count
from payouts.models import IdempotencyRecord


def run_concurrently(n: int, call) -> list:
    """Start n threads that call call(i) at the same instant; return the results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_a_payout_holds_its_funds_and_starts_pending(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.create_payout(6_000, merchant.bank_account_id)

    assert reply.status == 201, reply.text
    payout = reply.json
    assert set(payout) == {
        "id",
        "amount_paise",
        "bank_account_id",
        "status",
        "attempts",
        "failure_reason",
        "failure_code",
        "reference_id",
        "narration",
        "notes",
        "utr",
        "created_at",
        "updated_at",
    }
    assert (payout["reference_id"], payout["narration"], payout["notes"]) == (None, None, {})
    assert (payout["utr"], payout["failure_code"]) == (None, None)
    assert payout["amount_paise"] == 6_000
    assert payout["bank_account_id"] == merchant.bank_account_id
    assert payout["status"] == "pending"
    assert payout["attempts"] == 0
    assert payout["failure_reason"] is None
    assert payout["created_at"].endswith("Z")
    assert merchant.api.balance() == (4_000, 6_000)
    ledger = merchant.api.get("/ledger").json["results"]
    assert [(e["kind"], e["amount_paise"], e["payout_id"]) for e in ledger] == [
        ("payout", -6_000, payout["id"]),
        ("payment", 10_000, None),
    ]
    events = merchant.api.get(f"/payouts/{payout['id']}/events").json
    assert [(e["from_status"], e["to_status"], e["attempt"]) for e in events] == [(None, "pending", 0)]


def test_insufficient_funds_is_422_and_holds_nothing(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.create_payout(10_001, merchant.bank_account_id)

    assert reply.status == 422
    assert reply.json["error"]["code"] == "insufficient_funds"
    assert reply.json["error"]["field"] == "amount_paise"
    assert merchant.api.balance() == (10_000, 0)
    assert count("payouts_payout") == 0


def test_the_whole_balance_can_be_paid_out(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    assert merchant.api.create_payout(10_000, merchant.bank_account_id).status == 201
    assert merchant.api.balance() == (0, 10_000)


def test_two_concurrent_payouts_cannot_overdraw(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    replies = run_concurrently(2, lambda i: merchant.api.create_payout(6_000, merchant.bank_account_id))

    assert sorted(r.status for r in replies) == [201, 422]
    assert [r.error_code for r in replies if r.status == 422] == ["insufficient_funds"]
    assert merchant.api.balance() == (4_000, 6_000)
    assert count("payouts_payout", "merchant_id = %s", [merchant.id]) == 1


def test_forty_concurrent_payouts_take_exactly_what_the_balance_allows(make_merchant):
    merchant = make_merchant(credit_paise=100_000)

    replies = run_concurrently(40, lambda i: merchant.api.create_payout(3_000, merchant.bank_account_id))

    statuses = Counter(r.status for r in replies)
    assert statuses == {201: 33, 422: 7}
    assert merchant.api.balance() == (1_000, 99_000)
    assert count("payouts_payout", "merchant_id = %s", [merchant.id]) == 33
    assert count("ledger_ledgerentry", "merchant_id = %s AND kind = 'payout'", [merchant.id]) == 33


def test_a_replay_returns_the_first_response_and_creates_nothing(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    first = merchant.api.create_payout(2_500, merchant.bank_account_id, key=key)

    again = merchant.api.create_payout(2_500, merchant.bank_account_id, key=key)

    assert first.status == again.status == 201
    assert again.text == first.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert count("payouts_payout") == 1
    assert merchant.api.balance() == (7_500, 2_500)


def test_a_replay_ignores_key_order_and_spacing_in_the_body(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    merchant.api.create_payout(2_500, merchant.bank_account_id, key=key)
    raw = f'{{ "bank_account_id" : {merchant.bank_account_id},  "amount_paise": 2500 }}'.encode()

    again = merchant.api.request(
        "POST", "/payouts", raw=raw, headers={"Idempotency-Key": key, "Content-Type": "application/json"}
    )

    assert again.status == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert count("payouts_payout") == 1


def test_an_insufficient_funds_answer_is_remembered_too(make_merchant):
    merchant = make_merchant(credit_paise=1_000)
    key = str(uuid.uuid4())
    first = merchant.api.create_payout(5_000, merchant.bank_account_id, key=key)
    from merchants import services as merchants

    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=10_000, description="late payment")

    again = merchant.api.create_payout(5_000, merchant.bank_account_id, key=key)

    assert first.status == again.status == 422
    assert again.text == first.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert count("payouts_payout") == 0


def test_twenty_concurrent_requests_with_one_key_make_one_payout(make_merchant):
    merchant = make_merchant(credit_paise=100_000)
    key = str(uuid.uuid4())

    replies = run_concurrently(20, lambda i: merchant.api.create_payout(1_000, merchant.bank_account_id, key=key))

    assert all(r.status in (201, 409) for r in replies), [r.text for r in replies]
    created = [r for r in replies if r.status == 201]
    assert len({r.json["id"] for r in created}) == 1
    assert sum(1 for r in created if "idempotent-replayed" not in r.headers) == 1
    assert count("payouts_payout", "merchant_id = %s", [merchant.id]) == 1
    assert merchant.api.balance() == (99_000, 1_000)


def test_the_same_key_with_a_different_body_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    merchant.api.create_payout(1_000, merchant.bank_account_id, key=key)

    reply = merchant.api.create_payout(2_000, merchant.bank_account_id, key=key)

    assert reply.status == 422
    assert reply.error_code == "idempotency_key_reused"
    assert count("payouts_payout") == 1
    assert merchant.api.balance() == (9_000, 1_000)


def test_keys_are_scoped_per_merchant(make_merchant):
    alice, bob = make_merchant(credit_paise=10_000), make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())

    first = alice.api.create_payout(1_000, alice.bank_account_id, key=key)
    second = bob.api.create_payout(1_000, bob.bank_account_id, key=key)

    assert first.status == second.status == 201
    assert "idempotent-replayed" not in second.headers
    assert first.json["id"] != second.json["id"]
    assert alice.api.balance() == bob.api.balance() == (9_000, 1_000)


def test_a_key_past_its_ttl_is_new(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    first = merchant.api.create_payout(1_000, merchant.bank_account_id, key=key)
    IdempotencyRecord.objects.filter(key=key).update(expires_at=timezone.now() - timedelta(seconds=1))

    again = merchant.api.create_payout(1_000, merchant.bank_account_id, key=key)

    assert again.status == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json["id"] != first.json["id"]
    assert merchant.api.balance() == (8_000, 2_000)
    assert IdempotencyRecord.objects.filter(key=key).count() == 1


def test_the_ttl_follows_the_setting(make_merchant, settings):
    settings.IDEMPOTENCY_KEY_TTL_SECONDS = 3600
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    before = timezone.now()

    merchant.api.create_payout(1_000, merchant.bank_account_id, key=key)

    record = IdempotencyRecord.objects.get(key=key)
    assert timedelta(seconds=3599) <= record.expires_at - before <= timedelta(seconds=3601)


BAD_AMOUNTS = {
    "float": 100.5,
    "integral float": 100.0,
    "string": "100",
    "boolean": True,
    "null": None,
    "zero": 0,
    "negative": -100,
    "beyond 64 bits": 2**63,
    "far beyond 64 bits": 10**30,
    "list": [100],
    "object": {"paise": 100},
}


@pytest.mark.parametrize("amount", BAD_AMOUNTS.values(), ids=BAD_AMOUNTS.keys())
def test_a_bad_amount_is_400_and_moves_no_money(make_merchant, amount):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.create_payout(amount, merchant.bank_account_id)

    assert reply.status == 400
    assert reply.json == {
        "error": {"code": "invalid_amount", "message": reply.json["error"]["message"], "field": "amount_paise"}
    }
    assert merchant.api.balance() == (10_000, 0)
    assert count("payouts_payout") == 0
    assert count("payouts_idempotencyrecord") == 0


def test_a_missing_amount_is_400(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.request(
        "POST",
        "/payouts",
        body={"bank_account_id": merchant.bank_account_id},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )

    assert reply.status == 400
    assert reply.error_code == "invalid_amount"
    assert count("payouts_payout") == 0


def test_a_rejected_request_is_not_remembered_so_the_key_can_be_retried(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    assert merchant.api.create_payout("1000", merchant.bank_account_id, key=key).status == 400

    reply = merchant.api.create_payout(1_000, merchant.bank_account_id, key=key)

    assert reply.status == 201
    assert "idempotent-replayed" not in reply.headers


def test_a_quoted_idempotency_key_is_the_same_key_as_the_bare_one(make_merchant):
    """The IETF draft writes the key as a structured-field string: "8e03…", quotes included."""
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())

    quoted = merchant.api.create_payout(1_000, merchant.bank_account_id, key=f'"{key}"')
    bare = merchant.api.create_payout(1_000, merchant.bank_account_id, key=key)
    quoted_again = merchant.api.create_payout(1_000, merchant.bank_account_id, key=f'"{key.upper()}"')

    assert quoted.status == 201, quoted.text
    assert "idempotent-replayed" not in quoted.headers
    assert bare.status == quoted_again.status == 201
    assert bare.text == quoted_again.text == quoted.text
    assert bare.headers.get("idempotent-replayed") == quoted_again.headers.get("idempotent-replayed") == "true"
    assert count("payouts_payout") == 1
    assert merchant.api.balance() == (9_000, 1_000)


_KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "not-a-uuid",
        "12345",
        "g" * 36,
        '""',
        f'"{_KEY}',  # one quote only
        f'{_KEY}"',
        f"'{_KEY}'",  # not the structured-field string syntax
        f'""{_KEY}""',
        f'"{_KEY}";v=1',  # parameters are not part of the key
        f'"{_KEY}", "{_KEY}"',
        _KEY.replace("-", ""),  # the 8-4-4-4-12 form only, as documented
        f"{{{_KEY}}}",
        f"urn:uuid:{_KEY}",
    ],
)
def test_a_missing_or_malformed_idempotency_key_is_400(make_merchant, key):
    merchant = make_merchant(credit_paise=10_000)
    headers = {} if key is None else {"Idempotency-Key": key}

    reply = merchant.api.request(
        "POST", "/payouts", body={"amount_paise": 100, "bank_account_id": merchant.bank_account_id}, headers=headers
    )

    assert reply.status == 400
    assert reply.error_code == "invalid_idempotency_key"
    assert count("payouts_payout") == 0


def test_another_merchants_bank_account_is_400(make_merchant):
    alice, bob = make_merchant(credit_paise=10_000), make_merchant(credit_paise=10_000)

    reply = alice.api.create_payout(1_000, bob.bank_account_id)

    assert reply.status == 400
    assert reply.error_code == "invalid_bank_account"
    assert alice.api.balance() == bob.api.balance() == (10_000, 0)


@pytest.mark.parametrize("bank_account_id", [999_999, "1", None, True, 1.0, -1, 2**70])
def test_an_unknown_or_malformed_bank_account_is_400(make_merchant, bank_account_id):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.create_payout(1_000, bank_account_id)

    assert reply.status == 400
    assert reply.error_code == "invalid_bank_account"
    assert count("payouts_payout") == 0


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_400(make_merchant, raw):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.request(
        "POST", "/payouts", raw=raw, headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
    )

    assert reply.status == 400
    assert reply.error_code in {"invalid_body", "invalid_amount"}
    assert count("payouts_payout") == 0


def test_malformed_json_is_400_in_the_envelope(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.request(
        "POST",
        "/payouts",
        raw=b'{"amount_paise": 1',
        headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"},
    )

    assert reply.status == 400
    assert reply.json["error"]["code"] == "malformed_json"


def test_a_non_json_body_is_415(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.request(
        "POST",
        "/payouts",
        raw=b"amount=1",
        headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "text/plain"},
    )

    assert reply.status == 415
    assert reply.error_code == "unsupported_media_type"


def test_an_oversized_body_is_413(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    body = {"amount_paise": 100, "bank_account_id": merchant.bank_account_id, "note": "x" * 100_000}

    reply = merchant.api.request("POST", "/payouts", body=body, headers={"Idempotency-Key": str(uuid.uuid4())})

    assert reply.status == 413
    assert reply.error_code == "request_too_large"
    assert count("payouts_payout") == 0


def test_the_rate_limit_answers_429_with_retry_after(make_merchant, settings):
    settings.PAYOUT_RATE_LIMIT = "3/m"
    merchant = make_merchant(credit_paise=100_000)

    replies = [merchant.api.create_payout(100, merchant.bank_account_id) for _ in range(4)]

    assert [r.status for r in replies] == [201, 201, 201, 429]
    assert replies[3].error_code == "rate_limited"
    assert 1 <= int(replies[3].headers["retry-after"]) <= 60
    assert count("payouts_payout") == 3


def test_the_insufficient_funds_message_speaks_rupees(make_merchant):
    merchant = make_merchant(credit_paise=12_345_678)

    reply = merchant.api.create_payout(100_000_000_001, merchant.bank_account_id)

    assert reply.json["error"]["message"] == "Insufficient funds: ₹1,23,456.78 available, ₹1,00,00,00,000.01 requested."
