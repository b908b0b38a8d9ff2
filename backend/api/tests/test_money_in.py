"""Money in over HTTP (CONTRACT §7): POST /internal/payments with the collections system's token,
and POST /demo/payments for a signed-in owner in DEMO_MODE."""

from __future__ import annotations

import pytest

from api.tests.test_accounts import PASSWORD, Browser
from conftest import count, manage
from merchants import services
from merchants.models import Merchant, PaymentCredit, SecurityEvent, User

TOKEN = "internal-token-for-the-collections-system-0123456789"


@pytest.fixture
def browser(live_server, transactional_db):
    def new(**kwargs) -> Browser:
        host, port = live_server.url.removeprefix("http://").split(":")
        return Browser(host, int(port), **kwargs)

    return new


@pytest.fixture
def collections(browser, settings):
    """The collections system: the internal token set on the server, and sent."""
    settings.INTERNAL_API_TOKEN = TOKEN
    return browser(api_key=TOKEN)


@pytest.fixture
def shop(make_merchant):
    merchant = make_merchant(credit_paise=1_000)
    merchant.emails = {}
    for role in ("owner", "developer", "viewer"):
        email = f"{role}-{merchant.id}@shop.example"
        services.user_create(merchant_id=merchant.id, email=email, role=role, password=PASSWORD)
        merchant.emails[role] = email
    return merchant


def _state(merchant_id: int) -> tuple:
    """What a credit could change: the balance, and the rows of every table it writes."""
    return (
        _available(merchant_id),
        count("ledger_ledgerentry"),
        count("merchants_paymentcredit"),
        count("webhooks_event"),
        count("merchants_securityevent", "kind = 'payment_credited'"),
    )


def _available(merchant_id: int) -> int:
    return Merchant.objects.get(pk=merchant_id).available_paise


# --- POST /internal/payments ---------------------------------------------------------------


def test_the_internal_route_looks_absent_while_no_token_is_set(browser, shop, settings):
    settings.INTERNAL_API_TOKEN = ""
    body = {"merchant_id": shop.id, "amount_paise": 100, "reference": "r-1"}

    for client in (browser(), browser(api_key=shop.api_key), browser(api_key="")):
        reply = client.post("/internal/payments", body)
        assert reply.status == 404, reply.text
        assert reply.json == {
            "error": {"code": "not_found", "message": "No endpoint at /api/v1/internal/payments.", "field": None}
        }
    assert count("merchants_paymentcredit") == 1  # the opening credit only


def test_a_payment_is_credited_201_and_its_retry_is_200_with_the_same_body(collections, shop):
    body = {"merchant_id": shop.id, "amount_paise": 250_000, "reference": "upi/TXN:42", "description": "Order 42"}

    created = collections.post("/internal/payments", body)
    after_first = _state(shop.id)
    retried = collections.post("/internal/payments", body | {"description": "ignored"})

    assert created.status == 201, created.text
    payment = PaymentCredit.objects.get(reference="upi/TXN:42")
    assert created.json == {
        "id": payment.id,
        "merchant_id": shop.id,
        "amount_paise": 250_000,
        "reference": "upi/TXN:42",
        "description": "Order 42",
        "ledger_entry_id": payment.ledger_entry_id,
        "created_at": created.json["created_at"],
    }
    assert created.json == services.payment_credit_data(payment)
    assert retried.status == 200
    assert retried.text == created.text
    assert _state(shop.id) == after_first == (251_000, 2, 2, 2, 2)  # the opening credit's, and this one's
    assert browser_for(collections, shop.api_key).get("/balance").json["available_paise"] == 251_000
    ledger = browser_for(collections, shop.api_key).get("/ledger?limit=1").json["results"][0]
    assert (ledger["id"], ledger["kind"], ledger["amount_paise"], ledger["description"]) == (
        payment.ledger_entry_id,
        "payment",
        250_000,
        "Order 42",
    )
    event = SecurityEvent.objects.filter(kind="payment_credited").latest("id")
    assert (event.merchant_id, event.user_id, event.api_key_id) == (shop.id, None, None)
    assert event.description == "Customer payment upi/TXN:42 of 250000 paise credited"


def browser_for(client: Browser, api_key: str) -> Browser:
    return Browser(client.host, client.port, api_key=api_key)


def test_a_known_reference_for_another_merchant_or_amount_is_409_and_changes_nothing(collections, shop, make_merchant):
    stranger = make_merchant()
    assert (
        collections.post("/internal/payments", {"merchant_id": shop.id, "amount_paise": 700, "reference": "c-1"}).status
        == 201
    )
    before = (_state(shop.id), _available(stranger.id))

    for body in (
        {"merchant_id": stranger.id, "amount_paise": 700, "reference": "c-1"},
        {"merchant_id": shop.id, "amount_paise": 701, "reference": "c-1"},
    ):
        reply = collections.post("/internal/payments", body)
        assert reply.status == 409, reply.text
        assert reply.json["error"]["code"] == "payment_reference_conflict"
        assert reply.json["error"]["field"] == "reference"

    assert (_state(shop.id), _available(stranger.id)) == before


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"amount_paise": 0}, "invalid_amount", "amount_paise"),
        ({"amount_paise": "100"}, "invalid_amount", "amount_paise"),
        ({"amount_paise": 1.5}, "invalid_amount", "amount_paise"),
        ({"amount_paise": 2**63}, "invalid_amount", "amount_paise"),
        ({"amount_paise": None}, "invalid_amount", "amount_paise"),
        ({"reference": ""}, "invalid_field", "reference"),
        ({"reference": "a b"}, "invalid_field", "reference"),
        ({"reference": "r" * 65}, "invalid_field", "reference"),
        ({"reference": None}, "invalid_field", "reference"),
        ({"description": ""}, "invalid_field", "description"),
        ({"description": "\u0000"}, "invalid_field", "description"),
        ({"description": "d" * 201}, "invalid_field", "description"),
        ({"description": 5}, "invalid_field", "description"),
        ({"merchant_id": 999_999_999}, "invalid_merchant", "merchant_id"),
        ({"merchant_id": "1"}, "invalid_merchant", "merchant_id"),
        ({"merchant_id": True}, "invalid_merchant", "merchant_id"),
    ],
)
def test_bad_fields_are_400_naming_the_field_and_change_nothing(collections, shop, change, code, field):
    body = {"merchant_id": shop.id, "amount_paise": 100, "reference": "ok-ref", "description": "fine"} | change
    before = _state(shop.id)

    reply = collections.post("/internal/payments", body)

    assert reply.status == 400, reply.text
    assert (reply.json["error"]["code"], reply.json["error"]["field"]) == (code, field)
    assert _state(shop.id) == before


def test_a_body_that_is_not_an_object_is_400(collections, shop):
    before = _state(shop.id)

    replies = [collections.post("/internal/payments", body) for body in ([1], "x", 7)]

    assert [(r.status, r.json["error"]["code"]) for r in replies] == [(400, "invalid_body")] * 3
    assert _state(shop.id) == before


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer ", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "merchant key"],
)
def test_anything_but_the_token_is_401_and_changes_nothing(collections, shop, authorization):
    client = browser_for(collections, "")
    client.api_key = None
    headers = {}
    if authorization is not None:
        headers["Authorization"] = f"Bearer {shop.api_key}" if authorization == "merchant key" else authorization
    before = _state(shop.id)

    reply = client.post(
        "/internal/payments", {"merchant_id": shop.id, "amount_paise": 1, "reference": "x"}, headers=headers
    )

    assert reply.status == 401, reply.text
    assert reply.json["error"]["code"] == "unauthenticated"
    assert _state(shop.id) == before


def test_a_signed_in_owners_session_is_not_the_token(collections, shop):
    owner = browser_for(collections, "")
    owner.api_key = None
    assert owner.login(shop.emails["owner"]).status == 200
    before = _state(shop.id)

    reply = owner.post("/internal/payments", {"merchant_id": shop.id, "amount_paise": 1, "reference": "x"})

    assert reply.status == 401
    assert _state(shop.id) == before


def test_the_merchant_rate_limits_do_not_apply_to_the_collections_system(collections, shop, settings):
    settings.PAYOUT_RATE_LIMIT = settings.READ_RATE_LIMIT = settings.AUTH_FAILURE_RATE_LIMIT = "1/m"

    replies = [
        collections.post("/internal/payments", {"merchant_id": shop.id, "amount_paise": 10, "reference": f"rl-{n}"})
        for n in range(5)
    ]

    assert [r.status for r in replies] == [201] * 5
    assert all("ratelimit" not in r.headers for r in replies)
    assert _available(shop.id) == 1_050


def test_the_ledger_checks_clean_after_credits_and_retries(collections, shop):
    for n in range(3):
        for _ in range(2):
            collections.post(
                "/internal/payments", {"merchant_id": shop.id, "amount_paise": 100 + n, "reference": f"k-{n}"}
            )

    checked = manage("check_ledger")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all invariants hold" in checked.stdout
    assert _available(shop.id) == 1_000 + 100 + 101 + 102


# --- POST /demo/payments -------------------------------------------------------------------


def test_demo_payments_are_404_outside_demo_mode_even_for_the_owner(browser, shop):
    owner = browser()
    owner.login(shop.emails["owner"])

    reply = owner.post("/demo/payments", {"amount_paise": 100})

    assert reply.status == 404
    assert reply.json["error"]["code"] == "not_found"
    assert _available(shop.id) == 1_000


@pytest.mark.parametrize(
    ("caller", "status"),
    [("owner", 201), ("developer", 403), ("viewer", 403), ("api_key", 403), ("anonymous", 401)],
)
def test_only_a_signed_in_owner_may_simulate_a_payment(browser, shop, settings, caller, status):
    settings.DEMO_MODE = True
    client = browser(api_key=shop.api_key) if caller == "api_key" else browser()
    if caller in shop.emails:
        assert client.login(shop.emails[caller]).status == 200

    reply = client.post("/demo/payments", {"amount_paise": 12_345})

    assert reply.status == status, reply.text
    credited = 12_345 if status == 201 else 0
    assert _available(shop.id) == 1_000 + credited
    assert count("merchants_securityevent", "kind = 'payment_credited'") == (2 if credited else 1)
    if status == 201:
        payment = PaymentCredit.objects.get(reference=reply.json["reference"])
        assert reply.json == services.payment_credit_data(payment)
        assert payment.reference.startswith("demo_") and len(payment.reference) == 37
        assert (payment.merchant_id, payment.amount_paise) == (shop.id, 12_345)
        event = SecurityEvent.objects.filter(kind="payment_credited").latest("id")
        assert event.user_id == client_user_id(shop.emails["owner"])
        assert client.get("/balance").json["available_paise"] == 13_345


def client_user_id(email: str) -> int:
    return User.objects.get(email=email).id


def test_a_demo_payment_needs_the_csrf_token_and_a_good_amount(browser, shop, settings):
    settings.DEMO_MODE = True
    owner = browser()
    owner.login(shop.emails["owner"])

    no_csrf = owner.post("/demo/payments", {"amount_paise": 100}, csrf=False)
    bad = [owner.post("/demo/payments", {"amount_paise": amount}) for amount in (0, -5, 1.5, "10", None, 2**63)]

    assert (no_csrf.status, no_csrf.json["error"]["code"]) == (403, "forbidden")
    assert [(r.status, r.json["error"]["code"]) for r in bad] == [(400, "invalid_amount")] * 6
    assert _available(shop.id) == 1_000
    assert count("merchants_paymentcredit") == 1


def test_a_demo_payment_credits_only_the_signed_in_owners_merchant(browser, shop, make_merchant, settings):
    settings.DEMO_MODE = True
    other = make_merchant(credit_paise=5)
    owner = browser()
    owner.login(shop.emails["owner"])

    reply = owner.post("/demo/payments", {"amount_paise": 300, "merchant_id": other.id})

    assert reply.status == 201
    assert reply.json["merchant_id"] == shop.id
    assert (_available(shop.id), _available(other.id)) == (1_300, 5)
