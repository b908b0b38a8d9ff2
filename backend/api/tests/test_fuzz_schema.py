"""The API against its own OpenAPI document, fuzzed with schemathesis.

Each operation of ``/api/v1/schema`` gets generated requests — valid ones
(positive) and ones that break the schema (negative) — sent over HTTP to the
live server as a merchant with credit, once with its API key and once with its
owner's dashboard session (the cookie and the X-CSRFToken header). Every response must be documented
(status code, content type, body and headers) and none may be a 5xx;
schemathesis's other checks hold too: a documented-valid request is accepted,
an invalid one rejected with a 4xx, and authentication is never ignored.

Schemathesis drives Hypothesis through ``operation.as_strategy()`` here: its
``parametrize()`` pytest plugin does not run on this pytest version.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import uuid
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.schema import IDEMPOTENCY_KEY_PATTERN
from merchants import accounts as bank_accounts
from merchants import services as merchant_services
from merchants.models import SecurityEvent
from payouts import verification
from webhooks import services as webhook_services

OWNER_PASSWORD = "a fuzzed owner's password"
INTERNAL_TOKEN = "the-fuzzed-collections-systems-token-0123456789"
FUZZ_WEBHOOK_URL = "http://127.0.0.1:9/fuzzed-hooks"  # the discard port: deliveries fail, nothing listens
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # raise it for a deeper run by hand

# A schema-valid payout request may still be refused by the payout logic:
# 422 insufficient_funds (the amount is above the balance) is its answer. The
# webhook endpoints answer an API key with 403 forbidden (a signed-in user's only), and so
# do the bank account writes. A payout to an account not verified is 400 invalid_bank_account.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # 403: an API key where a signed-in user is needed (keys, security events).
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]},
        }
    }
)


def documented_operations() -> list[tuple[str, str, bool]]:
    """(method, path, takes input) for every operation the API documents, from the generator it serves."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path, bool(operation.get("parameters") or operation.get("requestBody")))
        for path, item in document["paths"].items()
        for method, operation in item.items()
    )


OPERATIONS = documented_operations()
CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path, takes_input in OPERATIONS
    # Nothing to make invalid in an operation without parameters or a body.
    for mode in ([GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if takes_input else [GenerationMode.POSITIVE])
]


def _is_idempotency_key(value: str | None) -> bool:
    """What the document's pattern allows: a UUID, bare or quoted."""
    return value is not None and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, value.strip()) is not None


def _cursor(api, path: str) -> str:
    page = api.get(f"{path}?limit=1").json
    return parse_qs(urlsplit(page["next"]).query)["cursor"][0]


@pytest.fixture
def fuzzed_merchant(make_merchant, settings):
    """A merchant with credit, three payouts and a cursor into each list."""
    merchant = make_merchant(credit_paise=50_000_000)
    merchant.payout_ids = []
    for amount in (1_000, 2_000, 3_000):
        reply = merchant.api.create_payout(amount, merchant.bank_account_id)
        assert reply.status == 201, reply.text
        merchant.payout_ids.append(reply.json["id"])
    merchant.cursors = {path: _cursor(merchant.api, path) for path in ("/payouts", "/ledger", "/events")}
    # Webhook endpoints to name, at a local address, as under make run.
    settings.WEBHOOKS_ALLOW_HTTP = settings.WEBHOOKS_ALLOW_PRIVATE = True
    merchant.endpoint_ids = [
        webhook_services.endpoint_create(merchant_id=merchant.id, url=FUZZ_WEBHOOK_URL).endpoint.id for _ in range(3)
    ]
    # Bank accounts to name: the verified one, one pending verification, one rejected by the bank.
    merchant.bank_account_ids = [merchant.bank_account_id]
    for number in ("918273645546", "555555555555"):
        added = bank_accounts.bank_account_add(
            merchant_id=merchant.id,
            holder_name="Fuzzed Holder",
            ifsc="HDFC0000001",
            account_number=number,
            user_id=None,
            client_address=None,
        )
        merchant.bank_account_ids.append(added.id)
    verification.bank_account_verify(bank_account_id=merchant.bank_account_ids[2])
    merchant.api_key_ids = [
        merchant_services.api_key_create(
            merchant_id=merchant.id, name=f"spare {n}", user_id=None, client_address=None
        ).key.id
        for n in range(3)
    ]
    merchant_services.user_create(
        merchant_id=merchant.id, email="owner@fuzzed.example", role="owner", password=OWNER_PASSWORD
    )
    # Security events are for a signed-in owner only: its cursor is made as the paginator makes one.
    newest_event = SecurityEvent.objects.filter(merchant_id=merchant.id).order_by("-id").first()
    assert newest_event is not None
    merchant.cursors["/security-events"] = base64.b64encode(f"p={newest_event.id}".encode()).decode()
    return merchant


def _session_headers(api) -> dict[str, str]:
    """The owner signed in over HTTP: the cookies and the CSRF token a browser would send."""
    conn = http.client.HTTPConnection(api.host, api.port, timeout=60)
    try:
        body = json.dumps({"email": "owner@fuzzed.example", "password": OWNER_PASSWORD})
        conn.request("POST", "/api/v1/auth/login", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        reply = json.loads(response.read())
        assert response.status == 200, reply
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
    finally:
        conn.close()
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    return {"Cookie": cookie, "X-CSRFToken": reply["csrf_token"]}


@pytest.fixture
def django_settings(settings):
    """pytest-django's settings, named apart from hypothesis's settings decorator."""
    return settings


@pytest.fixture
def live_schema(live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema", config=CONFIG)


def test_the_served_schema_lists_every_operation(live_schema):
    served = sorted((result.ok().method.upper(), result.ok().path) for result in live_schema.get_all_operations())
    assert served == [(method, path) for method, path, _ in OPERATIONS]
    assert len(served) == 37


@pytest.mark.parametrize("credentials", ["api_key", "session"])
@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_operation_answers_as_documented(
    live_server, live_schema, fuzzed_merchant, method, path, mode, credentials, django_settings
):
    operation = live_schema[path][method]
    resource = path.removeprefix("/api/v1")
    # Money in: the collections system's token (whichever credentials), and the demo's button in DEMO_MODE.
    django_settings.INTERNAL_API_TOKEN = INTERNAL_TOKEN
    django_settings.DEMO_MODE = resource == "/demo/payments"
    if resource == "/internal/payments":
        auth = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    elif credentials == "api_key":
        auth = {"Authorization": f"Bearer {fuzzed_merchant.api_key}"}
    else:
        auth = _session_headers(fuzzed_merchant.api)

    @given(
        case=operation.as_strategy(generation_mode=mode, headers=auth),
        real_key=st.booleans(),
        real_payout=st.integers(min_value=-1, max_value=2),
    )
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def fuzz(case, real_key, real_payout):
        if mode is GenerationMode.POSITIVE:
            # Valid-looking values that name nothing real are refused by design (a made-up
            # cursor, someone else's bank account): use real ones, so success paths are
            # fuzzed too. Unknown ids and random keys stay in half of the cases.
            if case.query and "cursor" in case.query:
                if resource in fuzzed_merchant.cursors:
                    case.query["cursor"] = fuzzed_merchant.cursors[resource]
                else:  # a list with no second page to point into (an endpoint's deliveries)
                    del case.query["cursor"]
            if isinstance(case.body, dict) and "merchant_id" in case.body and resource == "/internal/payments":
                case.body["merchant_id"] = fuzzed_merchant.id  # a credit names a real merchant
            if isinstance(case.body, dict) and "bank_account_id" in case.body:
                case.body["bank_account_id"] = fuzzed_merchant.bank_account_id
            if real_payout >= 0 and "payout_id" in (case.path_parameters or {}):
                case.path_parameters["payout_id"] = fuzzed_merchant.payout_ids[real_payout]
            if real_payout >= 0 and "bank_account_id" in (case.path_parameters or {}):
                case.path_parameters["bank_account_id"] = fuzzed_merchant.bank_account_ids[real_payout]
            if real_payout >= 0 and "api_key_id" in (case.path_parameters or {}):
                case.path_parameters["api_key_id"] = fuzzed_merchant.api_key_ids[real_payout]
            if real_payout >= 0 and "endpoint_id" in (case.path_parameters or {}):
                case.path_parameters["endpoint_id"] = fuzzed_merchant.endpoint_ids[real_payout]
            if isinstance(case.body, dict) and "endpoint_id" in case.body:
                case.body["endpoint_id"] = fuzzed_merchant.endpoint_ids[max(real_payout, 0)]
            if isinstance(case.body, dict) and "url" in case.body:
                # A schema-valid string is not yet an address the engine will call.
                case.body["url"] = FUZZ_WEBHOOK_URL
            if real_key and case.headers and "Idempotency-Key" in case.headers:
                case.headers["Idempotency-Key"] = str(uuid.uuid4())  # fresh, not one Hypothesis repeats
        response = case.call_and_validate(base_url=live_server.url, headers=auth, timeout=30)
        # With a session the CSRF check reads the body first (a malformed one is 400 malformed_json), and
        # a negative case may replace the session cookie (401): the key's own check is for API keys.
        payout_post = (method, path, credentials) == ("POST", "/api/v1/payouts", "api_key")
        if payout_post and not _is_idempotency_key((case.headers or {}).get("Idempotency-Key")):
            # The key is checked before anything else: missing or not as documented is always this 400.
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "invalid_idempotency_key"

    fuzz()
