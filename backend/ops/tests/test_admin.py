"""The operators' console at /admin/: who gets in, what is read-only, and what the actions do.

Over HTTP with Django's test client, as the application's database role (the
conftest), DEBUG off as in production unless a test turns it on. TOTP codes
are computed here from the device's key, as an authenticator app does.
"""

from __future__ import annotations

import base64
import json
import re
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import count
from ledger.models import LedgerEntry
from merchants import services as merchants
from merchants.models import ApiKey, BankAccount, PaymentCredit, SecurityEvent, User
from payouts.models import Payout
from payouts.reconciliation import incident_record
from webhooks import services as webhooks
from webhooks.models import Delivery, Endpoint, Event

PASSWORD = "operator-password-1"

pytestmark = pytest.mark.django_db(transaction=True)


def staff_new(email: str = "ops@example.com", *, superuser: bool = True) -> User:
    if superuser:
        return User.objects.create_superuser(email, PASSWORD)
    return User.objects.create_user(email, PASSWORD, is_staff=True)


def enroll(user: User) -> TOTPDevice:
    """``manage.py totp_enroll``; the printed otpauth:// URI carries the device's key."""
    out = StringIO()
    call_command("totp_enroll", "--email", user.email, stdout=out)
    uri = out.getvalue().strip()
    device = TOTPDevice.objects.get(user=user)
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    secret = parse_qs(parts.query)["secret"][0]
    assert base64.b32decode(secret) == device.bin_key
    return device


def code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client: Client, user: User, device: TOTPDevice | None, token: str | None = None):
    data = {"username": user.email, "password": PASSWORD, "next": "/admin/"}
    if device is not None:
        data |= {"otp_device": device.persistent_id, "otp_token": token or code(device)}
    return client.post("/admin/login/", data)


@pytest.fixture
def operator() -> Client:
    """A superuser signed in with a password and a TOTP code."""
    user = staff_new()
    device = enroll(user)
    client = Client()
    reply = sign_in(client, user, device)
    assert reply.status_code == 302 and reply["Location"] == "/admin/", reply.content[:2000]
    client.user = user  # type: ignore[attr-defined]
    return client


ADMIN_PAGES = ["/admin/", "/admin/payouts/payout/", "/admin/ledger/ledgerentry/", "/admin/merchants/merchant/"]


# --- who gets in ---------------------------------------------------------------------------------


def test_staff_without_a_verified_device_reaches_no_admin_page():
    user = staff_new()
    client = Client()
    # The password alone: the sign-in form asks for the code and signs nobody in.
    reply = sign_in(client, user, None)
    assert reply.status_code == 200
    assert "_auth_user_id" not in client.session
    # Signed in some other way (a session from elsewhere), yet not verified: still turned away.
    client.force_login(user)
    for page in ADMIN_PAGES:
        reply = client.get(page)
        assert reply.status_code == 302 and reply["Location"].startswith("/admin/login/"), page


def test_staff_with_a_wrong_or_old_code_is_refused():
    user = staff_new()
    device = enroll(user)
    client = Client()
    for token in ("000000" if code(device) != "000000" else "111111", code(device, offset_steps=-10)):
        reply = sign_in(client, user, device, token)
        assert reply.status_code == 200
        assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_staff_with_a_verified_code_gets_in(operator):
    for page in [*ADMIN_PAGES, "/admin/ops/payoutawaitingcancellation/", "/admin/payouts/reconciliationincident/"]:
        reply = operator.get(page)
        assert reply.status_code == 200, page
    session_cookie = operator.cookies["sessionid"]
    assert session_cookie["httponly"] and session_cookie["secure"] and session_cookie["samesite"] == "Lax"


def test_a_used_code_signs_in_once():
    user = staff_new()
    device = enroll(user)
    token = code(device)
    assert sign_in(Client(), user, device, token).status_code == 302
    replay = Client()
    assert sign_in(replay, user, device, token).status_code == 200
    assert replay.get("/admin/").status_code == 302


def test_a_merchant_user_never_enters(make_merchant, owner_sql):
    merchant = make_merchant()
    new = merchants.user_create(merchant_id=merchant.id, email="owner@m.example", role="owner", password=PASSWORD)
    user = User.objects.get(pk=new.id)
    client = Client()
    assert sign_in(client, user, None).status_code == 200
    assert "_auth_user_id" not in client.session
    # Nor can a row make them staff: the database refuses a merchant's user flagged staff.
    with pytest.raises(Exception, match="user_staff_has_no_merchant"):
        owner_sql("UPDATE merchants_user SET is_staff = true WHERE id = %s", [user.pk])
    assert User.objects.get(pk=user.pk).is_staff is False
    with pytest.raises(Exception, match="not staff"):
        call_command("totp_enroll", "--email", user.email, stdout=StringIO())


def test_failed_sign_ins_are_recorded_and_throttled_as_the_apis(settings):
    settings.LOGIN_MAX_FAILURES = 3
    user = staff_new()
    device = enroll(user)
    client = Client()
    # The right password without a code is the first step, not a failure.
    sign_in(client, user, None)
    assert count("merchants_securityevent") == 0
    for _ in range(3):
        reply = client.post("/admin/login/", {"username": user.email, "password": "wrong-password-1"})
        assert reply.status_code == 200
    assert count("merchants_securityevent", "kind = 'login_failed' AND email = %s", [user.email]) == 3
    # Now even the right password and code are not tried.
    reply = sign_in(client, user, device)
    assert reply.status_code == 429 and int(reply["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_with_debug_on_the_password_is_enough(settings):
    settings.DEBUG = True
    user = staff_new()
    client = Client()
    reply = sign_in(client, user, None)
    assert reply.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_csrf_is_enforced_on_admin_posts(make_merchant):
    merchant = make_merchant()
    user = staff_new()
    device = enroll(user)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/")
    token = page.cookies["csrftoken"].value
    reply = client.post(
        "/admin/login/",
        {
            "username": user.email,
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": code(device),
            "csrfmiddlewaretoken": token,
        },
    )
    assert reply.status_code == 302
    url = f"/admin/merchants/merchant/{merchant.id}/credit/"
    body = {"amount_paise": 500, "reference": "pay_csrf", "description": "csrf"}
    assert client.post(url, body).status_code == 403
    assert count("ledger_ledgerentry", "merchant_id = %s", [merchant.id]) == 0
    form = client.get(url)
    body["csrfmiddlewaretoken"] = form.cookies["csrftoken"].value if "csrftoken" in form.cookies else token
    assert client.post(url, body).status_code == 302
    assert count("ledger_ledgerentry", "merchant_id = %s", [merchant.id]) == 1


# --- money rows are read-only --------------------------------------------------------------------


@pytest.fixture
def money_rows(make_merchant, settings):
    """One row of each money table: (admin path, table, primary key)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(2_500, merchant.bank_account_id).json["id"]
    endpoint = webhooks.endpoint_create(merchant_id=merchant.id, url="https://localhost/hook").endpoint
    event = Event.objects.filter(merchant_id=merchant.id).order_by("id").first()
    [delivery_id] = webhooks.event_redeliver(
        merchant_id=merchant.id, event_public_id=event.public_id, endpoint_id=endpoint.pk
    )
    payout = Payout.objects.get(pk=payout_id)
    incident_record(kind="amount_mismatch", reference=payout.reference, detail="test", payout=payout)
    entry = LedgerEntry.objects.filter(merchant_id=merchant.id).order_by("id").first()
    return [
        ("ledger/ledgerentry", "ledger_ledgerentry", entry.pk),
        ("payouts/payout", "payouts_payout", payout_id),
        ("payouts/payoutevent", "payouts_payoutevent", payout.events.first().pk),
        ("webhooks/event", "webhooks_event", event.pk),
        ("webhooks/delivery", "webhooks_delivery", delivery_id),
        ("payouts/reconciliationincident", "payouts_reconciliationincident", payout.incidents.first().pk),
    ]


def test_money_rows_are_viewed_never_added_changed_or_deleted(operator, money_rows, owner_sql):
    for admin_path, table, pk in money_rows:
        before = owner_sql(f"SELECT * FROM {table} ORDER BY id")
        listing = operator.get(f"/admin/{admin_path}/")
        assert listing.status_code == 200, admin_path
        assert f"/admin/{admin_path}/add/" not in listing.content.decode()
        view = operator.get(f"/admin/{admin_path}/{pk}/change/")
        assert view.status_code == 200, admin_path
        assert view.context["adminform"].form.fields == {}, admin_path  # every field read-only
        assert b'name="_save"' not in view.content
        assert b'class="deletelink"' not in view.content
        assert operator.post(f"/admin/{admin_path}/{pk}/change/", {"id": pk}).status_code == 403, admin_path
        assert operator.post(f"/admin/{admin_path}/{pk}/delete/", {"post": "yes"}).status_code == 403, admin_path
        assert operator.get(f"/admin/{admin_path}/add/").status_code == 403, admin_path
        assert operator.post(f"/admin/{admin_path}/add/", {}).status_code == 403, admin_path
        bulk = operator.post(
            f"/admin/{admin_path}/", {"action": "delete_selected", "_selected_action": [pk], "post": "yes"}
        )
        assert bulk.status_code in (200, 302), admin_path
        assert owner_sql(f"SELECT * FROM {table} ORDER BY id") == before, admin_path
    assert count("django_admin_log") == 0


def test_lists_search_and_filter(operator, money_rows):
    payout_id = money_rows[1][2]
    payout = Payout.objects.get(pk=payout_id)
    found = operator.get("/admin/payouts/payout/", {"q": payout.reference})
    assert list(found.context["cl"].result_list) == [payout]
    assert list(operator.get("/admin/payouts/payout/", {"status__exact": "failed"}).context["cl"].result_list) == []
    kinds = operator.get("/admin/ledger/ledgerentry/", {"kind__exact": "payout"}).context["cl"].result_list
    assert [(e.kind, e.amount_paise) for e in kinds] == [("payout", -2_500)]


# --- operators' lists ------------------------------------------------------------------------------


def test_payouts_awaiting_cancellation_are_listed_with_their_wait(operator, make_merchant, owner_sql):
    merchant = make_merchant(credit_paise=10_000)
    waiting, moving = (merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"] for _ in range(2))
    owner_sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 3, cancel_requested_at = now() - interval"
        " '2 hours 5 minutes', next_cancel_at = now() + interval '10 seconds', cancel_requests = 4 WHERE id = %s",
        [waiting],
    )
    owner_sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 1, attempt_deadline = now() + interval"
        " '30 seconds' WHERE id = %s",
        [moving],
    )
    reply = operator.get("/admin/ops/payoutawaitingcancellation/")
    assert [p.pk for p in reply.context["cl"].result_list] == [waiting]
    assert re.search(r"2h 0[45]m", reply.content.decode())
    view = operator.get(f"/admin/ops/payoutawaitingcancellation/{waiting}/change/")
    assert view.status_code == 200 and view.context["adminform"].form.fields == {}


def test_incidents_are_listed_newest_first(operator):
    for n in range(3):
        incident_record(kind="settled_after_failure", reference=f"ref{n}", detail=f"incident {n}")
    reply = operator.get("/admin/payouts/reconciliationincident/")
    assert [i.reference for i in reply.context["cl"].result_list] == ["ref2", "ref1", "ref0"]


# --- actions: the API's services, recorded ----------------------------------------------------------


def _event_shape(event: Event) -> dict:
    data = json.loads(event.data)
    return {"type": event.type, "data": {k: v for k, v in data.items() if k not in ("id", "created_at")}}


def test_credit_writes_what_the_apis_credit_writes_and_is_recorded(operator, make_merchant):
    by_admin, by_service = make_merchant(), make_merchant()
    url = f"/admin/merchants/merchant/{by_admin.id}/credit/"
    assert operator.get(url).status_code == 200
    reply = operator.post(url, {"amount_paise": 123_456, "reference": "pay_0001", "description": "customer payment"})
    assert reply.status_code == 302 and reply["Location"] == f"/admin/merchants/merchant/{by_admin.id}/change/"
    merchants.merchant_credit(merchant_id=by_service.id, amount_paise=123_456, description="customer payment")

    def written(merchant_id):
        entries = list(
            LedgerEntry.objects.filter(merchant_id=merchant_id).values(
                "kind", "amount_paise", "description", "payout_id"
            )
        )
        events = [_event_shape(e) for e in Event.objects.filter(merchant_id=merchant_id)]
        return entries, events

    assert written(by_admin.id) == written(by_service.id)
    assert written(by_admin.id)[0] == [
        {"kind": "payment", "amount_paise": 123_456, "description": "customer payment", "payout_id": None}
    ]
    assert by_admin.api.balance() == (123_456, 0)
    entry = LedgerEntry.objects.get(merchant_id=by_admin.id)
    [log] = LogEntry.objects.filter(object_id=str(by_admin.id), content_type__model="merchant")
    assert log.user_id == operator.user.pk
    assert log.change_message == f"Credited 123456 paise by staff, reference 'pay_0001': ledger entry {entry.pk}"
    [security] = SecurityEvent.objects.filter(merchant_id=by_admin.id, kind="payment_credited")
    assert security.description == "Customer payment pay_0001 of 123456 paise credited by staff"
    assert security.user_id is None  # the merchant is not shown the operator's account
    credit = PaymentCredit.objects.get(reference="pay_0001")
    assert (credit.merchant_id, credit.amount_paise, credit.ledger_entry_id) == (by_admin.id, 123_456, entry.pk)


def test_a_credit_with_a_known_reference_changes_nothing_and_says_so(operator, make_merchant):
    merchant, other = make_merchant(), make_merchant()
    url = f"/admin/merchants/merchant/{merchant.id}/credit/"
    operator.post(url, {"amount_paise": 5_000, "reference": "upi:TXN0042", "description": "order 42"})
    before = (count("ledger_ledgerentry"), count("webhooks_event"), count("merchants_paymentcredit"))

    again = operator.post(
        url, {"amount_paise": 5_000, "reference": "upi:TXN0042", "description": "order 42"}, follow=True
    )
    elsewhere = operator.post(
        f"/admin/merchants/merchant/{other.id}/credit/",
        {"amount_paise": 5_000, "reference": "upi:TXN0042", "description": "order 42"},
    )

    assert "was already credited" in again.content.decode()
    assert elsewhere.status_code == 200 and "already credited with another merchant" in elsewhere.content.decode()
    assert (count("ledger_ledgerentry"), count("webhooks_event"), count("merchants_paymentcredit")) == before
    assert merchant.api.balance() == (5_000, 0) and other.api.balance() == (0, 0)


def test_credit_refuses_bad_amounts_and_changes_nothing(operator, make_merchant):
    merchant = make_merchant()
    url = f"/admin/merchants/merchant/{merchant.id}/credit/"
    for amount in ("0", "-5", "1.5", "x", str(2**63)):
        reply = operator.post(url, {"amount_paise": amount, "reference": "r", "description": "d"})
        assert reply.status_code == 200 and reply.context["form"].errors, amount
    assert count("ledger_ledgerentry") == 0 and count("webhooks_event") == 0 and count("django_admin_log") == 0


def test_staff_that_is_not_a_superuser_looks_but_does_not_act(make_merchant):
    merchant = make_merchant()
    user = staff_new("viewer@ops.example", superuser=False)
    device = enroll(user)
    client = Client()
    assert sign_in(client, user, device).status_code == 302
    assert client.get("/admin/payouts/payout/").status_code == 200
    assert b"Ledger entries" in client.get("/admin/").content
    reply = client.post(
        f"/admin/merchants/merchant/{merchant.id}/credit/", {"amount_paise": 5, "reference": "r", "description": "d"}
    )
    assert reply.status_code == 403
    assert count("ledger_ledgerentry") == 0


def test_revoke_a_key_makes_it_refused_over_http_and_is_recorded(operator, make_merchant):
    merchant = make_merchant()
    assert merchant.api.get("/balance").status == 200
    key = ApiKey.objects.get(merchant_id=merchant.id)
    reply = operator.post("/admin/merchants/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert reply.status_code == 302
    assert merchant.api.get("/balance").status == 401
    key.refresh_from_db()
    assert key.revoked_at is not None
    [log] = LogEntry.objects.filter(object_id=str(key.pk), content_type__model="apikey")
    assert log.change_message.startswith("Revoked by staff: API key")
    [security] = SecurityEvent.objects.filter(merchant_id=merchant.id, kind="api_key_revoked")
    assert security.description.endswith("revoked by staff") and security.api_key_id == key.pk


def test_disable_an_endpoint(operator, make_merchant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    merchant = make_merchant()
    endpoint = webhooks.endpoint_create(merchant_id=merchant.id, url="https://localhost/hook").endpoint
    reply = operator.post("/admin/webhooks/endpoint/", {"action": "disable", "_selected_action": [endpoint.pk]})
    assert reply.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "disabled by staff")
    [log] = LogEntry.objects.filter(object_id=str(endpoint.pk), content_type__model="endpoint")
    assert log.change_message == "Disabled by staff: https://localhost/hook"


def test_redeliver_an_event_makes_a_delivery(operator, make_merchant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    merchant = make_merchant(credit_paise=700)
    event = Event.objects.get(merchant_id=merchant.id)
    endpoint = webhooks.endpoint_create(merchant_id=merchant.id, url="https://localhost/hook").endpoint
    assert count("webhooks_delivery") == 0
    reply = operator.post("/admin/webhooks/event/", {"action": "redeliver", "_selected_action": [event.pk]})
    assert reply.status_code == 302
    [delivery] = Delivery.objects.all()
    assert (delivery.event_id, delivery.endpoint_id, delivery.status) == (event.pk, endpoint.pk, "pending")
    [log] = LogEntry.objects.filter(object_id=str(event.pk), content_type__model="event")
    assert log.change_message == f"Redelivered by staff to 1 endpoint(s): deliveries [{delivery.pk}]"


def test_deactivating_a_bank_account_goes_through_the_apis_service_and_is_recorded(operator, make_merchant):
    merchant = make_merchant()
    reply = operator.post(
        "/admin/merchants/bankaccount/",
        {"action": "deactivate", "_selected_action": [merchant.bank_account_id]},
        follow=True,
    )
    assert f"Bank account {merchant.bank_account_id} deactivated." in reply.content.decode()
    account = BankAccount.objects.get(pk=merchant.bank_account_id)
    assert account.status == "deactivated" and account.deactivated_at is not None
    [log] = LogEntry.objects.filter(object_id=str(account.pk), content_type__model="bankaccount")
    assert log.change_message == "Deactivated by staff"
    [security] = SecurityEvent.objects.filter(merchant_id=merchant.id, kind="bank_account_deactivated")
    assert security.user_id is None
    # The API sees it: no payout goes to it any more.
    refused = merchant.api.create_payout(100, merchant.bank_account_id)
    assert (refused.status, refused.error_code) == (400, "invalid_bank_account")


def test_accounts_are_listed_not_edited(operator, make_merchant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    merchant = make_merchant()
    webhooks.endpoint_create(merchant_id=merchant.id, url="https://localhost/hook")
    for admin_path in (
        "merchants/merchant",
        "merchants/user",
        "merchants/apikey",
        "merchants/bankaccount",
        "webhooks/endpoint",
    ):
        listing = operator.get(f"/admin/{admin_path}/")
        assert listing.status_code == 200, admin_path
        assert listing.context["cl"].result_count >= 1, admin_path
        obj = listing.context["cl"].result_list[0]
        view = operator.get(f"/admin/{admin_path}/{obj.pk}/change/")
        assert view.status_code == 200 and view.context["adminform"].form.fields == {}, admin_path
        assert operator.get(f"/admin/{admin_path}/add/").status_code == 403, admin_path
    page = operator.get(f"/admin/merchants/apikey/{ApiKey.objects.get(merchant_id=merchant.id).pk}/change/")
    assert b"key_hash" not in page.content
    endpoint_page = operator.get(f"/admin/webhooks/endpoint/{Endpoint.objects.get().pk}/change/").content
    assert b"secret_sealed" not in endpoint_page


def test_the_application_role_appends_to_the_admin_log_and_never_rewrites_it(operator, make_merchant):
    """The tests run as the application's role (conftest): the admin writes its log, sessions and devices with it."""
    merchant = make_merchant()
    url = f"/admin/merchants/merchant/{merchant.id}/credit/"
    assert operator.post(url, {"amount_paise": 5, "reference": "r", "description": "d"}).status_code == 302
    assert count("django_admin_log") == 1
    for statement in ("UPDATE django_admin_log SET change_message = 'x'", "DELETE FROM django_admin_log"):
        with (
            pytest.raises(ProgrammingError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert count("django_admin_log") == 1
