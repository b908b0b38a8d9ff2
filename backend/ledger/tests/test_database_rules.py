"""What PostgreSQL refuses by itself about money, whatever code or psql session asks.

The rules of ledger/migrations/0001_initial.py, which make the invariants of
``ledger.audit`` hold by construction. These statements run as the tables'
owner, a superuser in development: the rules hold even for it. What the
application's own role may not even try is at the end.
"""

from __future__ import annotations

import psycopg2
import pytest
from django.db import DatabaseError, connection, transaction

from conftest import balance, count, owner_connect, payout_new

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


def test_failing_a_payout_without_its_reversal_is_refused_at_commit(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 1, attempt_deadline = now() WHERE id = %s",
        [payout_id],
    )

    with pytest.raises(psycopg2.Error, match="reversal iff failed"):
        sql(
            "UPDATE payouts_payout SET status = 'failed', failure_reason = 'x', attempt_deadline = NULL WHERE id = %s",
            [payout_id],
        )
    assert balance(merchant) == (9_000, 1_000)


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


def test_balances_cannot_be_written_directly(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="derived from the ledger"):
        sql("UPDATE merchants_merchant SET available_paise = 99999999 WHERE id = %s", [merchant.id])
    with pytest.raises(psycopg2.Error, match="zero balances"):
        sql(
            "INSERT INTO merchants_merchant (name, is_demo, available_paise, held_paise, created_at) "
            "VALUES ('rich', false, 100, 0, now())"
        )
    assert balance(merchant) == (10_000, 0)


def test_a_payout_beyond_the_available_balance_is_refused_even_without_the_lock(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    with pytest.raises(psycopg2.Error, match="merchant_available_not_negative"):
        sql(
            f"WITH p AS ({INSERT_PAYOUT} RETURNING id) "
            "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at) "
            "SELECT %s, 'payout', -10001, 'overdraft', p.id, now() FROM p",
            [merchant.id, merchant.bank_account_id, 10_001, merchant.id],
        )
    assert balance(merchant) == (10_000, 0)


def test_a_second_debit_for_one_payout_is_refused(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)

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
    assert balance(merchant) == (10_000, 0)


@pytest.mark.parametrize(
    "table", ["ledger_ledgerentry", "payouts_payoutevent", "payouts_payout", "payouts_reconciliationincident"]
)
def test_money_tables_refuse_truncate_even_for_the_owner(make_merchant, table):
    merchant = make_merchant(credit_paise=10_000)
    payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)

    with pytest.raises(psycopg2.Error, match="is never truncated"):
        sql(f"TRUNCATE {table} CASCADE")
    assert count("ledger_ledgerentry") == 2
    assert count("payouts_payout") == 1


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
