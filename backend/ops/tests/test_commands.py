"""The operators' commands (check_ledger, reconciliation_incidents), run as an operator runs them."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from bank import gateway as bank
from conftest import manage, owner_connect
from payouts import services
from payouts.models import Payout, ReconciliationIncident


def test_check_ledger_passes_on_a_consistent_ledger(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    merchant.api.create_payout(2_000, merchant.bank_account_id)

    result = manage("check_ledger")

    assert result.returncode == 0, result.stderr
    assert "checked 1 merchants, 2 ledger entries, 1 payouts" in result.stdout
    assert "all invariants hold" in result.stdout


def break_on_purpose(statement: str, params=()) -> None:
    """Write around every trigger, as only a superuser with replication powers can."""
    conn = owner_connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(statement, params)
    finally:
        conn.close()


def test_check_ledger_fails_when_a_balance_drifts_from_the_ledger(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    break_on_purpose("UPDATE merchants_merchant SET available_paise = available_paise + 1 WHERE id = %s", [merchant.id])

    result = manage("check_ledger")

    assert result.returncode != 0
    assert f"merchant {merchant.id}: available_paise 10001 != ledger sum 10000 (invariant 1)" in result.stderr


def test_check_ledger_fails_when_a_ledger_entry_was_deleted(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(2_000, merchant.bank_account_id).json["id"]
    break_on_purpose("DELETE FROM ledger_ledgerentry WHERE payout_id = %s", [payout_id])

    result = manage("check_ledger")

    assert result.returncode != 0
    assert f"payout {payout_id} of merchant {merchant.id} (pending): 0 debits" in result.stderr


def test_check_ledger_fails_when_held_funds_do_not_match_payouts(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    merchant.api.create_payout(2_000, merchant.bank_account_id)
    break_on_purpose("UPDATE merchants_merchant SET held_paise = 0 WHERE id = %s", [merchant.id])

    result = manage("check_ledger")

    assert result.returncode != 0
    assert "(invariant 2)" in result.stderr and "(invariant 3)" in result.stderr


def test_check_ledger_fails_when_the_append_only_trigger_is_disabled(make_merchant):
    make_merchant(credit_paise=10_000)
    break_on_purpose("ALTER TABLE ledger_ledgerentry DISABLE TRIGGER ledger_entry_append_only")
    try:
        result = manage("check_ledger")
    finally:
        break_on_purpose("ALTER TABLE ledger_ledgerentry ENABLE TRIGGER ledger_entry_append_only")

    assert result.returncode != 0
    assert "trigger ledger_entry_append_only on ledger_ledgerentry is missing or disabled" in result.stderr
    call_command("check_ledger")


def test_check_ledger_fails_when_a_failed_payout_was_settled_at_the_bank(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(6_000, merchant.bank_account_id).json["id"]
    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="failure"))
    reference = Payout.objects.get(pk=payout_id).reference
    break_on_purpose(  # the bank's books say it paid after all
        "UPDATE bank_simulatedtransfer SET state = 'settled', bank_reference = 'UTRLATE' WHERE reference = %s",
        [reference],
    )

    result = manage("check_ledger")

    assert result.returncode != 0
    assert (
        f"payout {payout_id} of merchant {merchant.id} ({reference}) failed and was refunded, "
        "but the bank settled it for 6000 paise (invariant 6)"
    ) in result.stderr
    assert ReconciliationIncident.objects.get().kind == "settled_after_failure"


@pytest.mark.parametrize(
    ("bank_state", "said"),
    [("'declined'", "the bank has declined"), ("'lost'", "the bank has lost"), (None, "the bank has no record")],
)
def test_check_ledger_fails_when_a_completed_payout_is_not_settled_at_the_bank(make_merchant, bank_state, said):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(6_000, merchant.bank_account_id).json["id"]
    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="success"))
    reference = Payout.objects.get(pk=payout_id).reference
    if bank_state is None:
        break_on_purpose("DELETE FROM bank_simulatedtransfer WHERE reference = %s", [reference])
    else:
        break_on_purpose(f"UPDATE bank_simulatedtransfer SET state = {bank_state} WHERE reference = %s", [reference])

    result = manage("check_ledger")

    assert result.returncode != 0
    assert f"payout {payout_id} of merchant {merchant.id} ({reference}) is completed but {said}" in result.stderr


def test_check_ledger_fails_when_the_bank_settled_another_amount_or_an_unknown_reference(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(6_000, merchant.bank_account_id).json["id"]
    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="success"))
    reference = Payout.objects.get(pk=payout_id).reference
    break_on_purpose("UPDATE bank_simulatedtransfer SET amount_paise = 6001 WHERE reference = %s", [reference])
    bank.SimulatedBank(outcome="success").send(
        reference="POSTRANGER", amount_paise=777, ifsc="HDFC0000001", account_number="123456789012"
    )

    result = manage("check_ledger")

    assert result.returncode != 0
    assert f"({reference}) completed for 6000 paise; the bank settled 6001 (invariant 6)" in result.stderr
    assert "the bank settled 777 paise for POSTRANGER, which is no payout of ours (invariant 6)" in result.stderr
    assert sorted(ReconciliationIncident.objects.values_list("kind", flat=True)) == [
        "amount_mismatch",
        "unknown_reference",
    ]


def test_reconciliation_incidents_lists_them(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(6_000, merchant.bank_account_id).json["id"]
    services.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="failure"))
    services.payout_apply_answer(payout_id=payout_id, answer=bank.Answer(bank.SETTLED, amount_paise=6_000))

    result = manage("reconciliation_incidents", "--json")

    assert result.returncode == 0, result.stderr
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (row["kind"], row["payout_id"], row["merchant_id"]) == ("settled_after_failure", payout_id, merchant.id)
    assert row["reference"] == Payout.objects.get(pk=payout_id).reference
    assert manage("reconciliation_incidents").stdout.splitlines()[-1] == "1 reconciliation incident(s)"
