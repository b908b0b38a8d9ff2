"""The OpenAPI document and its rendered docs, as an integrator meets them.

The docs page works offline (everything it loads comes from the API itself),
the document says which statuses, error codes and headers each operation
really sends, and a client generated from it by a common generator makes a
payout.
"""

from __future__ import annotations

import http.client
import importlib
import json
import re
import subprocess
import sys
import typing
import uuid

import pytest

from conftest import count

URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _fetch(api, path: str, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(api.host, api.port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_the_docs_page_loads_nothing_from_another_host(api):
    status, headers, body = _fetch(api, "/api/v1/docs")
    page = body.decode()

    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]", page, re.IGNORECASE) is None, page
    assets = URL_ATTRIBUTE.findall(page)
    assert len(assets) == 1  # the renderer; it fetches the schema, a relative URL, itself
    for asset in assets:
        assert asset.startswith("/api/v1/"), asset
        asset_status, asset_headers, script = _fetch(api, asset)
        assert asset_status == 200, asset
        assert asset_headers["content-type"].startswith("text/javascript")
        assert len(script) > 500_000  # the whole Redoc bundle, not a stub
        assert b"Redoc" in script
        # Revalidated on each visit; unchanged, it costs a 304 and no body.
        assert _fetch(api, asset, {"If-None-Match": asset_headers["etag"]})[::2] == (304, b"")


@pytest.fixture
def generated_client(api, tmp_path):
    """The package openapi-python-client generates from the served document, imported."""
    status, _, document = _fetch(api, "/api/v1/schema?format=json")
    assert status == 200
    (tmp_path / "schema.json").write_bytes(document)
    (tmp_path / "config.json").write_text(json.dumps({"package_name_override": "payouts_client", "post_hooks": []}))
    arguments = [
        "--meta",
        "none",
        "--path",
        "schema.json",
        "--config",
        "config.json",
        "--output-path",
        "payouts_client",
    ]
    generated = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout  # every part of the document was understood
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("payouts_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == "payouts_client"]:
            del sys.modules[name]


def test_a_client_generated_from_the_schema_makes_a_payout(live_server, make_merchant, generated_client):
    from payouts_client.api.payouts import payouts_create, payouts_list
    from payouts_client.models import PayoutRequestRequest

    merchant = make_merchant(credit_paise=10_000)
    # Closed at the end: an open keep-alive connection would hold the live server's database session.
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=merchant.api_key)
    # The key's type is what the generated signature asks for: a str (with format: uuid it was a
    # UUID object, which httpx refuses as a header value).
    key_type = typing.get_type_hints(payouts_create.sync_detailed)["idempotency_key"]
    assert key_type is str
    key = key_type(uuid.uuid4())
    body = PayoutRequestRequest(amount_paise=2_500, bank_account_id=merchant.bank_account_id)

    with client:
        created = payouts_create.sync_detailed(client=client, body=body, idempotency_key=key)
        replayed = payouts_create.sync_detailed(client=client, body=body, idempotency_key=f'"{key}"')
        listed = payouts_list.sync(client=client)

    assert created.status_code == 201, created.content
    assert created.parsed.amount_paise == 2_500
    assert created.parsed.bank_account_id == merchant.bank_account_id
    assert created.parsed.status.value == "pending"
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.parsed.id == created.parsed.id
    assert [(p.id, p.amount_paise) for p in listed.results] == [(created.parsed.id, 2_500)]
    assert merchant.api.balance() == (7_500, 2_500)
    assert count("payouts_payout") == 1


# --- what the document promises ------------------------------------------------------------

_AUTHENTICATED = {
    401: ["unauthenticated"],
    406: ["not_acceptable"],
    429: ["rate_limited"],
    503: ["database_timeout", "database_unavailable"],
}
_LISTS = ["invalid_limit", "invalid_cursor"]
# Every status each operation can answer, and the error codes behind each: no more, no fewer.
OPERATIONS = {
    ("get", "/api/v1/health"): {200: [], 406: ["not_acceptable"], 503: ["dependency_unavailable"]},
    ("get", "/api/v1/health/live"): {200: [], 406: ["not_acceptable"]},
    ("get", "/api/v1/health/ready"): {200: [], 406: ["not_acceptable"], 503: ["dependency_unavailable"]},
    ("get", "/api/v1/demo/merchants"): {200: [], 404: ["not_found"], 406: ["not_acceptable"]},
    ("get", "/api/v1/me"): {200: [], **_AUTHENTICATED},
    ("get", "/api/v1/balance"): {200: [], **_AUTHENTICATED},
    ("get", "/api/v1/bank-accounts"): {200: [], **_AUTHENTICATED},
    ("post", "/api/v1/bank-accounts"): {
        201: [],
        400: ["invalid_bank_account_details", "invalid_body", "malformed_json"],
        403: ["forbidden"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        **_AUTHENTICATED,
    },
    ("get", "/api/v1/bank-accounts/{bank_account_id}"): {200: [], 404: ["not_found"], **_AUTHENTICATED},
    ("delete", "/api/v1/bank-accounts/{bank_account_id}"): {
        200: [],
        403: ["forbidden"],
        404: ["not_found"],
        **_AUTHENTICATED,
    },
    ("get", "/api/v1/ledger"): {200: [], 400: ["invalid_filter", *_LISTS], **_AUTHENTICATED},
    ("get", "/api/v1/payouts"): {200: [], 400: ["invalid_status", "invalid_filter", *_LISTS], **_AUTHENTICATED},
    # CSV whatever the Accept header says: never a 406.
    ("get", "/api/v1/payouts/export.csv"): {
        200: [],
        400: ["invalid_status", "invalid_filter"],
        **{status: codes for status, codes in _AUTHENTICATED.items() if status != 406},
    },
    ("get", "/api/v1/ledger/export.csv"): {
        200: [],
        400: ["invalid_filter"],
        **{status: codes for status, codes in _AUTHENTICATED.items() if status != 406},
    },
    ("get", "/api/v1/payouts/{payout_id}"): {200: [], 404: ["not_found"], **_AUTHENTICATED},
    ("get", "/api/v1/payouts/{payout_id}/events"): {200: [], 404: ["not_found"], **_AUTHENTICATED},
    ("post", "/api/v1/payouts"): {
        201: [],
        400: [
            "invalid_idempotency_key",
            "malformed_json",
            "invalid_body",
            "invalid_amount",
            "invalid_bank_account",
            "invalid_field",
        ],
        409: ["reference_id_in_use"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        422: ["insufficient_funds", "idempotency_key_reused"],
        403: ["forbidden"],
        **_AUTHENTICATED,
    },
    ("get", "/api/v1/events"): {200: [], 400: ["invalid_filter", *_LISTS], **_AUTHENTICATED},
    ("get", "/api/v1/events/{event_id}"): {200: [], 404: ["not_found"], **_AUTHENTICATED},
    ("post", "/api/v1/events/{event_id}/redeliver"): {
        202: [],
        400: ["malformed_json", "invalid_body"],
        403: ["forbidden"],
        404: ["not_found"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        **_AUTHENTICATED,
    },
    ("get", "/api/v1/webhook-endpoints"): {200: [], 403: ["forbidden"], **_AUTHENTICATED},
    ("post", "/api/v1/webhook-endpoints"): {
        201: [],
        400: ["malformed_json", "invalid_body", "invalid_url", "invalid_enabled_events"],
        403: ["forbidden"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        **_AUTHENTICATED,
    },
    ("get", "/api/v1/webhook-endpoints/{endpoint_id}"): {
        200: [],
        403: ["forbidden"],
        404: ["not_found"],
        **_AUTHENTICATED,
    },
    ("patch", "/api/v1/webhook-endpoints/{endpoint_id}"): {
        200: [],
        400: ["malformed_json", "invalid_body", "invalid_url", "invalid_enabled_events", "invalid_status"],
        403: ["forbidden"],
        404: ["not_found"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        **_AUTHENTICATED,
    },
    ("delete", "/api/v1/webhook-endpoints/{endpoint_id}"): {
        204: [],
        403: ["forbidden"],
        404: ["not_found"],
        **_AUTHENTICATED,
    },
    ("post", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): {
        200: [],
        403: ["forbidden"],
        404: ["not_found"],
        **_AUTHENTICATED,
    },
    # Merchant accounts (CONTRACT §7).
    ("post", "/api/v1/auth/login"): {
        200: [],
        400: ["invalid_request", "invalid_body", "malformed_json"],
        401: ["invalid_credentials"],
        403: ["forbidden"],
        406: ["not_acceptable"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        429: ["too_many_attempts"],
        503: ["database_timeout", "database_unavailable"],
    },
    ("post", "/api/v1/auth/demo-login"): {
        200: [],
        400: ["invalid_request", "invalid_body", "malformed_json"],
        403: ["forbidden"],
        404: ["not_found"],
        406: ["not_acceptable"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        503: ["database_timeout", "database_unavailable"],
    },
    ("post", "/api/v1/auth/logout"): {
        204: [],
        401: ["unauthenticated"],
        403: ["forbidden"],
        406: ["not_acceptable"],
        503: ["database_timeout", "database_unavailable"],
    },
    ("get", "/api/v1/auth/session"): {
        200: [],
        401: ["unauthenticated"],
        406: ["not_acceptable"],
        503: ["database_timeout", "database_unavailable"],
    },
    ("get", "/api/v1/api-keys"): {200: [], 403: ["forbidden"], **_AUTHENTICATED},
    ("post", "/api/v1/api-keys"): {
        201: [],
        400: ["invalid_request", "invalid_body", "malformed_json"],
        403: ["forbidden"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        **_AUTHENTICATED,
    },
    ("delete", "/api/v1/api-keys/{api_key_id}"): {
        200: [],
        403: ["forbidden"],
        404: ["not_found"],
        **_AUTHENTICATED,
    },
    ("get", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): {
        200: [],
        400: _LISTS,
        403: ["forbidden"],
        404: ["not_found"],
        **_AUTHENTICATED,
    },
    ("get", "/api/v1/security-events"): {200: [], 400: _LISTS, 403: ["forbidden"], **_AUTHENTICATED},
    # Money in: the collections system's own token (never rate limited), and the demo's button.
    ("post", "/api/v1/internal/payments"): {
        200: [],
        201: [],
        400: [
            "invalid_merchant",
            "invalid_amount",
            "invalid_field",
            "invalid_body",
            "malformed_json",
        ],
        401: ["unauthenticated"],
        404: ["not_found"],
        406: ["not_acceptable"],
        409: ["payment_reference_conflict"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        422: ["balance_limit_exceeded"],
        503: ["database_timeout", "database_unavailable"],
    },
    ("post", "/api/v1/demo/payments"): {
        201: [],
        400: ["invalid_amount", "invalid_body", "malformed_json"],
        403: ["forbidden"],
        404: ["not_found"],
        413: ["request_too_large"],
        415: ["unsupported_media_type"],
        422: ["balance_limit_exceeded"],
        **_AUTHENTICATED,
    },
}


@pytest.fixture
def document(api) -> dict:
    status, _, body = _fetch(api, "/api/v1/schema?format=json")
    assert status == 200
    return json.loads(body)


def _operations(document):
    return {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}


def test_each_operation_lists_exactly_the_statuses_it_answers_with_their_error_codes(document):
    operations = _operations(document)

    assert set(operations) == set(OPERATIONS)
    for name, expected in OPERATIONS.items():
        responses = operations[name]["responses"]
        assert sorted(int(status) for status in responses) == sorted(expected), name
        for status, codes in expected.items():
            response = responses[str(status)]
            if not codes:
                continue
            examples = response["content"]["application/json"]["examples"]
            assert sorted(e["value"]["error"]["code"] for e in examples.values()) == sorted(codes), (name, status)
            listed = re.findall(r"`([a-z_]+)`", response["description"])
            assert listed == codes, (name, status)


def test_post_payouts_lists_no_409_it_never_sends(document):
    conflicts = {path for path, op in _operations(document).items() if "409" in op["responses"]}

    assert conflicts == {("post", "/api/v1/payouts"), ("post", "/api/v1/internal/payments")}
    examples = document["paths"]["/api/v1/payouts"]["post"]["responses"]["409"]["content"]["application/json"]
    assert [e["value"]["error"]["code"] for e in examples["examples"].values()] == ["reference_id_in_use"]
    credit = document["paths"]["/api/v1/internal/payments"]["post"]["responses"]["409"]["content"]
    assert [e["value"]["error"]["code"] for e in credit["application/json"]["examples"].values()] == [
        "payment_reference_conflict"
    ]
    assert "idempotency_key_in_use" not in json.dumps(document)


def test_money_in_is_listed_under_its_own_tags_with_its_own_security(document):
    internal = document["paths"]["/api/v1/internal/payments"]["post"]
    demo = document["paths"]["/api/v1/demo/payments"]["post"]

    assert (internal["tags"], internal["security"]) == (["Internal"], [{"InternalToken": []}])
    assert document["components"]["securitySchemes"]["InternalToken"]["scheme"] == "bearer"
    assert demo["tags"] == ["Demo"]
    assert {"Session": []} in demo["security"]
    request = document["components"]["schemas"]["PaymentCreditRequestRequest"]
    assert sorted(request["required"]) == ["amount_paise", "merchant_id", "reference"]
    assert request["properties"]["reference"]["pattern"] == "^[A-Za-z0-9_.:/-]{1,64}$"


def _headers(document, method, path, status) -> dict:
    return document["paths"][path][method]["responses"][str(status)].get("headers", {})


def test_the_response_headers_are_listed_where_they_are_sent(document):
    for (method, path), statuses in OPERATIONS.items():
        # Rate-limited operations are those a merchant's key or session reaches (not sign-in itself).
        authenticated = "rate_limited" in statuses.get(429, [])
        for status in statuses:
            headers = _headers(document, method, path, status)
            assert headers["X-Request-ID"]["required"] is True, (method, path, status)
            assert headers["X-Request-ID"]["schema"]["type"] == "string"
            retried = status == 429 or (status == 503 and authenticated)
            assert ("Retry-After" in headers) == retried, (method, path, status)
            # The limiters count only what reaches a view: never a 406 or 413, nor unauthenticated routes.
            limited = authenticated and status not in (406, 413)
            assert ("RateLimit-Policy" in headers) == ("RateLimit" in headers) == limited, (method, path, status)
            replayed = (method, path) == ("post", "/api/v1/payouts") and status in (201, 422)
            assert ("Idempotent-Replayed" in headers) == replayed, (method, path, status)
    too_many = _headers(document, "post", "/api/v1/payouts", 429)
    assert too_many["Retry-After"] == {
        "schema": {"type": "integer", "minimum": 1},
        "description": too_many["Retry-After"]["description"],
        "required": True,
    }
    assert too_many["RateLimit"].get("required", False) is False
    assert _headers(document, "post", "/api/v1/payouts", 201)["Idempotent-Replayed"]["schema"] == {
        "type": "string",
        "enum": ["true"],
    }


def test_a_real_429_sends_every_header_the_document_lists_for_it(document, make_merchant, settings):
    settings.READ_RATE_LIMIT = "1/h"
    merchant = make_merchant()
    merchant.api.get("/me")

    reply = merchant.api.get("/me")

    assert reply.status == 429
    listed = {name.lower() for name in _headers(document, "get", "/api/v1/me", 429)}
    assert listed == {"x-request-id", "retry-after", "ratelimit-policy", "ratelimit"}
    assert listed <= set(reply.headers)
