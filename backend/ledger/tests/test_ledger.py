"""The ledger's postings and its audit (the invariants are stated in ledger/audit.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from bank import gateway as bank
from conftest import balance, manage, payout_new
from ledger.audit import invariants, ledger_audit
from ledger.models import LedgerEntry
from ledger.postings import ledger_payment_credit
from merchants.locks import merchant_lock
from payouts import services
from payouts.models import Payout

BACKEND = Path(__file__).resolve().parents[2]


def test_a_payment_credit_adds_exactly_its_amount_to_the_available_balance(make_merchant):
    merchant = make_merchant(credit_paise=1_000)

    with transaction.atomic():
        merchant_lock(merchant_id=merchant.id)
        entry = ledger_payment_credit(
            merchant_id=merchant.id, amount_paise=234, description="invoice 7", now=timezone.now()
        )

    assert (entry.kind, entry.amount_paise, entry.payout_id) == ("payment", 234, None)
    assert balance(merchant) == (1_234, 0)


def test_a_posting_outside_a_transaction_is_refused(make_merchant):
    merchant = make_merchant()

    with pytest.raises(AssertionError, match="inside the caller's transaction"):
        ledger_payment_credit(merchant_id=merchant.id, amount_paise=1, description="x", now=timezone.now())

    assert LedgerEntry.objects.count() == 0


def test_a_payout_is_held_by_one_debit_and_a_failed_one_returned_by_one_reversal(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=6_000)
    reference = Payout.objects.get(pk=payout_id).reference
    assert balance(merchant) == (4_000, 6_000)

    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="failure"))

    postings = list(LedgerEntry.objects.filter(payout_id=payout_id).order_by("id").values_list("kind", "amount_paise"))
    assert postings == [("payout", -6_000), ("reversal", 6_000)]
    descriptions = list(LedgerEntry.objects.filter(payout_id=payout_id).order_by("id").values_list("description"))
    assert descriptions == [(f"Payout {reference}",), (f"Payout {reference} failed; funds returned",)]
    assert balance(merchant) == (10_000, 0)


def test_the_audit_of_clean_books_counts_everything_and_finds_nothing(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    make_merchant(credit_paise=500)
    paid = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=2_000)
    services.payout_process(payout_id=paid, gateway=bank.SimulatedBank(outcome="success"))

    audit = ledger_audit()

    assert (audit.merchants, audit.entries, audit.payouts, audit.violations) == (2, 4, 2, [])


def test_the_audit_names_the_invariant_a_disabled_trigger_breaks(make_merchant, owner_sql):
    make_merchant(credit_paise=10_000)
    owner_sql("ALTER TABLE ledger_ledgerentry DISABLE TRIGGER ledger_entry_append_only")
    try:
        violations = ledger_audit().violations
    finally:
        owner_sql("ALTER TABLE ledger_ledgerentry ENABLE TRIGGER ledger_entry_append_only")

    assert violations == ["trigger ledger_entry_append_only on ledger_ledgerentry is missing or disabled (invariant 5)"]


def test_nothing_but_the_ledgers_postings_writes_ledger_entries():
    writers = re.compile(r"INSERT INTO ledger_ledgerentry|LedgerEntry\.objects\.(create|bulk_create|update)")
    found = sorted(
        str(path.relative_to(BACKEND))
        for path in BACKEND.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts and writers.search(path.read_text())
    )

    assert found == ["ledger/postings.py"]


def test_the_invariants_are_stated_once_and_check_ledger_prints_them(make_merchant):
    stated = invariants()
    assert [line[:3] for line in stated] == ["1. ", "2. ", "3. ", "4. ", "5. ", "6. "]
    assert stated[5] == "6. The bank agrees (payouts.reconciliation.bank_reconcile, run by check_ledger too)."

    result = manage("check_ledger")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:7] == [f"  {line}" for line in stated]
