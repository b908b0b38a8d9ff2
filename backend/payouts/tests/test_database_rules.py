"""What PostgreSQL refuses by itself about payouts, whatever code or psql session asks.

The rules of payouts/migrations/0001_initial.py: the state machine, the one
next step of a processing payout, the composite foreign key, append-only
events, one idempotency record per key. These statements run as the tables'
owner, a superuser in development: the rules hold even for it.
"""

from __future__ import annotations

import uuid

import psycopg2
import pytest

from bank import gateway as bank
from conftest import balance, count, payout_new
from ledger.tests.test_database_rules import INSERT_PAYOUT, sql
from payouts import services


@pytest.fixture
def paid_out(make_merchant):
    """A merchant with 10 000 paise and one completed 6 000-paise payout."""
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=6_000)
    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="success"))
    return merchant, payout_id


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE payouts_payout SET status = 'pending' WHERE id = %s", "final"),
        ("UPDATE payouts_payout SET status = 'failed', failure_reason = 'x' WHERE id = %s", "final"),
        ("UPDATE payouts_payout SET amount_paise = 1 WHERE id = %s", "final"),
        ("DELETE FROM payouts_payout WHERE id = %s", "append-only"),
    ],
)
def test_a_final_payout_never_changes(paid_out, statement, message):
    _, payout_id = paid_out

    with pytest.raises(psycopg2.Error, match=message):
        sql(statement, [payout_id])


@pytest.mark.parametrize(
    ("new_status", "allowed"),
    [("processing", True), ("completed", False), ("failed", False)],
)
def test_a_pending_payout_may_only_go_to_processing(make_merchant, new_status, allowed):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    statement = "UPDATE payouts_payout SET status = %s, failure_reason = 'x', attempt_deadline = now() WHERE id = %s"

    if allowed:
        sql(statement, [new_status, payout_id])
    else:
        with pytest.raises(psycopg2.Error, match=f"illegal payout transition pending -> {new_status}"):
            sql(statement, [new_status, payout_id])


def test_a_processing_payout_cannot_go_back_to_pending(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 1, attempt_deadline = now() WHERE id = %s",
        [payout_id],
    )

    with pytest.raises(psycopg2.Error, match="illegal payout transition processing -> pending"):
        sql("UPDATE payouts_payout SET status = 'pending' WHERE id = %s", [payout_id])


def test_failed_to_completed_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="failure"))

    with pytest.raises(psycopg2.Error, match="final"):
        sql("UPDATE payouts_payout SET status = 'completed' WHERE id = %s", [payout_id])


def test_payout_events_are_never_updated_or_deleted(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)

    with pytest.raises(psycopg2.Error, match="append-only"):
        sql("UPDATE payouts_payoutevent SET reason = 'edited'")
    with pytest.raises(psycopg2.Error, match="append-only"):
        sql("DELETE FROM payouts_payoutevent")


@pytest.mark.parametrize("amount", [0, -1])
def test_a_payout_amount_must_be_positive(make_merchant, amount):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="payout_amount_positive"):
        sql(
            INSERT_PAYOUT,
            [merchant.id, merchant.bank_account_id, amount],
        )


def test_a_second_idempotency_record_for_one_key_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = "6f1c1f0e-8d2b-4a57-9a7e-3c2d1b0a9f8e"
    services.payout_create(
        merchant_id=merchant.id,
        bank_account_id=merchant.bank_account_id,
        amount_paise=1_000,
        idempotency_key=uuid.UUID(key),
        fingerprint="f",
    )

    with pytest.raises(psycopg2.Error, match="idempotency_one_per_merchant_key"):
        sql(
            "INSERT INTO payouts_idempotencyrecord (merchant_id, key, fingerprint, response_status, response_body, "
            "created_at, expires_at) VALUES (%s, %s, 'f', 201, '{}', now(), now() + interval '1 day')",
            [merchant.id, key],
        )


def test_a_payout_to_another_merchants_bank_account_is_refused_even_by_raw_sql(make_merchant):
    asha, ravi = make_merchant(credit_paise=10_000), make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="payout_bank_account_of_merchant"):
        sql(
            "WITH p AS (INSERT INTO payouts_payout (merchant_id, bank_account_id, amount_paise, status, attempts, "
            "reference, bank_reference, created_at, updated_at) "
            "VALUES (%s, %s, 500, 'pending', 0, md5(random()::text), '', now(), now()) RETURNING id) "
            "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at) "
            "SELECT %s, 'payout', -500, 'to a stranger', p.id, now() FROM p",
            [asha.id, ravi.bank_account_id, asha.id],
        )
    assert balance(asha) == (10_000, 0)
    assert count("payouts_payout") == 0


def test_no_attempt_starts_once_a_cancellation_was_asked_for(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 3, cancel_requested_at = now(),"
        " next_cancel_at = now() WHERE id = %s",
        [payout_id],
    )

    with pytest.raises(psycopg2.Error, match="no attempt starts after the bank was asked to cancel"):
        sql(
            "UPDATE payouts_payout SET attempts = 4, next_cancel_at = NULL, attempt_deadline = now() WHERE id = %s",
            [payout_id],
        )
    with pytest.raises(psycopg2.Error, match="never withdrawn"):
        sql("UPDATE payouts_payout SET cancel_requested_at = NULL, next_cancel_at = NULL WHERE id = %s", [payout_id])


@pytest.mark.parametrize(
    "steps",
    [
        "attempt_deadline = now(), next_attempt_at = now()",
        "attempt_deadline = NULL, next_attempt_at = NULL",
        "attempt_deadline = now(), next_cancel_at = now(), cancel_requested_at = now()",
    ],
)
def test_a_processing_payout_has_exactly_one_next_step(make_merchant, steps):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)

    with pytest.raises(psycopg2.Error, match="payout_one_next_step"):
        sql(f"UPDATE payouts_payout SET status = 'processing', attempts = 1, {steps} WHERE id = %s", [payout_id])
