"""What an attacker can and cannot do, over HTTP against the live server.

Authentication on every endpoint, one merchant never reaching another's data,
API keys never stored usable, the demo endpoint closed outside demo mode,
per-key rate limits, the body size limit, CORS, and no secret in the repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
import warnings
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import URLPattern
from django.utils import timezone

from api import urls as api_urls
from conftest import count
from merchants import services as merchant_services
from merchants.keys import api_key_hash, demo_api_key
from merchants.models import ApiKey

REPO_ROOT = Path(__file__).resolve().parents[3]

# The only routes anyone may call without a key. A new route is authenticated
# unless it is added here on purpose.
PUBLIC_ROUTES = {
    "health",
    "health/live",
    "health/ready",
    "demo/merchants",
    "metrics",  # no API key: its own bearer token, METRICS_TOKEN (test_metrics.py)
    "schema",
    "docs",
    "docs/redoc.standalone.js",
    # Signing in and out: no key, no session needed (test_accounts.py).
    "auth/login",
    "auth/demo-login",
    "auth/logout",
}
# Answers 401 without a session, and takes no API key (test_accounts.py).
SESSION_ONLY_ROUTES = {"auth/session"}


def routes() -> list[tuple[str, str]]:
    """(method, route) for every route of the API, trailing-slash aliases included, from the resolver."""
    found = []
    for pattern in api_urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or not hasattr(pattern.callback, "view_class"):
            continue
        route = str(pattern.pattern)
        if route.startswith("^"):  # the catch-all 404
            continue
        view = pattern.callback.view_class
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                found.append((method.upper(), route))
    return found


ROUTES = routes()
PRIVATE = [(m, r) for m, r in ROUTES if r.rstrip("/") not in PUBLIC_ROUTES | SESSION_ONLY_ROUTES]


def test_the_public_routes_are_exactly_the_known_ones(api, settings):
    """Ask every route without an API key: those that answer anything but 401 are the public ones."""
    settings.METRICS_TOKEN = "metrics-token-for-the-public-routes-test"
    # Money in answers 404 without these (it looks absent); with them, it asks for its credentials.
    settings.INTERNAL_API_TOKEN = "internal-token-for-the-public-routes-test-0123"
    settings.DEMO_MODE = True
    # Not an API key: only the metrics route takes it.
    anonymous = api.as_merchant(None)
    headers = {"Authorization": f"Bearer {settings.METRICS_TOKEN}", "Idempotency-Key": str(uuid.uuid4())}

    answered = {
        (method, route): anonymous.request(method, _path(route, 1), headers=headers).status for method, route in ROUTES
    }

    public = {route.rstrip("/") for (method, route), status in answered.items() if status != 401}
    assert public == PUBLIC_ROUTES
    assert sorted({r.rstrip("/") for (m, r), status in answered.items() if status == 401}) == [
        "api-keys",
        "api-keys/<int:api_key_id>",
        "auth/session",
        "balance",
        "bank-accounts",
        "bank-accounts/<int:bank_account_id>",
        "demo/payments",
        "events",
        "events/<str:event_id>",
        "events/<str:event_id>/redeliver",
        "internal/payments",
        "ledger",
        "ledger/export.csv",
        "me",
        "payouts",
        "payouts/<int:payout_id>",
        "payouts/<int:payout_id>/events",
        "payouts/export.csv",
        "security-events",
        "webhook-endpoints",
        "webhook-endpoints/<int:endpoint_id>",
        "webhook-endpoints/<int:endpoint_id>/deliveries",
        "webhook-endpoints/<int:endpoint_id>/rotate-secret",
    ]
    assert len(PRIVATE) == 58  # 29 operations, each with and without a trailing slash


def _path(route: str, payout_id: int) -> str:
    return "/" + re.sub(r"<int:\w+>", str(payout_id), route)


def _assert_401(reply) -> None:
    assert reply.status == 401, reply.text
    assert reply.json == {
        "error": {"code": "unauthenticated", "message": reply.json["error"]["message"], "field": None}
    }
    assert reply.headers.get("www-authenticate") == "Bearer"


@pytest.fixture
def victim(make_merchant):
    merchant = make_merchant(credit_paise=100_000)
    reply = merchant.api.create_payout(1_000, merchant.bank_account_id)
    assert reply.status == 201
    merchant.payout_id = reply.json["id"]
    return merchant


@pytest.mark.parametrize(("method", "route"), PRIVATE, ids=[f"{m} /{r}" for m, r in PRIVATE])
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer sk_live_" + "x" * 43,
        "Bearer ",
        "Bearer " + "k" * 500,
        "Basic dXNlcjpwYXNz",
        "sk_live_without_a_scheme",
    ],
    ids=["missing", "wrong key", "empty key", "oversized key", "basic auth", "no scheme"],
)
def test_every_endpoint_refuses_a_missing_or_wrong_key(api, victim, method, route, authorization, settings):
    settings.INTERNAL_API_TOKEN = "internal-token-that-none-of-these-is-0123456789"
    settings.DEMO_MODE = True
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = {"amount_paise": 100, "bank_account_id": victim.bank_account_id} if method == "POST" else None

    reply = api.request(method, _path(route, victim.payout_id), body=body, headers=headers)

    _assert_401(reply)
    assert count("payouts_payout") == 1


def test_the_key_of_another_merchant_with_the_right_prefix_is_still_refused(api, victim):
    """Keys are compared whole: the 12-character prefix kept in clear opens nothing."""
    forged = victim.api_key[:12] + "A" * (len(victim.api_key) - 12)
    _assert_401(api.as_merchant(forged).get("/balance"))


def test_a_revoked_key_is_refused(victim):
    ApiKey.objects.filter(merchant_id=victim.id).update(revoked_at=timezone.now())
    _assert_401(victim.api.get("/me"))
    _assert_401(victim.api.create_payout(100, victim.bank_account_id))


def test_another_merchant_gets_404_for_a_payout_exactly_like_a_missing_one(make_merchant, victim):
    intruder = make_merchant(credit_paise=100_000)

    for path in (f"/payouts/{victim.payout_id}", f"/payouts/{victim.payout_id}/events"):
        theirs = intruder.api.get(path)
        missing = intruder.api.get(path.replace(str(victim.payout_id), "999999999"))
        assert theirs.status == missing.status == 404
        assert theirs.json == missing.json  # nothing tells "exists" from "not yours"
    assert victim.api.get(f"/payouts/{victim.payout_id}").status == 200


def test_another_merchants_bank_account_cannot_receive_a_payout(make_merchant, victim):
    intruder = make_merchant(credit_paise=100_000)

    reply = intruder.api.create_payout(5_000, victim.bank_account_id)

    assert reply.status == 400
    assert reply.error_code == "invalid_bank_account"
    assert intruder.api.balance() == (100_000, 0)
    assert count("payouts_payout", "merchant_id = %s", [intruder.id]) == 0


def test_another_merchants_payouts_and_ledger_never_appear_in_lists(make_merchant, victim):
    intruder = make_merchant(credit_paise=100_000)
    for amount in (2_000, 3_000):
        assert victim.api.create_payout(amount, victim.bank_account_id).status == 201
    mine = intruder.api.create_payout(4_000, intruder.bank_account_id).json["id"]
    victims_cursor = victim.api.get("/payouts?limit=1").json["next"].split("/api/v1", 1)[1]

    seen = set()
    path = "/payouts?limit=1"
    while path:
        page = intruder.api.get(path).json
        seen |= {p["id"] for p in page["results"]}
        path = page["next"].split("/api/v1", 1)[1] if page["next"] else None
    for status in ("pending", "processing", "completed", "failed"):
        seen |= {p["id"] for p in intruder.api.get(f"/payouts?status={status}").json["results"]}
    # A cursor only says where to start; it never widens whose rows are read.
    seen |= {p["id"] for p in intruder.api.get(victims_cursor).json["results"]}

    assert seen == {mine}
    ledger = intruder.api.get("/ledger?limit=100").json["results"]
    assert {e["payout_id"] for e in ledger} == {None, mine}
    assert [a["id"] for a in intruder.api.get("/bank-accounts").json] == [intruder.bank_account_id]


def _every_value_in_the_database() -> str:
    """Every row of every table of the database, as text: what a dump would show."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        chunks = []
        for table in tables:
            cursor.execute(f"SELECT t::text FROM {table} AS t")
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


def _pg_dump() -> str | None:
    """pg_dump of the test database, by the first pg_dump at hand that can read it."""
    candidates = [shutil.which("pg_dump")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"))
    except ImportError:
        pass
    db = connection.settings_dict
    arguments = ["--data-only", "--no-owner", "-d", db["NAME"], "-U", db["USER"] or "postgres"]
    if db.get("HOST"):
        arguments += ["-h", db["HOST"]]
    if db.get("PORT"):
        arguments += ["-p", str(db["PORT"])]
    env = {"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"}
    for binary in filter(None, candidates):
        if not Path(binary).exists():
            continue
        result = subprocess.run([binary, *arguments], capture_output=True, text=True, timeout=60, env=env, check=False)
        if result.returncode == 0:
            return result.stdout
    return None


def test_a_database_dump_reveals_no_usable_api_key(make_merchant):
    merchants = [make_merchant(credit_paise=10_000) for _ in range(3)]
    for merchant in merchants:
        assert merchant.api.create_payout(1_000, merchant.bank_account_id).status == 201
    demo = merchant_services.merchant_create(name="Demo", bank_accounts=[], is_demo=True)
    demo_key = merchant_services.api_key_issue(merchant_id=demo.id, key=demo_api_key(merchant_id=demo.id))
    keys = [m.api_key for m in merchants] + [demo.api_key, demo_key]

    dumps = {"every column of every table": _every_value_in_the_database()}
    dumped = _pg_dump()
    if dumped is not None:
        dumps["pg_dump"] = dumped

    for how, dump in dumps.items():
        for key in keys:
            assert api_key_hash(key) in dump, how  # the keys table was in the dump...
            assert key not in dump, how  # ...but no key,
            assert key[12:] not in dump, how  # nor the secret part of one
    for merchant in merchants:  # and every key still works
        assert merchant.api.get("/me").status == 200


def test_demo_endpoints_are_404_when_demo_mode_is_off(api, settings):
    settings.DEMO_MODE = False
    for path in ("/demo/merchants", "/demo/merchants/", "/demo", "/demo/anything"):
        reply = api.get(path)
        assert reply.status == 404, path
        assert reply.error_code == "not_found"
        assert "api_key" not in reply.text

    settings.DEMO_MODE = True
    assert api.get("/demo/merchants").status == 200


def test_the_rate_limit_counts_each_key_on_its_own(make_merchant, settings):
    settings.PAYOUT_RATE_LIMIT = "3/h"  # an hour-long window, so the test never straddles two
    busy, other = make_merchant(credit_paise=100_000), make_merchant(credit_paise=100_000)
    second_key = merchant_services.api_key_issue(merchant_id=busy.id)

    replies = [busy.api.create_payout(100, busy.bank_account_id) for _ in range(4)]

    assert [r.status for r in replies] == [201, 201, 201, 429]
    assert replies[3].error_code == "rate_limited"
    assert 1 <= int(replies[3].headers["retry-after"]) <= 3600
    # Another merchant's key, and another key of the same merchant, have their own budgets.
    assert [other.api.create_payout(100, other.bank_account_id).status for _ in range(3)] == [201] * 3
    assert busy.api.as_merchant(second_key).create_payout(100, busy.bank_account_id).status == 201
    # Reads have a budget of their own (READ_RATE_LIMIT, off here).
    assert busy.api.get("/payouts").status == 200
    assert count("payouts_payout", "merchant_id = %s", [busy.id]) == 4


# --- RateLimit headers, the read limit and the failed-key limit ------------------------------

RATELIMIT = re.compile(r'"(\w+)";r=(\d+);t=(\d+)')
WRONG_KEY = "sk_live_" + "x" * 43


def _ratelimit(reply) -> tuple[str, int, int]:
    """(policy, remaining, seconds to reset) from the RateLimit header."""
    match = RATELIMIT.fullmatch(reply.headers["ratelimit"])
    assert match, reply.headers["ratelimit"]
    return match.group(1), int(match.group(2)), int(match.group(3))


@pytest.fixture
def fresh_limits():
    """The address-based counters are shared by every test from 127.0.0.1: start them at zero."""
    from huey.contrib.djhuey import HUEY

    conn = HUEY.storage.conn
    for key in conn.scan_iter(f"{HUEY.name}:rate:*"):
        conn.delete(key)


def test_payout_responses_say_the_policy_and_what_is_left(make_merchant, settings):
    settings.PAYOUT_RATE_LIMIT = "3/h"
    merchant = make_merchant(credit_paise=100_000)

    replies = [merchant.api.create_payout(100, merchant.bank_account_id) for _ in range(4)]

    assert [r.status for r in replies] == [201, 201, 201, 429]
    assert [r.headers["ratelimit-policy"] for r in replies] == ['"payouts";q=3;w=3600'] * 4
    states = [_ratelimit(r) for r in replies]
    assert [(policy, remaining) for policy, remaining, _ in states] == [("payouts", n) for n in (2, 1, 0, 0)]
    assert all(1 <= reset <= 3600 for _, _, reset in states)
    assert states[3][2] == int(replies[3].headers["retry-after"])
    # With the read limit off, reads carry no RateLimit headers.
    assert "ratelimit" not in merchant.api.get("/balance").headers


def test_reads_are_limited_per_key_with_a_policy_of_their_own(make_merchant, settings):
    settings.READ_RATE_LIMIT = "4/h"
    merchant = make_merchant(credit_paise=100_000)
    second_key = merchant_services.api_key_issue(merchant_id=merchant.id)

    replies = [merchant.api.get(path) for path in ("/me", "/balance", "/payouts", "/ledger", "/bank-accounts")]

    assert [r.status for r in replies] == [200, 200, 200, 200, 429]
    assert replies[4].error_code == "rate_limited"
    assert 1 <= int(replies[4].headers["retry-after"]) <= 3600
    assert [r.headers["ratelimit-policy"] for r in replies] == ['"reads";q=4;w=3600'] * 5
    assert [_ratelimit(r)[:2] for r in replies] == [("reads", n) for n in (3, 2, 1, 0, 0)]
    # Another key has its own budget, and a payout is not a read.
    assert merchant.api.as_merchant(second_key).get("/me").status == 200
    assert merchant.api.create_payout(100, merchant.bank_account_id).status == 201


def test_wrong_keys_from_one_address_are_refused_after_the_limit(api, make_merchant, settings, fresh_limits):
    settings.AUTH_FAILURE_RATE_LIMIT = "3/h"
    merchant = make_merchant(credit_paise=10_000)
    guesser = api.as_merchant(WRONG_KEY)

    replies = [guesser.get("/me"), guesser.get("/balance"), guesser.get("/payouts")]
    replies.append(guesser.create_payout(100, merchant.bank_account_id))

    assert [r.status for r in replies] == [401, 401, 401, 429]
    assert replies[3].error_code == "rate_limited"
    assert 1 <= int(replies[3].headers["retry-after"]) <= 3600
    assert [r.headers["ratelimit-policy"] for r in replies] == ['"auth";q=3;w=3600'] * 4
    assert [_ratelimit(r)[:2] for r in replies] == [("auth", n) for n in (2, 1, 0, 0)]
    # While the window lasts the address learns nothing about any key: a right guess is refused alike.
    right = merchant.api.get("/me")
    assert right.status == 429
    assert right.error_code == "rate_limited"
    assert count("payouts_payout") == 0
    # A request without a key guesses nothing: still the plain 401.
    assert api.get("/me").status == 401


def test_behind_a_trusted_proxy_each_client_address_has_its_own_budget(api, make_merchant, settings, fresh_limits):
    settings.AUTH_FAILURE_RATE_LIMIT = "2/h"
    settings.TRUSTED_PROXIES = 1
    merchant = make_merchant(credit_paise=10_000)
    guesser = api.as_merchant(WRONG_KEY)

    def from_address(forwarded_for: str, client=guesser) -> int:
        return client.get("/me", headers={"X-Forwarded-For": forwarded_for}).status

    assert [from_address("203.0.113.7") for _ in range(3)] == [401, 401, 429]
    # The proxy appends the address it saw; what the client wrote before it counts for nothing.
    assert from_address("198.51.100.9, 203.0.113.7") == 429
    assert from_address("203.0.113.8") == 401
    assert from_address("203.0.113.8", merchant.api) == 200
    # An IPv6 client holds a whole /64: its addresses share one budget.
    assert [from_address(f"2001:db8:0:1::{n}") for n in (1, 2, 3)] == [401, 401, 429]
    assert from_address("2001:db8:0:2::1") == 401


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(api, settings, fresh_limits):
    settings.AUTH_FAILURE_RATE_LIMIT = "2/h"
    guesser = api.as_merchant(WRONG_KEY)

    statuses = [guesser.get("/me", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status for n in range(3)]

    assert statuses == [401, 401, 429]


def test_the_limits_are_not_enforced_while_redis_is_unreachable(
    api, make_merchant, settings, monkeypatch, fresh_limits
):
    """Fail open: taking payouts matters more than counting them; and an outage does not slow every request."""
    import socket
    import time

    import redis
    from huey.contrib.djhuey import HUEY

    from api import throttling

    merchant = make_merchant(credit_paise=10_000)
    guesser = api.as_merchant(WRONG_KEY)
    settings.PAYOUT_RATE_LIMIT = settings.READ_RATE_LIMIT = settings.AUTH_FAILURE_RATE_LIMIT = "1/h"
    # Each budget used up while Redis is there: one more of each would be 429.
    used = [
        merchant.api.get("/balance"),
        merchant.api.create_payout(1_000, merchant.bank_account_id),
        guesser.get("/me"),  # last: from now on this address gets 429 for any key
    ]
    assert [r.status for r in used] == [200, 201, 401]
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    # The client as configured in production, retries included, against a Redis that is gone.
    monkeypatch.setattr(HUEY.storage, "conn", redis.Redis(port=closed_port, socket_connect_timeout=1))
    monkeypatch.setattr(throttling, "_redis_paused_until", 0.0)  # restored after the test

    wrong = guesser.get("/me")
    started = time.monotonic()
    reads = [merchant.api.get("/balance") for _ in range(2)]
    reads_took = time.monotonic() - started
    payout = merchant.api.create_payout(1_000, merchant.bank_account_id)

    assert [r.status for r in [wrong, *reads, payout]] == [401, 200, 200, 201]
    assert not any("ratelimit" in r.headers for r in [wrong, *reads, payout])
    assert count("payouts_payout", "merchant_id = %s", [merchant.id]) == 2
    # The first failure paused the limiters: the reads did not wait for Redis (its retries take seconds).
    assert reads_took < 1.5


def test_the_browser_may_read_the_rate_limit_headers(make_merchant):
    merchant = make_merchant()

    reply = merchant.api.get("/me", headers={"Origin": django_settings.CORS_ALLOWED_ORIGINS[0]})

    exposed = set(reply.headers["access-control-expose-headers"].lower().split(", "))
    assert {"ratelimit", "ratelimit-policy", "retry-after", "idempotent-replayed", "x-request-id"} <= exposed


def test_a_body_over_the_limit_is_413_and_one_at_the_limit_is_read(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    head = f'{{"amount_paise": 100, "bank_account_id": {merchant.bank_account_id}, "note": "'.encode()

    def body_of(size: int) -> bytes:
        return head + b"x" * (size - len(head) - 2) + b'"}'

    headers = {"Content-Type": "application/json"}
    over = merchant.api.request(
        "POST", "/payouts", raw=body_of(limit + 1), headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    at = merchant.api.request(
        "POST", "/payouts", raw=body_of(limit), headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )

    assert over.status == 413
    assert over.error_code == "request_too_large"
    assert at.status == 201, at.text
    assert count("payouts_payout") == 1


def _preflight(api, origin: str):
    return api.request(
        "OPTIONS",
        "/payouts",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )


def test_cors_allows_the_configured_origin_only(api):
    allowed = django_settings.CORS_ALLOWED_ORIGINS[0]

    ok = _preflight(api, allowed)
    refused = _preflight(api, "https://attacker.example")
    lookalike = _preflight(api, allowed + ".attacker.example")

    assert ok.headers.get("access-control-allow-origin") == allowed
    assert {"authorization", "idempotency-key"} <= set(ok.headers["access-control-allow-headers"].split(", "))
    assert "POST" in ok.headers["access-control-allow-methods"]
    for reply in (refused, lookalike):
        assert "access-control-allow-origin" not in reply.headers
    # The dashboard signs in with a session cookie: its origins may send it (and X-CSRFToken).
    assert ok.headers.get("access-control-allow-credentials") == "true"
    assert "x-csrftoken" in ok.headers["access-control-allow-headers"].split(", ")
    for reply in (refused, lookalike):
        assert "access-control-allow-credentials" not in reply.headers


# --- no secret in the repository ----------------------------------------------------------

_LIVE = "sk_" + "live_"  # spelled apart so this file does not match itself
SECRET_PATTERNS = {
    "an API key": re.compile(re.escape(_LIVE) + r"[A-Za-z0-9_\-]{20,}"),
    "a demo API key": re.compile("sk_" + r"demo_[0-9a-f]{40}"),
    "a private key": re.compile("-----BEGIN " + r"(?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "an AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
}
# Settings come from the environment: a literal value here would ship to every deploy.
SETTINGS_LITERALS = re.compile(
    r"""^\s*(?:SECRET_KEY|[A-Z_]*PASSWORD|[A-Z_]*TOKEN|[A-Z_]*API_KEY)\s*=\s*["']""", re.MULTILINE
)
URL_WITH_PASSWORD = re.compile(r"\b[a-z][a-z0-9+]*://[^/\s:@'\"]+:[^/\s@'\"]+@")
# docker-compose.yml runs a throwaway local stack and says so at its top.
URL_PASSWORD_ALLOWED = {"docker-compose.yml"}


def repository_files() -> list[Path]:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout.decode()
    return [REPO_ROOT / name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()]


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:4096]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_secret_is_committed_to_the_repository():
    found = []
    for path in repository_files():
        text = _text(path)
        if text is None:
            continue
        name = str(path.relative_to(REPO_ROOT))
        for what, pattern in SECRET_PATTERNS.items():
            found += [f"{name}: {what}: {m.group(0)[:16]}…" for m in pattern.finditer(text)]
        if name not in URL_PASSWORD_ALLOWED:
            found += [f"{name}: a URL with a password" for _ in URL_WITH_PASSWORD.finditer(text)]
        if name.endswith("settings.py"):
            found += [f"{name}: a literal {m.group(0).strip()}" for m in SETTINGS_LITERALS.finditer(text)]
    assert found == []


def test_the_secret_scan_would_catch_a_committed_key():
    leaked = f'API_KEY = "{_LIVE}{"Ab3" * 12}"\nDATABASE_URL = "postgres://app:' + 'hunter2@db/app"\n'
    assert SECRET_PATTERNS["an API key"].search(leaked)
    assert URL_WITH_PASSWORD.search(leaked)
    assert SETTINGS_LITERALS.search(leaked)
