"""Money in: a customer payment credits once per reference (CONTRACT §7), through the service,
the database's own rules, and ``manage.py credit_merchant``."""

from __future__ import annotations

import json
import threading
from io import StringIO

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from common.errors import BalanceLimitExceeded, InvalidAmount, InvalidField, InvalidMerchant, PaymentReferenceConflict
from conftest import balance, count, manage
from ledger.models import LedgerEntry
from merchants import services
from merchants.models import PaymentCredit, SecurityEvent
from webhooks.models import Event


def _state(merchant) -> tuple:
    """Everything a credit could change: balances and the rows of every table it writes."""
    return (
        balance(merchant),
        count("ledger_ledgerentry"),
        count("merchants_paymentcredit"),
        count("webhooks_event"),
        count("merchants_securityevent"),
    )


def test_a_payment_credits_once_with_its_entry_its_event_and_its_security_event(make_merchant):
    merchant = make_merchant()

    credit = services.payment_credit(
        merchant_id=merchant.id, amount_paise=12_345, reference="upi:TXN/0001", description="Order 77"
    )

    assert credit.created is True
    payment = PaymentCredit.objects.get()
    assert (payment.merchant_id, payment.amount_paise, payment.reference, payment.description) == (
        merchant.id,
        12_345,
        "upi:TXN/0001",
        "Order 77",
    )
    entry = LedgerEntry.objects.get()
    assert (entry.id, entry.kind, entry.amount_paise, entry.description) == (
        payment.ledger_entry_id,
        "payment",
        12_345,
        "Order 77",
    )
    assert balance(merchant) == (12_345, 0)
    event = Event.objects.get(merchant_id=merchant.id)
    data = json.loads(event.data) if isinstance(event.data, str) else event.data
    assert (event.type, data["id"], data["amount_paise"]) == ("payment.credited", entry.id, 12_345)
    security = SecurityEvent.objects.get(merchant_id=merchant.id, kind="payment_credited")
    assert security.description == "Customer payment upi:TXN/0001 of 12345 paise credited"


def test_a_known_reference_with_the_same_merchant_and_amount_returns_the_first_credit_and_changes_nothing(
    make_merchant,
):
    merchant = make_merchant()
    first = services.payment_credit(merchant_id=merchant.id, amount_paise=5_000, reference="col-1")
    before = _state(merchant)

    again = services.payment_credit(
        merchant_id=merchant.id, amount_paise=5_000, reference="col-1", description="another label"
    )

    assert again.created is False
    assert again.payment.id == first.payment.id
    assert again.payment.description == "Customer payment col-1"
    assert _state(merchant) == before == ((5_000, 0), 1, 1, 1, 1)


@pytest.mark.parametrize("other", ["merchant", "amount"])
def test_a_known_reference_with_another_merchant_or_amount_is_a_conflict_and_changes_nothing(make_merchant, other):
    merchant, stranger = make_merchant(), make_merchant()
    services.payment_credit(merchant_id=merchant.id, amount_paise=5_000, reference="col-2")
    before, before_stranger = _state(merchant), balance(stranger)

    with pytest.raises(PaymentReferenceConflict):
        services.payment_credit(
            merchant_id=stranger.id if other == "merchant" else merchant.id,
            amount_paise=5_000 if other == "merchant" else 5_001,
            reference="col-2",
        )

    assert _state(merchant) == before
    assert balance(stranger) == before_stranger == (0, 0)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("amount_paise", 0, InvalidAmount),
        ("amount_paise", -1, InvalidAmount),
        ("amount_paise", 2**63, InvalidAmount),
        ("amount_paise", 1.0, InvalidAmount),
        ("amount_paise", True, InvalidAmount),
        ("reference", "", InvalidField),
        ("reference", "a" * 65, InvalidField),
        ("reference", "has space", InvalidField),
        ("reference", "café", InvalidField),
        ("reference", "line\n", InvalidField),
        ("reference", 7, InvalidField),
        ("description", "", InvalidField),
        ("description", "x" * 201, InvalidField),
        ("description", "nul\x00", InvalidField),
        ("description", "\ud800", InvalidField),
        ("merchant_id", 999_999_999, InvalidMerchant),
        ("merchant_id", 0, InvalidMerchant),
        ("merchant_id", "1", InvalidMerchant),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(make_merchant, field, value, error):
    merchant = make_merchant()
    arguments = {"merchant_id": merchant.id, "amount_paise": 100, "reference": "ok-1", "description": "d"}
    arguments[field] = value
    before = _state(merchant)

    with pytest.raises(error) as refused:
        services.payment_credit(**arguments)

    assert refused.value.field == field
    assert _state(merchant) == before == ((0, 0), 0, 0, 0, 0)


def test_the_longest_reference_and_the_largest_amount_are_accepted(make_merchant):
    merchant = make_merchant()
    reference = "A-z_0.9:/" * 7 + "x"

    credit = services.payment_credit(merchant_id=merchant.id, amount_paise=2**63 - 1, reference=reference[:64])

    assert credit.payment.reference == reference[:64]
    assert balance(merchant) == (2**63 - 1, 0)
    # One more paisa would not fit in the balance: refused, nothing changes.
    with pytest.raises(BalanceLimitExceeded):
        services.payment_credit(merchant_id=merchant.id, amount_paise=1, reference="one-more")
    assert balance(merchant) == (2**63 - 1, 0)
    assert count("merchants_paymentcredit") == 1


def _at_once(n: int, call) -> list:
    """Run call(i) in n threads released together; each thread's result or exception, in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_credits_of_one_reference_credit_exactly_once(make_merchant):
    merchant = make_merchant()

    results = _at_once(
        8, lambda i: services.payment_credit(merchant_id=merchant.id, amount_paise=7_000, reference="same-payment")
    )

    assert all(isinstance(r, services.Credit) for r in results), results
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    assert len({r.payment.id for r in results}) == 1
    assert _state(merchant) == ((7_000, 0), 1, 1, 1, 1)


def test_concurrent_credits_of_one_reference_to_two_merchants_credit_one_and_refuse_the_other(make_merchant):
    first, second = make_merchant(), make_merchant()
    merchants = [first, second] * 4

    results = _at_once(
        8, lambda i: services.payment_credit(merchant_id=merchants[i].id, amount_paise=900, reference="contested")
    )

    winner = PaymentCredit.objects.get(reference="contested").merchant_id
    for merchant, result in zip(merchants, results, strict=True):
        if merchant.id == winner:
            assert isinstance(result, services.Credit), result
        else:
            assert isinstance(result, PaymentReferenceConflict), result
    assert sorted([balance(first), balance(second)]) == [(0, 0), (900, 0)]
    assert count("ledger_ledgerentry") == count("merchants_paymentcredit") == 1


def test_merchant_credit_gives_every_payment_a_reference_of_its_own(make_merchant):
    merchant = make_merchant()

    entry_ids = [
        services.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="opening") for _ in range(2)
    ]

    references = list(PaymentCredit.objects.order_by("id").values_list("ledger_entry_id", "reference"))
    assert [entry for entry, _ in references] == entry_ids
    assert all(reference.startswith("credit_") and len(reference) == 39 for _, reference in references)
    assert balance(merchant) == (200, 0)


# --- what the database refuses -------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE merchants_paymentcredit SET description = 'changed'",
        "UPDATE merchants_paymentcredit SET amount_paise = amount_paise + 1",
        "DELETE FROM merchants_paymentcredit",
        "TRUNCATE merchants_paymentcredit CASCADE",
    ],
)
def test_the_database_refuses_to_change_or_remove_a_credit_even_for_the_owner(make_merchant, owner_sql, statement):
    merchant = make_merchant()
    services.payment_credit(merchant_id=merchant.id, amount_paise=300, reference="kept")

    with pytest.raises(psycopg2.Error) as refused:
        owner_sql(statement)

    assert refused.value.pgcode == "23001"  # restrict_violation
    assert list(PaymentCredit.objects.values_list("reference", "amount_paise", "description")) == [
        ("kept", 300, "Customer payment kept")
    ]


def test_the_database_refuses_a_second_credit_for_a_reference_and_one_that_is_not_its_entry(make_merchant, owner_sql):
    merchant, other = make_merchant(), make_merchant()
    credit = services.payment_credit(merchant_id=merchant.id, amount_paise=300, reference="unique-ref")
    entry_id = credit.payment.ledger_entry_id
    insert = (
        "INSERT INTO merchants_paymentcredit (merchant_id, reference, amount_paise, description, ledger_entry_id,"
        " created_at) VALUES (%s, %s, %s, 'x', %s, now())"
    )

    with pytest.raises(psycopg2.errors.UniqueViolation):
        owner_sql(insert, [merchant.id, "unique-ref", 300, entry_id])
    services.payment_credit(merchant_id=other.id, amount_paise=50, reference="other-ref")
    other_entry = LedgerEntry.objects.get(merchant_id=other.id).id
    for merchant_id, amount in ((merchant.id, 50), (other.id, 51)):  # someone else's entry; another amount
        with pytest.raises(psycopg2.Error) as refused:
            owner_sql(insert, [merchant_id, "fresh-ref", amount, other_entry])
        assert refused.value.pgcode in ("23000", "23505")
    with pytest.raises(psycopg2.errors.CheckViolation):
        owner_sql(insert, [other.id, "bad ref", 50, other_entry])
    assert count("merchants_paymentcredit") == 2


# --- manage.py credit_merchant -------------------------------------------------------------


def _credit_command(*args: str) -> dict:
    out = StringIO()
    call_command("credit_merchant", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_command_credits_once_and_prints_the_first_credit_again(make_merchant):
    merchant = make_merchant()
    args = ("--merchant", str(merchant.id), "--amount-paise", "250000", "--reference", "neft/UTR123")

    first = _credit_command(*args, "--description", "Invoice 12")
    before = _state(merchant)
    again = _credit_command(*args)

    payment = PaymentCredit.objects.get()
    assert first == {
        "id": payment.id,
        "merchant_id": merchant.id,
        "amount_paise": 250_000,
        "reference": "neft/UTR123",
        "description": "Invoice 12",
        "ledger_entry_id": payment.ledger_entry_id,
        "created_at": first["created_at"],
        "created": True,
    }
    assert again == first | {"created": False}
    assert _state(merchant) == before == ((250_000, 0), 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--amount-paise", "0"), "--amount-paise: amount_paise must be a positive integer"),
        (("--reference", "no spaces"), "--reference: reference must be 1 to 64"),
        (("--merchant", "999999999"), "--merchant: merchant_id must be the id of an existing merchant"),
        (("--amount-paise", "501"), "--reference: This reference was already credited"),
    ],
)
def test_the_command_refuses_bad_input_and_a_conflict_with_a_message_and_changes_nothing(make_merchant, args, message):
    merchant = make_merchant()
    services.payment_credit(merchant_id=merchant.id, amount_paise=500, reference="ref-9")
    given = {"--merchant": str(merchant.id), "--amount-paise": "500", "--reference": "ref-9"}
    given |= dict(zip(args[::2], args[1::2], strict=True))
    before = _state(merchant)

    with pytest.raises(CommandError) as refused:
        call_command("credit_merchant", *[part for pair in given.items() for part in pair], stdout=StringIO())

    assert str(refused.value).startswith(message)
    assert refused.value.returncode == 2
    assert _state(merchant) == before


def test_the_command_run_by_an_operator_credits_once_and_exits_2_on_a_conflict(make_merchant):
    merchant = make_merchant()
    args = ["credit_merchant", "--merchant", str(merchant.id), "--amount-paise", "4200", "--reference", "op-1"]

    first, second = manage(*args), manage(*args)
    conflict = manage(*args[:-3], "4300", "--reference", "op-1")
    not_a_number = manage(*args[:-3], "12.5", "--reference", "op-2")

    assert first.returncode == second.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"] is True
    assert json.loads(second.stdout) == json.loads(first.stdout) | {"created": False}
    assert conflict.returncode == 2 and "already credited" in conflict.stderr
    assert not_a_number.returncode == 2 and "--amount-paise" in not_a_number.stderr
    assert balance(merchant) == (4_200, 0)
    checked = manage("check_ledger")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all invariants hold" in checked.stdout
