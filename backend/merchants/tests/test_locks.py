"""The merchant lock: every money transaction takes it first, before any write.

The statements each money service sends are recorded as PostgreSQL receives
them; in every transaction that writes, the first statement must be the lock
on the merchant's row.
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction

from bank import gateway as bank
from conftest import payout_new
from merchants import services as merchants
from merchants.locks import merchant_lock, merchant_lock_for_payout
from merchants.models import Merchant
from payouts import services
from payouts.idempotency import request_fingerprint
from payouts.models import Payout

LOCK = re.compile(r"FROM \"?merchants_merchant\"?.*FOR NO KEY UPDATE", re.S)
WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b")


@contextmanager
def transactions():
    """Record every statement sent inside a transaction, grouped by transaction."""
    groups: list[list[str]] = []
    open_ = [False]

    def record(execute, sql, params, many, context):
        if context["connection"].in_atomic_block:
            if not open_[0]:
                groups.append([])
            groups[-1].append(sql)
            open_[0] = True
        else:
            open_[0] = False
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield groups


def assert_locked_before_any_write(groups: list[list[str]], *, expected: int) -> None:
    # Starting an attempt changes no balance: its guarded UPDATE (and the payout.processing event
    # that goes with the first) is a transaction of its own, outside any lock.
    groups = [g for g in groups if g[0] != services._START_ATTEMPT]
    writing = [g for g in groups if any(WRITE.search(s) and not s.startswith(("SAVEPOINT", "RELEASE")) for s in g)]
    assert len(writing) == expected, writing
    for statements in writing:
        assert LOCK.search(statements[0]), statements[0]
        assert sum(bool(LOCK.search(s)) for s in statements) == 1  # one lock, taken once


def test_a_credit_locks_the_merchant_before_it_posts(make_merchant):
    merchant = make_merchant()

    with transactions() as groups:
        merchants.merchant_credit(merchant_id=merchant.id, amount_paise=500, description="invoice")

    assert_locked_before_any_write(groups, expected=1)


def test_a_payout_request_locks_the_merchant_before_it_writes(make_merchant):
    merchant = make_merchant(credit_paise=10_000)

    with transactions() as groups:
        services.payout_create(
            merchant_id=merchant.id,
            bank_account_id=merchant.bank_account_id,
            amount_paise=1_000,
            idempotency_key=uuid.uuid4(),
            fingerprint=request_fingerprint({}),
        )

    assert_locked_before_any_write(groups, expected=1)
    # The hot path: the lock, the key's record, one statement that writes everything.
    assert len(groups[0]) == 3


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_finishing_a_payout_locks_the_merchant_before_it_writes(make_merchant, outcome):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)

    with transactions() as groups:
        services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome=outcome))

    # Starting the attempt changes no balance: a guarded UPDATE outside any lock (not counted).
    assert_locked_before_any_write(groups, expected=1)


def test_a_retry_and_a_cancellation_lock_the_merchant_before_they_write(make_merchant, settings):
    settings.PAYOUT_MAX_ATTEMPTS = 2
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    hang = bank.SimulatedBank(outcome="hang")

    with transactions() as groups:
        first = services.payout_process(payout_id=payout_id, gateway=hang)
        retry = services.payout_check_attempt(
            payout_id=payout_id, attempt=1, gateway=hang, now=first.at + timedelta(milliseconds=1)
        )
        second = services.payout_process(payout_id=payout_id, gateway=hang, now=retry.at)
        cancel = services.payout_check_attempt(
            payout_id=payout_id, attempt=2, gateway=hang, now=second.at + timedelta(milliseconds=1)
        )
        services.payout_cancel(payout_id=payout_id, gateway=hang, now=cancel.at)

    assert Payout.objects.get(pk=payout_id).status == "failed"
    assert_locked_before_any_write(groups, expected=3)  # the retry, the cancellation request, the failure


def test_the_lock_needs_a_transaction(make_merchant):
    merchant = make_merchant()

    with pytest.raises(AssertionError, match="needs an open transaction"):
        merchant_lock(merchant_id=merchant.id)
    with pytest.raises(AssertionError, match="needs an open transaction"):
        merchant_lock_for_payout(merchant_id=merchant.id)


def test_the_payout_lock_returns_the_balance_an_unused_id_and_the_database_time(make_merchant):
    merchant = make_merchant(credit_paise=7_000)
    existing = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)

    with transaction.atomic():
        available, payout_id, now = merchant_lock_for_payout(merchant_id=merchant.id)
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            assert cursor.fetchone()[0] == now  # the transaction's time

    assert available == 6_000
    assert payout_id > existing
    with pytest.raises(Merchant.DoesNotExist), transaction.atomic():
        merchant_lock_for_payout(merchant_id=merchant.id + 1000)
