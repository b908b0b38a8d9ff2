# ruff: noqa: F811  (the fixtures of test_accounts, imported, are parameters here)
"""Bank accounts over HTTP (CONTRACT §7): added by the signed-in owner, verified by the bank, deactivated.

Attacker first: an API key, a developer, a viewer, a request without the
CSRF token and another merchant's owner all fail to add or deactivate an
account, and change nothing.
"""

from __future__ import annotations

import uuid

import psycopg2
import pytest
from django.db import connection

from api.tests.test_accounts import PASSWORD, browser, shop  # noqa: F401  (fixtures)
from bank import gateway as bank
from conftest import count, owner_connect
from merchants import accounts, services
from merchants.account_numbers import account_number_decrypt
from merchants.models import BankAccount, SecurityEvent
from payouts import tasks

NEW = {"holder_name": "Asha  Rao ", "ifsc": "SBIN0001234", "account_number": "918273645546"}


@pytest.fixture
def owner(browser, shop):
    client = browser()
    assert client.login(shop.emails["owner"]).status == 200
    return client


def verify_all() -> None:
    """What the worker does after the add commits: ask the (simulated) bank about every pending account."""
    for account_id in BankAccount.objects.filter(status="pending_verification").values_list("id", flat=True):
        tasks.bank_account_verify_task.call_local(account_id)


def test_the_owner_adds_an_account_it_starts_pending_and_the_bank_verifies_it(owner, shop):
    reply = owner.post("/bank-accounts", NEW)

    assert reply.status == 201, reply.text
    body = reply.json
    account = BankAccount.objects.get(pk=body["id"])
    assert body == {
        "id": account.id,
        "holder_name": "Asha Rao",
        "ifsc": "SBIN0001234",
        "account_last4": "5546",
        "status": "pending_verification",
        "registered_name": None,
        "rejection_reason": None,
        "created_at": body["created_at"],
    }
    assert account.merchant_id == shop.id
    assert account_number_decrypt(account.account_number_encrypted) == "918273645546"

    verify_all()

    shown = owner.get(f"/bank-accounts/{account.id}").json
    assert (shown["status"], shown["registered_name"], shown["rejection_reason"]) == ("verified", "ASHA RAO", None)
    listed = owner.get("/bank-accounts").json
    assert [a["id"] for a in listed] == [shop.bank_account_id, account.id]
    assert [a["status"] for a in listed] == ["verified", "verified"]
    kinds = list(
        SecurityEvent.objects.filter(merchant_id=shop.id, kind__startswith="bank_account")
        .order_by("id")
        .values_list("kind", "user__email")
    )
    assert kinds == [("bank_account_added", shop.emails["owner"]), ("bank_account_verified", None)]


@pytest.mark.parametrize("caller", ["api_key", "developer", "viewer", "no_csrf", "anonymous"])
def test_nobody_but_the_signed_in_owner_adds_or_deactivates_an_account(browser, shop, caller):
    client = browser(api_key=shop.api_key) if caller == "api_key" else browser()
    if caller in ("developer", "viewer"):
        assert client.login(shop.emails[caller]).status == 200
    if caller == "no_csrf":
        assert client.login(shop.emails["owner"]).status == 200
    csrf = caller != "no_csrf"
    accounts_before, events_before = count("merchants_bankaccount"), count("merchants_securityevent")

    added = client.request("POST", "/bank-accounts", NEW, csrf=csrf)
    removed = client.request("DELETE", f"/bank-accounts/{shop.bank_account_id}", csrf=csrf)

    expected = 401 if caller == "anonymous" else 403
    assert (added.status, removed.status) == (expected, expected), (added.text, removed.text)
    if caller != "anonymous":
        assert added.code == removed.code == "forbidden"
    assert count("merchants_bankaccount") == accounts_before
    assert count("merchants_securityevent") == events_before
    assert BankAccount.objects.get(pk=shop.bank_account_id).status == "verified"
    # Reads are open to every caller of the merchant.
    if caller not in ("anonymous",):
        assert client.get(f"/bank-accounts/{shop.bank_account_id}").status == 200


def test_another_merchants_account_is_404_to_read_and_to_deactivate(owner, make_merchant):
    other = make_merchant()

    assert owner.get(f"/bank-accounts/{other.bank_account_id}").code == "not_found"
    reply = owner.request("DELETE", f"/bank-accounts/{other.bank_account_id}")
    assert (reply.status, reply.code) == (404, "not_found")
    assert BankAccount.objects.get(pk=other.bank_account_id).status == "verified"
    assert other.bank_account_id not in [a["id"] for a in owner.get("/bank-accounts").json]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"holder_name": ""}, "holder_name"),
        ({"holder_name": "   "}, "holder_name"),
        ({"holder_name": "x" * 201}, "holder_name"),
        ({"holder_name": None}, "holder_name"),
        ({"holder_name": "Asha\x00Rao"}, "holder_name"),
        ({"holder_name": "Asha\x85Rao"}, "holder_name"),
        ({"ifsc": "sbin0001234"}, "ifsc"),
        ({"ifsc": " SBIN0001234"}, "ifsc"),
        ({"account_number": " 123456789012"}, "account_number"),
        ({"account_number": "١٢٣٤٥٦٧٨٩٠١٢"}, "account_number"),
        ({"ifsc": "SBIN1001234"}, "ifsc"),
        ({"ifsc": "SBI00001234"}, "ifsc"),
        ({"ifsc": "SBIN000123"}, "ifsc"),
        ({"ifsc": 1234}, "ifsc"),
        ({"account_number": "12345678"}, "account_number"),
        ({"account_number": "1234567890123456789"}, "account_number"),
        ({"account_number": "12345678901a"}, "account_number"),
        ({"account_number": 123456789012}, "account_number"),
        ({"account_number": None}, "account_number"),
    ],
)
def test_bad_details_are_400_naming_the_field_and_change_nothing(owner, change, field):
    before = count("merchants_bankaccount")

    reply = owner.post("/bank-accounts", NEW | change)

    assert (reply.status, reply.code, reply.json["error"]["field"]) == (400, "invalid_bank_account_details", field)
    assert count("merchants_bankaccount") == before


def test_a_body_that_is_not_an_object_is_invalid_body(owner):
    reply = owner.post("/bank-accounts", ["SBIN0001234"])
    assert (reply.status, reply.code) == (400, "invalid_body")


def test_deactivation_is_idempotent_recorded_once_and_stops_new_payouts(owner, shop):
    first = owner.request("DELETE", f"/bank-accounts/{shop.bank_account_id}")
    again = owner.request("DELETE", f"/bank-accounts/{shop.bank_account_id}")

    assert (first.status, again.status) == (200, 200)
    assert first.json == again.json
    assert first.json["status"] == "deactivated"
    assert count("merchants_securityevent", "kind = 'bank_account_deactivated'") == 1
    payouts_before = count("payouts_payout")
    reply = owner.payout(shop.bank_account_id)
    assert (reply.status, reply.code) == (400, "invalid_bank_account")
    assert reply.json["error"]["message"] == ("This bank account is deactivated; payouts go to verified accounts only.")
    assert count("payouts_payout") == payouts_before


def test_payouts_go_to_verified_accounts_only_and_the_error_says_why(owner, shop, settings):
    pending = owner.post("/bank-accounts", NEW).json["id"]
    rejected = owner.post("/bank-accounts", NEW | {"account_number": bank.SANDBOX_ACCOUNT_CLOSED}).json["id"]
    tasks.bank_account_verify_task.call_local(rejected)
    shown = owner.get(f"/bank-accounts/{rejected}").json
    assert (shown["status"], shown["rejection_reason"]) == ("rejected", "account closed")
    payouts_before = count("payouts_payout")

    to_pending = owner.payout(pending)
    to_rejected = owner.payout(rejected)

    assert (to_pending.status, to_pending.code) == (400, "invalid_bank_account")
    assert "pending verification" in to_pending.json["error"]["message"]
    assert (to_rejected.status, to_rejected.code) == (400, "invalid_bank_account")
    assert "rejected by the bank" in to_rejected.json["error"]["message"]
    assert count("payouts_payout") == payouts_before
    # A rejected account takes no payouts already: deactivating it keeps what the bank said, and records nothing.
    reply = owner.request("DELETE", f"/bank-accounts/{rejected}")
    assert (reply.status, reply.json["status"], reply.json["rejection_reason"]) == (200, "rejected", "account closed")
    assert count("merchants_securityevent", "kind = 'bank_account_deactivated'") == 0
    # Verified: the payout goes.
    tasks.bank_account_verify_task.call_local(pending)
    assert owner.payout(pending).status == 201


def test_a_payout_in_flight_when_its_account_is_deactivated_still_completes(owner, shop, settings):
    settings.BANK_SIMULATOR_OUTCOME = "success"
    payout = owner.payout(shop.bank_account_id, amount=700).json
    assert owner.request("DELETE", f"/bank-accounts/{shop.bank_account_id}").status == 200

    tasks.payout_process_task.call_local(payout["id"])

    assert owner.get(f"/payouts/{payout['id']}").json["status"] == "completed"


def test_an_api_key_reads_the_accounts_with_their_status(shop):
    reply = shop.api.get("/bank-accounts")
    assert reply.status == 200
    assert [(a["id"], a["status"], a["account_last4"]) for a in reply.json] == [
        (shop.bank_account_id, "verified", "9012")
    ]


# --- what the database itself keeps ----------------------------------------------------------


def test_no_account_number_is_in_the_table_in_clear(owner, shop):
    owner.post("/bank-accounts", NEW)
    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM merchants_bankaccount AS t")
        rows = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'merchants_bankaccount' AND column_name = 'account_number'"
        )
        assert cursor.fetchall() == []
    assert len(rows) == 2
    for number in ("918273645546", "123456789012"):  # the new account's and the factory's
        assert not any(number in row for row in rows)
        assert not any(number[:9] in row for row in rows)


def _as_owner(statement: str, params=()) -> None:
    conn = owner_connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("start", "statement"),
    [
        ("verified", "UPDATE merchants_bankaccount SET status = 'pending_verification' WHERE id = %s"),
        ("verified", "UPDATE merchants_bankaccount SET status = 'rejected', rejection_reason = 'x' WHERE id = %s"),
        ("deactivated", "UPDATE merchants_bankaccount SET status = 'verified', deactivated_at = NULL WHERE id = %s"),
        ("rejected", "UPDATE merchants_bankaccount SET status = 'verified', registered_name = 'X' WHERE id = %s"),
        ("rejected", "UPDATE merchants_bankaccount SET status = 'deactivated', deactivated_at = now() WHERE id = %s"),
        ("verified", "UPDATE merchants_bankaccount SET account_last4 = '0000' WHERE id = %s"),
        ("verified", "UPDATE merchants_bankaccount SET registered_name = 'SOMEONE ELSE' WHERE id = %s"),
        ("verified", "DELETE FROM merchants_bankaccount WHERE id = %s"),
        (
            "pending_verification",
            "UPDATE merchants_bankaccount SET status = 'verified', decided_at = now() WHERE id = %s",
        ),
        (
            "pending_verification",
            "UPDATE merchants_bankaccount SET status = 'rejected', decided_at = now() WHERE id = %s",
        ),
        (
            "pending_verification",
            "UPDATE merchants_bankaccount SET account_number_encrypted = '918273645546' WHERE id = %s",
        ),
    ],
)
def test_the_database_refuses_illegal_transitions_and_changes_even_from_the_tables_owner(shop, start, statement):
    account = accounts.bank_account_add(
        merchant_id=shop.id,
        holder_name="Asha Rao",
        ifsc="HDFC0000001",
        account_number=bank.SANDBOX_ACCOUNT_CLOSED if start == "rejected" else "918273645546",
        user_id=None,
        client_address=None,
    )
    if start != "pending_verification":
        tasks.bank_account_verify_task.call_local(account.id)
    if start == "deactivated":
        accounts.bank_account_deactivate(
            merchant_id=shop.id, bank_account_id=account.id, user_id=None, client_address=None
        )
    assert BankAccount.objects.get(pk=account.id).status == start
    before = BankAccount.objects.filter(pk=account.id).values().get()

    with pytest.raises(psycopg2.errors.CheckViolation):
        _as_owner(statement, [account.id])

    assert BankAccount.objects.filter(pk=account.id).values().get() == before


def test_the_database_refuses_a_payout_to_an_account_that_is_not_verified(shop):
    from conftest import payout_new

    account = accounts.bank_account_add(
        merchant_id=shop.id,
        holder_name="Asha Rao",
        ifsc="HDFC0000001",
        account_number="918273645546",
        user_id=None,
        client_address=None,
    )
    payouts_before = count("payouts_payout")

    # Straight to the service, past the API's check: the trigger refuses it.
    with pytest.raises(Exception) as refused:
        payout_new(merchant_id=shop.id, bank_account_id=account.id, amount_paise=100)

    assert type(refused.value).__name__ == "InvalidBankAccount"
    assert count("payouts_payout") == payouts_before


def test_seed_and_create_merchant_make_verified_accounts(transactional_db):
    created = services.merchant_create(
        name="Made by an operator",
        bank_accounts=[{"holder_name": "Ravi Kumar", "ifsc": "HDFC0000001", "account_number": "111122223333"}],
    )
    account = BankAccount.objects.get(pk=created.bank_account_ids[0])
    assert (account.status, account.registered_name, account.account_last4) == ("verified", "RAVI KUMAR", "3333")
    assert account_number_decrypt(account.account_number_encrypted) == "111122223333"


def test_a_retry_of_a_payout_made_before_the_deactivation_replays_it_and_a_new_key_is_refused(owner, shop):
    key = str(uuid.uuid4())
    body = {"amount_paise": 300, "bank_account_id": shop.bank_account_id}
    first = owner.post("/payouts", body, headers={"Idempotency-Key": key})
    assert first.status == 201
    assert owner.request("DELETE", f"/bank-accounts/{shop.bank_account_id}").status == 200

    again = owner.post("/payouts", body, headers={"Idempotency-Key": key})
    fresh = owner.post("/payouts", body, headers={"Idempotency-Key": str(uuid.uuid4())})

    assert (again.status, again.json, again.headers.get("idempotent-replayed")) == (201, first.json, "true")
    assert (fresh.status, fresh.code) == (400, "invalid_bank_account")
    assert count("payouts_payout", "merchant_id = %s", [shop.id]) == 2  # the shop's own and the first
    assert PASSWORD
