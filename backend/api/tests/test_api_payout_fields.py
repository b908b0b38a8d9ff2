"""What integrators attach to a payout, and what the bank adds (CONTRACT §9), over HTTP."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.db import connection

from api.tests.test_api_payouts import run_concurrently
from bank import gateway as bank
from common.errors import ReferenceIdInUse
from conftest import count
from merchants.tests.test_locks import transactions
from payouts import services

ATTACHED = {
    "reference_id": "INV-2026.03_0041",
    "narration": "March retainer",
    "notes": {"project": "Website", "invoice": "41"},
}


def test_a_payout_carries_what_the_merchant_attached(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    created = merchant.api.create_payout(2_500, merchant.bank_account_id, **ATTACHED)

    assert created.status == 201, created.text
    payout = created.json
    assert payout["reference_id"] == "INV-2026.03_0041"
    assert payout["narration"] == "March retainer"
    assert payout["notes"] == {"invoice": "41", "project": "Website"}
    assert list(payout["notes"]) == ["invoice", "project"]  # keys in order, as every read sends them
    assert (payout["utr"], payout["failure_code"]) == (None, None)
    fetched = merchant.api.get(f"/payouts/{payout['id']}")
    assert fetched.json == payout
    assert merchant.api.get("/payouts").json["results"] == [payout]
    assert merchant.api.balance() == (7_500, 2_500)


def test_a_reference_id_used_by_another_payout_is_409_and_holds_nothing(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    first = merchant.api.create_payout(2_500, merchant.bank_account_id, reference_id="INV-41")
    key = str(uuid.uuid4())

    reused = merchant.api.create_payout(1_000, merchant.bank_account_id, key=key, reference_id="INV-41")
    again = merchant.api.create_payout(1_000, merchant.bank_account_id, key=key, reference_id="INV-41")

    assert first.status == 201
    assert reused.status == 409
    assert reused.json == {
        "error": {
            "code": "reference_id_in_use",
            "message": "reference_id 'INV-41' is already used by another of your payouts.",
            "field": "reference_id",
        }
    }
    # Not remembered under the key: the retry runs again (and is refused again), nothing was left behind.
    assert again.status == 409
    assert "idempotent-replayed" not in again.headers
    assert merchant.api.balance() == (7_500, 2_500)
    assert count("payouts_payout") == 1
    assert count("payouts_idempotencyrecord") == 1
    assert count("ledger_ledgerentry", "kind = 'payout'") == 1
    assert count("payouts_payoutevent") == 1
    # The key is still free: fixed, the same key makes the payout.
    fixed = merchant.api.create_payout(1_000, merchant.bank_account_id, key=key, reference_id="INV-42")
    assert fixed.status == 201, fixed.text
    assert merchant.api.balance() == (6_500, 3_500)


def test_a_retry_with_the_same_key_and_reference_id_is_replayed_not_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    first = merchant.api.create_payout(2_500, merchant.bank_account_id, key=key, **ATTACHED)

    retry = merchant.api.create_payout(2_500, merchant.bank_account_id, key=key, **ATTACHED)

    assert (first.status, retry.status) == (201, 201)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.text == first.text
    assert count("payouts_payout") == 1


@pytest.mark.parametrize(
    "changed",
    [
        {"notes": {"project": "Website", "invoice": "42"}},
        {"narration": "April retainer"},
        {"reference_id": "INV-2026.03_0042"},
        {"notes": None},
    ],
    ids=["notes", "narration", "reference_id", "notes left out"],
)
def test_the_same_key_with_other_attachments_is_idempotency_key_reused(make_merchant, changed):
    merchant = make_merchant(credit_paise=10_000)
    key = str(uuid.uuid4())
    merchant.api.create_payout(2_500, merchant.bank_account_id, key=key, **ATTACHED)
    body = {**ATTACHED, **changed}
    body = {name: value for name, value in body.items() if value is not None}

    reused = merchant.api.create_payout(2_500, merchant.bank_account_id, key=key, **body)

    assert reused.status == 422
    assert reused.error_code == "idempotency_key_reused"
    assert count("payouts_payout") == 1
    assert merchant.api.balance() == (7_500, 2_500)


def test_reference_ids_are_unique_per_merchant_not_across_merchants(make_merchant):
    asha, ravi = make_merchant(credit_paise=10_000), make_merchant(credit_paise=10_000)

    mine = asha.api.create_payout(1_000, asha.bank_account_id, reference_id="INV-1")
    theirs = ravi.api.create_payout(1_000, ravi.bank_account_id, reference_id="INV-1")

    assert (mine.status, theirs.status) == (201, 201)
    assert asha.api.get("/payouts?reference_id=INV-1").json["results"] == [mine.json]
    assert ravi.api.get("/payouts?reference_id=INV-1").json["results"] == [theirs.json]


def test_racing_requests_with_one_reference_id_make_one_payout(make_merchant):
    merchant = make_merchant(credit_paise=100_000)
    racers = 8

    replies = run_concurrently(
        racers, lambda i: merchant.api.create_payout(1_000 + i, merchant.bank_account_id, reference_id="RACE-1")
    )

    statuses = sorted(reply.status for reply in replies)
    assert statuses == [201] + [409] * (racers - 1), [r.text for r in replies]
    assert {reply.error_code for reply in replies if reply.status == 409} == {"reference_id_in_use"}
    won = next(reply.json for reply in replies if reply.status == 201)
    assert merchant.api.balance() == (100_000 - won["amount_paise"], won["amount_paise"])
    assert count("payouts_payout") == 1
    assert count("payouts_idempotencyrecord") == 1
    assert count("ledger_ledgerentry", "kind = 'payout'") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reference_id", "INV 41"),
        ("reference_id", "x" * 41),
        ("narration", "x" * 31),
        ("narration", "bell\u0007"),
        ("notes", {f"k{i}": "v" for i in range(16)}),
        ("notes", {"invoice": 41}),
        ("notes", {"invoice": "x" * 257}),
    ],
)
def test_an_attachment_out_of_bounds_is_400_invalid_field_naming_it(make_merchant, field, value):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.create_payout(1_000, merchant.bank_account_id, **{field: value})

    assert reply.status == 400
    assert reply.json["error"]["code"] == "invalid_field"
    assert reply.json["error"]["field"] == field
    assert count("payouts_payout") == 0
    assert count("payouts_idempotencyrecord") == 0


def test_a_completed_payout_shows_the_banks_utr(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    created = merchant.api.create_payout(2_500, merchant.bank_account_id, reference_id="INV-9").json

    services.payout_process(payout_id=created["id"], gateway=bank.SimulatedBank(outcome="success"))

    payout = merchant.api.get(f"/payouts/{created['id']}").json
    (reference,) = [row[0] for row in _references(created["id"])]
    assert payout["status"] == "completed"
    assert payout["utr"] == "UTR" + hashlib.sha256(reference.encode()).hexdigest()[:16].upper()
    assert payout["failure_code"] is None
    assert payout["reference_id"] == "INV-9"


def test_a_declined_payout_has_the_code_of_the_banks_reason_and_no_utr(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    created = merchant.api.create_payout(2_500, merchant.bank_account_id).json

    services.payout_process(payout_id=created["id"], gateway=bank.SimulatedBank(outcome="failure"))

    payout = merchant.api.get(f"/payouts/{created['id']}").json
    assert payout["status"] == "failed"
    assert payout["failure_reason"] == "declined by the bank: beneficiary name mismatch"
    assert payout["failure_code"] == "beneficiary_name_mismatch"
    assert payout["utr"] is None
    assert merchant.api.balance() == (10_000, 0)


def test_a_payout_the_bank_never_answered_fails_with_no_bank_answer(make_merchant, short_timeouts):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(2_500, merchant.bank_account_id).json["id"]
    hang = bank.SimulatedBank(outcome="hang")
    now = services.db_now()
    services.payout_process(payout_id=payout_id, gateway=hang, now=now)
    for attempt in range(1, 4):
        later = now + _seconds(10 * attempt)
        follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=attempt, gateway=hang, now=later)
        if follow_up is not None and follow_up.action == "attempt":
            services.payout_process(payout_id=payout_id, gateway=hang, now=follow_up.at)
    services.payout_cancel(payout_id=payout_id, gateway=hang, now=now + _seconds(100))

    payout = merchant.api.get(f"/payouts/{payout_id}").json
    assert payout["status"] == "failed"
    assert payout["failure_code"] == "no_bank_answer"
    assert payout["utr"] is None


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("beneficiary account closed", "beneficiary_account_closed"),
        ("Account closed", "beneficiary_account_closed"),
        ("beneficiary name mismatch", "beneficiary_name_mismatch"),
        ("account frozen by the beneficiary bank", "beneficiary_account_frozen"),
        ("invalid IFSC for this account", "invalid_ifsc"),
        ("cancelled at the sender's request", "no_bank_answer"),
        ("insufficient funds at the remitter bank", "bank_declined"),
        ("", "bank_declined"),
    ],
)
def test_each_decline_reason_has_its_failure_code(reason, code):
    assert services.payout_failure_code(bank.Answer(bank.DECLINED, reason=reason)) == code
    assert services.payout_failure_code(bank.Answer(bank.CANCELLED, reason=reason)) == "no_bank_answer"


def _references(payout_id: int):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reference FROM payouts_payout WHERE id = %s", [payout_id])
        return cursor.fetchall()


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)


def test_notes_keep_any_json_string_exactly(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    notes = {"": "empty key", "nul\x00key": "nul\x00value", "क्लाइंट": "आशा ₹", "emoji": "🙂" * 256}

    created = merchant.api.create_payout(1_000, merchant.bank_account_id, notes=notes)

    assert created.status == 201, created.text
    assert created.json["notes"] == notes
    assert merchant.api.get(f"/payouts/{created.json['id']}").json["notes"] == notes


def test_the_reference_check_adds_no_statement_under_the_merchant_lock(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    def create(reference_id: str | None):
        return services.payout_create(
            merchant_id=merchant.id,
            bank_account_id=merchant.bank_account_id,
            amount_paise=1_000,
            idempotency_key=uuid.uuid4(),
            fingerprint=uuid.uuid4().hex,
            reference_id=reference_id,
        )

    groups: list[list[str]] = []
    for reference_id in (None, "R-1"):
        with transactions() as recorded:
            create(reference_id)
        groups += recorded
    with transactions() as recorded, pytest.raises(ReferenceIdInUse):
        create("R-1")
    groups += recorded

    # The lock (with the payout's id and the time), the key's record, the one write: with or without a reference.
    assert [len(statements) for statements in groups] == [3, 3, 3]
    assert all("FOR NO KEY UPDATE" in statements[0] for statements in groups)
    assert all("payouts_idempotencyrecord" in statements[1] for statements in groups)
    assert all(statements[2].lstrip().startswith("WITH payout AS") for statements in groups)
    assert count("payouts_payout") == 2
    assert count("payouts_idempotencyrecord") == 2
