"""Merchant accounts over HTTP, as an outside checker meets them (CONTRACT §7).

A real browser-like client keeps the cookies the API sets and sends the CSRF
token back; nothing here reaches into the session store. Covered: sign-in and
its throttle, session cookies and their rotation, the endpoint-by-role matrix
of every merchant endpoint, CSRF, API keys (create, use, revoke), security
events, demo sign-in and the commands that make users.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import pytest

from conftest import count, manage, payout_new
from merchants import accounts, services
from merchants.models import ApiKey, Merchant, SecurityEvent, User

PASSWORD = "correct horse battery staple"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    text: str

    @property
    def json(self):
        return json.loads(self.text)

    @property
    def code(self) -> str | None:
        return self.json.get("error", {}).get("code") if self.text else None


@dataclass
class Browser:
    """Keeps the cookies the API sets, as a browser does, and sends the CSRF token it was given."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str | None = None
    api_key: str | None = None
    forwarded_for: str | None = None

    def request(self, method: str, path: str, body=None, *, csrf: bool = True, headers: dict | None = None) -> Reply:
        sent = {"Accept": "application/json"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.api_key:
            sent["Authorization"] = f"Bearer {self.api_key}"
        if csrf and self.csrf_token and method not in ("GET", "HEAD"):
            sent["X-CSRFToken"] = self.csrf_token
        if self.forwarded_for:
            sent["X-Forwarded-For"] = self.forwarded_for
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, f"/api/v1{path}", body=payload, headers=sent)
            response = conn.getresponse()
            set_cookies = response.headers.get_all("Set-Cookie") or []
            reply = Reply(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                set_cookies,
                response.read().decode(),
            )
        finally:
            conn.close()
        for header in set_cookies:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def login(self, email: str, password: str = PASSWORD) -> Reply:
        reply = self.post("/auth/login", {"email": email, "password": password})
        if reply.status == 200:
            self.csrf_token = reply.json["csrf_token"]
        return reply

    def payout(self, merchant_bank_account: int, amount: int = 100, **kwargs) -> Reply:
        body = {"amount_paise": amount, "bank_account_id": merchant_bank_account}
        return self.post("/payouts", body, headers={"Idempotency-Key": str(uuid.uuid4())}, **kwargs)


@pytest.fixture
def browser(live_server, transactional_db):
    def new(**kwargs) -> Browser:
        host, port = live_server.url.removeprefix("http://").split(":")
        return Browser(host, int(port), **kwargs)

    return new


@pytest.fixture
def shop(make_merchant):
    """A merchant with credit, one payout, and one user of each role."""
    merchant = make_merchant(credit_paise=1_000_000)
    merchant.payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=500)
    merchant.emails = {}
    for role in ("owner", "developer", "viewer"):
        email = f"{role}-{merchant.id}@shop.example"
        services.user_create(merchant_id=merchant.id, email=email, role=role, password=PASSWORD)
        merchant.emails[role] = email
    return merchant


# --- sign-in ----------------------------------------------------------------------------------


def test_sign_in_returns_the_user_merchant_role_and_csrf_token_and_a_safe_session_cookie(browser, shop):
    client = browser()

    reply = client.login(shop.emails["owner"].upper())  # emails are not case-sensitive

    assert reply.status == 200, reply.text
    body = reply.json
    user = User.objects.get(email=shop.emails["owner"])
    assert body["user"] == {"id": user.id, "email": shop.emails["owner"]}
    assert body["merchant"] == {"id": shop.id, "name": Merchant.objects.get(pk=shop.id).name}
    assert body["role"] == "owner"
    assert len(body["csrf_token"]) == 64
    session_cookie = next(c for c in reply.set_cookies if c.startswith("sessionid="))
    attributes = {part.strip().split("=")[0].lower() for part in session_cookie.split(";")}
    assert {"httponly", "secure", "samesite"} <= attributes  # Secure: DEBUG is off in the tests
    assert "samesite=lax" in session_cookie.lower()
    assert user.password.startswith("argon2$argon2id$")
    session = client.get("/auth/session").json
    assert session.pop("csrf_token")
    assert session == {key: value for key, value in body.items() if key != "csrf_token"}
    assert client.get("/me").json == {"id": shop.id, "name": body["merchant"]["name"]}


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer_in_similar_time(browser, shop):
    client = browser()

    def timed(email: str) -> tuple[Reply, float]:
        started = time.perf_counter()
        reply = client.login(email, "not the password at all")
        return reply, time.perf_counter() - started

    wrong = [timed(shop.emails["owner"]) for _ in range(3)]
    unknown = [timed(f"nobody-{i}@nowhere.example") for i in range(3)]

    for reply, _ in wrong + unknown:
        assert reply.status == 401
        assert reply.json == {
            "error": {
                "code": "invalid_credentials",
                "message": "The email or the password is not right.",
                "field": None,
            }
        }
    known_time = statistics.median(t for _, t in wrong)
    unknown_time = statistics.median(t for _, t in unknown)
    # Both run the Argon2 hasher; loosely compared, as the machine may be busy.
    assert unknown_time > known_time * 0.4, (known_time, unknown_time)
    assert known_time > unknown_time * 0.4, (known_time, unknown_time)
    failures = SecurityEvent.objects.filter(kind="login_failed")
    assert failures.count() == 6
    assert failures.filter(merchant_id=shop.id).count() == 3  # the unknown emails belong to no merchant
    assert failures.filter(merchant__isnull=True).count() == 3


def test_more_than_ten_failures_for_one_email_get_429_with_retry_after_even_with_the_right_password(
    browser, shop, settings
):
    settings.TRUSTED_PROXIES = 1
    email = shop.emails["viewer"]
    for attempt in range(10):
        # From a different address each time: it is the email that is counted here.
        assert browser(forwarded_for=f"198.51.100.{attempt}").login(email, "wrong").status == 401

    reply = browser().login(email)

    assert reply.status == 429, reply.text
    assert reply.code == "too_many_attempts"
    assert 1 <= int(reply.headers["retry-after"]) <= 15 * 60
    assert browser().login(shop.emails["owner"]).status == 200  # another email is not held back


def test_more_than_ten_failures_from_one_address_get_429_and_another_address_is_unaffected(browser, shop, settings):
    settings.TRUSTED_PROXIES = 1
    attacker = browser(forwarded_for="203.0.113.7")
    for attempt in range(10):
        assert attacker.login(f"guess-{attempt}@shop.example", "wrong").status == 401

    refused = attacker.login(shop.emails["owner"])
    elsewhere = browser(forwarded_for="203.0.113.8").login(shop.emails["owner"])

    assert (refused.status, refused.code) == (429, "too_many_attempts")
    assert 1 <= int(refused.headers["retry-after"]) <= 15 * 60
    assert elsewhere.status == 200


def test_bad_sign_in_bodies_are_400_naming_the_field(browser, shop):
    client = browser()
    for body, field_name in [
        ({}, "email"),
        ({"email": shop.emails["owner"]}, "password"),
        ({"email": 7, "password": PASSWORD}, "email"),
        ({"email": shop.emails["owner"], "password": "x" * 257}, "password"),
    ]:
        reply = client.post("/auth/login", body)
        assert (reply.status, reply.code, reply.json["error"]["field"]) == (400, "invalid_request", field_name)
    assert client.post("/auth/login", [1]).code == "invalid_body"


def test_sign_in_from_a_page_of_another_site_is_refused(browser, shop):
    reply = browser().post(
        "/auth/login",
        {"email": shop.emails["owner"], "password": PASSWORD},
        headers={"Origin": "https://attacker.example"},
    )
    assert (reply.status, reply.code) == (403, "forbidden")


def test_the_session_id_changes_at_sign_in_and_the_old_one_is_worthless(browser, shop):
    client = browser()
    assert client.login(shop.emails["developer"]).status == 200
    first = client.cookies["sessionid"]

    assert client.login(shop.emails["developer"]).status == 200  # signing in again, with the old cookie
    second = client.cookies["sessionid"]

    assert second != first
    stale = browser(cookies={"sessionid": first})
    assert stale.get("/auth/session").status == 401
    assert stale.get("/me").status == 401


def test_sign_out_ends_the_session(browser, shop):
    client = browser()
    client.login(shop.emails["owner"])
    cookie = client.cookies["sessionid"]

    assert client.post("/auth/logout", csrf=False).status == 403  # unsafe: needs the token
    assert client.post("/auth/logout").status == 204

    assert browser(cookies={"sessionid": cookie}).get("/me").status == 401
    assert client.get("/auth/session").code == "unauthenticated"


# --- who may do what -------------------------------------------------------------------


def _matrix(shop) -> list[tuple[str, str, dict | None, dict[str, int]]]:
    """(method, path, body, expected status per caller) for every merchant endpoint."""
    reads = {"owner": 200, "developer": 200, "viewer": 200, "api_key": 200, "anonymous": 401}
    payout = {"amount_paise": 100, "bank_account_id": shop.bank_account_id}
    return [
        ("GET", "/me", None, reads),
        ("GET", "/balance", None, reads),
        ("GET", "/ledger", None, reads),
        ("GET", "/bank-accounts", None, reads),
        ("GET", f"/bank-accounts/{shop.bank_account_id}", None, reads),
        (
            "POST",
            "/bank-accounts",
            {"holder_name": "Asha Rao", "ifsc": "HDFC0000001", "account_number": "918273645546"},
            {"owner": 201, "developer": 403, "viewer": 403, "api_key": 403, "anonymous": 401},
        ),
        ("GET", "/payouts", None, reads),
        ("GET", f"/payouts/{shop.payout_id}", None, reads),
        ("GET", f"/payouts/{shop.payout_id}/events", None, reads),
        (
            "POST",
            "/payouts",
            payout,
            {"owner": 201, "developer": 403, "viewer": 403, "api_key": 201, "anonymous": 401},
        ),
        ("GET", "/api-keys", None, {"owner": 200, "developer": 200, "viewer": 403, "api_key": 403, "anonymous": 401}),
        (
            "POST",
            "/api-keys",
            {"name": "CI"},
            {"owner": 201, "developer": 201, "viewer": 403, "api_key": 403, "anonymous": 401},
        ),
        (
            "DELETE",
            "/api-keys/{spare_key}",
            None,
            {"owner": 200, "developer": 200, "viewer": 403, "api_key": 403, "anonymous": 401},
        ),
        (
            "DELETE",
            "/bank-accounts/{spare_account}",
            None,
            {"owner": 200, "developer": 403, "viewer": 403, "api_key": 403, "anonymous": 401},
        ),
        (
            "GET",
            "/security-events",
            None,
            {"owner": 200, "developer": 403, "viewer": 403, "api_key": 403, "anonymous": 401},
        ),
        (
            "GET",
            "/auth/session",
            None,
            {"owner": 200, "developer": 200, "viewer": 200, "api_key": 401, "anonymous": 401},
        ),
    ]


@pytest.mark.parametrize("caller", ["owner", "developer", "viewer", "api_key", "anonymous"])
def test_every_endpoint_allows_refuses_or_asks_for_credentials_by_role(browser, shop, caller):
    client = browser(api_key=shop.api_key) if caller == "api_key" else browser()
    if caller in shop.emails:
        assert client.login(shop.emails[caller]).status == 200
    spare = services.api_key_create(merchant_id=shop.id, name="spare", user_id=None, client_address=None)
    spare_account = accounts.bank_account_add(
        merchant_id=shop.id,
        holder_name="Spare",
        ifsc="HDFC0000001",
        account_number="112233445566",
        user_id=None,
        client_address=None,
    )
    payouts_before = count("payouts_payout")

    answered = {}
    for method, path, body, expected in _matrix(shop):
        path = path.replace("{spare_key}", str(spare.key.id)).replace("{spare_account}", str(spare_account.id))
        headers = {"Idempotency-Key": str(uuid.uuid4())} if path == "/payouts" else None
        reply = client.request(method, path, body, headers=headers)
        answered[(method, path)] = reply.status
        assert reply.status == expected[caller], (caller, method, path, reply.text)
        if reply.status == 403:
            assert reply.code == "forbidden"
        if reply.status == 401:
            assert reply.code == "unauthenticated"

    created = 1 if answered[("POST", "/payouts")] == 201 else 0
    assert count("payouts_payout") == payouts_before + created
    revoked = ApiKey.objects.get(pk=spare.key.id).revoked_at is not None
    assert revoked == (answered[("DELETE", f"/api-keys/{spare.key.id}")] == 200)


def test_unsafe_requests_from_a_session_need_the_csrf_token(browser, shop):
    owner = browser()
    owner.login(shop.emails["owner"])
    keys_before, payouts_before = count("merchants_apikey"), count("payouts_payout")

    refused_key = owner.post("/api-keys", {"name": "no token"}, csrf=False)
    refused_payout = owner.payout(shop.bank_account_id, csrf=False)
    forged = owner.post("/api-keys", {"name": "bad token"}, csrf=False, headers={"X-CSRFToken": "x" * 64})

    for reply in (refused_key, refused_payout, forged):
        assert (reply.status, reply.code) == (403, "forbidden"), reply.text
        assert "CSRF" in reply.json["error"]["message"]
    assert (count("merchants_apikey"), count("payouts_payout")) == (keys_before, payouts_before)
    assert owner.payout(shop.bank_account_id).status == 201
    assert owner.get("/balance").status == 200  # reads need no token


def test_a_staff_user_without_a_merchant_cannot_use_the_dashboard(browser, transactional_db):
    User.objects.create_superuser("admin@payouts.example", PASSWORD)
    reply = browser().login("admin@payouts.example")
    assert (reply.status, reply.code) == (401, "invalid_credentials")


# --- API keys ---------------------------------------------------------------------------


def test_a_key_made_in_the_dashboard_pays_out_is_listed_without_its_secret_and_is_refused_once_revoked(browser, shop):
    developer = browser()
    developer.login(shop.emails["developer"])

    created = developer.post("/api-keys", {"name": "  Billing server "})

    assert created.status == 201, created.text
    key = created.json
    secret = key.pop("secret")
    assert secret.startswith("sk_live_") and len(secret) > 40
    assert key["name"] == "Billing server"
    assert key["prefix"] == secret[:12]
    assert (key["last_used_at"], key["revoked_at"]) == (None, None)
    stored = ApiKey.objects.get(pk=key["id"])
    assert secret not in (stored.key_hash, stored.prefix)
    listed = developer.get("/api-keys").json
    assert listed[0] == key
    assert secret not in json.dumps(listed)

    integration = browser(api_key=secret)
    assert integration.payout(shop.bank_account_id, amount=250).status == 201
    used = ApiKey.objects.get(pk=key["id"]).last_used_at
    assert used is not None
    assert integration.get("/balance").status == 200
    assert ApiKey.objects.get(pk=key["id"]).last_used_at == used  # written at most once a minute
    assert (integration.get("/api-keys").status, integration.post("/api-keys", {"name": "more"}).status) == (403, 403)

    revoked = developer.request("DELETE", f"/api-keys/{key['id']}")

    assert revoked.status == 200
    assert revoked.json["revoked_at"] is not None
    after = integration.payout(shop.bank_account_id)
    assert (after.status, after.code) == (401, "unauthenticated")
    assert integration.get("/me").status == 401
    assert developer.request("DELETE", f"/api-keys/{key['id']}").json == revoked.json  # again: nothing changes
    kinds = list(SecurityEvent.objects.filter(api_key_id=key["id"]).order_by("id").values_list("kind", flat=True))
    assert kinds == ["api_key_created", "api_key_revoked"]


def test_keys_of_another_merchant_are_404_and_names_are_checked(browser, shop, make_merchant):
    other = make_merchant()
    their_key = ApiKey.objects.get(merchant_id=other.id)
    owner = browser()
    owner.login(shop.emails["owner"])

    assert owner.request("DELETE", f"/api-keys/{their_key.id}").code == "not_found"
    assert ApiKey.objects.get(pk=their_key.id).revoked_at is None
    for body in ({}, {"name": ""}, {"name": "x" * 101}, {"name": 5}):
        reply = owner.post("/api-keys", body)
        assert (reply.status, reply.code, reply.json["error"]["field"]) == (400, "invalid_request", "name")


# --- security events ----------------------------------------------------------------------


def test_owners_see_their_security_events_newest_first_page_by_page(browser, shop, make_merchant):
    owner = browser()
    assert owner.login(shop.emails["owner"], "wrong").status == 401
    owner.login(shop.emails["owner"])
    key_id = owner.post("/api-keys", {"name": "ops"}).json["id"]
    owner.request("DELETE", f"/api-keys/{key_id}")
    browser().login("stranger@nowhere.example", "wrong")
    other = make_merchant()
    services.user_create(merchant_id=other.id, email="other@other.example", role="owner", password=PASSWORD)
    browser().login("other@other.example")

    page = owner.get("/security-events?limit=3").json
    rest = owner.get(page["next"].split("/api/v1", 1)[1]).json

    kinds = [e["kind"] for e in page["results"] + rest["results"]]
    # The oldest is the shop's opening credit (a customer payment, recorded as one).
    assert kinds == ["api_key_revoked", "api_key_created", "login_succeeded", "login_failed", "payment_credited"]
    newest = page["results"][0]
    user = User.objects.get(email=shop.emails["owner"])
    assert newest == {
        "id": newest["id"],
        "kind": "api_key_revoked",
        "user_id": user.id,
        "email": None,
        "api_key_id": key_id,
        "client_address": "127.0.0.1",
        "description": "API key 'ops' (" + ApiKey.objects.get(pk=key_id).prefix + "…) revoked",
        "created_at": newest["created_at"],
    }
    assert page["results"][-1]["email"] == shop.emails["owner"]
    assert rest["next"] is None


# --- demo sign-in and the commands ----------------------------------------------------------


def test_demo_sign_in_is_404_outside_demo_mode(browser, transactional_db):
    merchant = services.merchant_create(name="Demo", bank_accounts=[], is_demo=True)
    reply = browser().post("/auth/demo-login", {"merchant_id": merchant.id})
    assert (reply.status, reply.code) == (404, "not_found")


def test_demo_sign_in_opens_a_demo_merchants_owner_session_only(browser, transactional_db, settings):
    settings.DEMO_MODE = True
    demo = services.merchant_create(name="Demo", bank_accounts=[], is_demo=True)
    real = services.merchant_create(name="Real", bank_accounts=[])
    client = browser()

    signed_in = client.post("/auth/demo-login", {"merchant_id": demo.id})

    assert signed_in.status == 200, signed_in.text
    assert (signed_in.json["merchant"]["id"], signed_in.json["role"]) == (demo.id, "owner")
    assert client.get("/me").json["id"] == demo.id
    assert browser().post("/auth/demo-login", {"merchant_id": real.id}).code == "not_found"
    assert browser().post("/auth/demo-login", {"merchant_id": "1"}).code == "invalid_request"
    owner = User.objects.get(merchant_id=demo.id)
    assert not owner.has_usable_password()  # only the demo sign-in opens it
    assert browser().post("/auth/demo-login", {"merchant_id": demo.id}).json["user"]["id"] == owner.id


def test_create_merchant_with_an_owner_and_create_user_make_users_who_can_sign_in(browser, transactional_db):
    made = manage(
        "create_merchant",
        "--name",
        "Onboarded Ltd",
        "--credit-paise",
        "5000",
        "--owner-email",
        "Founder@Onboarded.example",
    )
    assert made.returncode == 0, made.stderr
    merchant = json.loads(made.stdout)
    assert merchant["owner_email"] == "founder@onboarded.example"
    owner = browser()
    assert owner.login("founder@onboarded.example", merchant["owner_password"]).json["role"] == "owner"

    viewer = manage(
        "create_user",
        "--merchant",
        str(merchant["id"]),
        "--email",
        "books@onboarded.example",
        "--role",
        "viewer",
        "--password",
        "a long viewer password",
    )
    developer = manage(
        "create_user", "--merchant", str(merchant["id"]), "--email", "dev@onboarded.example", "--role", "developer"
    )
    duplicate = manage(
        "create_user", "--merchant", str(merchant["id"]), "--email", "dev@onboarded.example", "--role", "viewer"
    )

    assert viewer.returncode == 0, viewer.stderr
    assert "password" not in json.loads(viewer.stdout)
    assert browser().login("books@onboarded.example", "a long viewer password").json["role"] == "viewer"
    one_time = json.loads(developer.stdout)["password"]
    assert browser().login("dev@onboarded.example", one_time).json["role"] == "developer"
    assert duplicate.returncode != 0
    assert "exists already" in duplicate.stderr
    assert User.objects.filter(merchant_id=merchant["id"]).count() == 3


def test_the_security_event_kinds_are_documented_as_the_model_has_them():
    from django.conf import settings

    assert settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["SecurityEventKind"] == SecurityEvent.Kind.values
