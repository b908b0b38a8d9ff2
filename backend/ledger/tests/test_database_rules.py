"""What PostgreSQL refuses by itself, whatever code or psql session asks.

These statements run as the tables' owner, a superuser in development: the
rules hold even for it. What the application's own role may not even try is
at the end.
"""

from __future__ import annotations

import psycopg2
import pytest
from django.db import DatabaseError, connection, transaction

from bank import gateway as bank
from conftest import count, owner_connect
from payouts import services

START_PROCESSING = (
    "UPDATE payouts_payout SET status = 'processing', attempts = 1, attempt_deadline = now() WHERE id = %s"
)
# A pending payout of (merchant, bank account, amount), with a fresh reference.
INSERT_PAYOUT = (
    "INSERT INTO payouts_payout (merchant_id, bank_account_id, amount_paise, status, attempts, reference, "
    "bank_reference, created_at, updated_at) VALUES (%s, %s, %s, 'pending', 0, md5(random()::text), '', now(), now())"
)


def sql(statement: str, params=()):
    """One transaction as the owner; raises psycopg2.Error when the database refuses it."""
    conn = owner_connect()
    try:
        conn.autocommit = False
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def paid_out(make_merchant):
    """A merchant with 10 000 paise and one completed 6 000-paise payout."""
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(6_000, merchant.bank_account_id).json["id"]
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
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]
    statement = "UPDATE payouts_payout SET status = %s, failure_reason = 'x', attempt_deadline = now() WHERE id = %s"

    if allowed:
        sql(statement, [new_status, payout_id])
    else:
        with pytest.raises(psycopg2.Error, match=f"illegal payout transition pending -> {new_status}"):
            sql(statement, [new_status, payout_id])


def test_a_processing_payout_cannot_go_back_to_pending(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]
    sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 1, attempt_deadline = now() WHERE id = %s",
        [payout_id],
    )

    with pytest.raises(psycopg2.Error, match="illegal payout transition processing -> pending"):
        sql("UPDATE payouts_payout SET status = 'pending' WHERE id = %s", [payout_id])


def test_failed_to_completed_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]
    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="failure"))

    with pytest.raises(psycopg2.Error, match="final"):
        sql("UPDATE payouts_payout SET status = 'completed' WHERE id = %s", [payout_id])


def test_failing_a_payout_without_its_reversal_is_refused_at_commit(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]
    sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 1, attempt_deadline = now() WHERE id = %s",
        [payout_id],
    )

    with pytest.raises(psycopg2.Error, match="reversal iff failed"):
        sql(
            "UPDATE payouts_payout SET status = 'failed', failure_reason = 'x', attempt_deadline = NULL WHERE id = %s",
            [payout_id],
        )
    assert merchant.api.balance() == (9_000, 1_000)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_ledgerentry SET amount_paise = amount_paise + 1 WHERE merchant_id = %s",
        "UPDATE ledger_ledgerentry SET description = 'edited' WHERE merchant_id = %s",
        "DELETE FROM ledger_ledgerentry WHERE merchant_id = %s",
    ],
)
def test_ledger_rows_are_never_updated_or_deleted(make_merchant, statement):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="append-only"):
        sql(statement, [merchant.id])
    assert count("ledger_ledgerentry", "merchant_id = %s", [merchant.id]) == 1


def test_payout_events_are_never_updated_or_deleted(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    merchant.api.create_payout(1_000, merchant.bank_account_id)

    with pytest.raises(psycopg2.Error, match="append-only"):
        sql("UPDATE payouts_payoutevent SET reason = 'edited'")
    with pytest.raises(psycopg2.Error, match="append-only"):
        sql("DELETE FROM payouts_payoutevent")


def test_balances_cannot_be_written_directly(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="derived from the ledger"):
        sql("UPDATE merchants_merchant SET available_paise = 99999999 WHERE id = %s", [merchant.id])
    with pytest.raises(psycopg2.Error, match="zero balances"):
        sql(
            "INSERT INTO merchants_merchant (name, is_demo, available_paise, held_paise, created_at) "
            "VALUES ('rich', false, 100, 0, now())"
        )
    assert merchant.api.balance() == (10_000, 0)


def test_a_payout_beyond_the_available_balance_is_refused_even_without_the_lock(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="merchant_available_not_negative"):
        sql(
            f"WITH p AS ({INSERT_PAYOUT} RETURNING id) "
            "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at) "
            "SELECT %s, 'payout', -10001, 'overdraft', p.id, now() FROM p",
            [merchant.id, merchant.bank_account_id, 10_001, merchant.id],
        )
    assert merchant.api.balance() == (10_000, 0)


@pytest.mark.parametrize("amount", [0, -1])
def test_a_payout_amount_must_be_positive(make_merchant, amount):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="payout_amount_positive"):
        sql(
            INSERT_PAYOUT,
            [merchant.id, merchant.bank_account_id, amount],
        )


def test_a_second_debit_for_one_payout_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]

    with pytest.raises(psycopg2.Error, match="ledger_one_debit_per_payout"):
        sql(
            "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at) "
            "VALUES (%s, 'payout', -1000, 'again', %s, now())",
            [merchant.id, payout_id],
        )


def test_a_payout_without_its_debit_is_refused_at_commit(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="one debit of its amount"):
        sql(
            INSERT_PAYOUT,
            [merchant.id, merchant.bank_account_id, 500],
        )
    assert merchant.api.balance() == (10_000, 0)


def test_a_second_idempotency_record_for_one_key_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    key = "6f1c1f0e-8d2b-4a57-9a7e-3c2d1b0a9f8e"
    merchant.api.create_payout(1_000, merchant.bank_account_id, key=key)

    with pytest.raises(psycopg2.Error, match="idempotency_one_per_merchant_key"):
        sql(
            "INSERT INTO payouts_idempotencyrecord (merchant_id, key, fingerprint, response_status, response_body, "
            "created_at, expires_at) VALUES (%s, %s, 'f', 201, '{}', now(), now() + interval '1 day')",
            [merchant.id, key],
        )


# --- nothing is truncated; a bank account is its merchant's ------------------------


@pytest.mark.parametrize(
    "table", ["ledger_ledgerentry", "payouts_payoutevent", "payouts_payout", "payouts_reconciliationincident"]
)
def test_money_tables_refuse_truncate_even_for_the_owner(make_merchant, table):
    merchant = make_merchant(credit_paise=10_000)
    merchant.api.create_payout(1_000, merchant.bank_account_id)

    with pytest.raises(psycopg2.Error, match="is never truncated"):
        sql(f"TRUNCATE {table} CASCADE")
    assert count("ledger_ledgerentry") == 2
    assert count("payouts_payout") == 1


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
    assert asha.api.balance() == (10_000, 0)
    assert count("payouts_payout") == 0


# --- the cancellation protocol in the database ----------------------------------------


def test_no_attempt_starts_once_a_cancellation_was_asked_for(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]
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
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]

    with pytest.raises(psycopg2.Error, match="payout_one_next_step"):
        sql(f"UPDATE payouts_payout SET status = 'processing', attempts = 1, {steps} WHERE id = %s", [payout_id])


# --- what the application's own role may not even try -------------------------------


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("SET session_replication_role = replica", "permission denied"),
        ("ALTER TABLE ledger_ledgerentry DISABLE TRIGGER ledger_entry_append_only", "must be owner"),
        ("ALTER TABLE payouts_payout DISABLE TRIGGER USER", "must be owner"),
        ("TRUNCATE ledger_ledgerentry CASCADE", "permission denied"),
        ("UPDATE ledger_ledgerentry SET amount_paise = 1", "permission denied"),
        ("DELETE FROM payouts_payoutevent", "permission denied"),
        ("DROP TRIGGER payout_guard ON payouts_payout", "must be owner"),
        ("CREATE TABLE sneaky (id int)", "permission denied"),
    ],
)
def test_the_application_role_cannot_switch_the_rules_off(make_merchant, statement, message):
    make_merchant(credit_paise=10_000)

    with pytest.raises(DatabaseError, match=message), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        assert cursor.fetchone() == (0,)
    assert count("ledger_ledgerentry") == 1
