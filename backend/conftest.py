"""Shared fixtures and helpers of every app's tests: factories, an HTTP client, SQL helpers.

Tests run on real PostgreSQL with committed transactions
(``transactional_db``), so locks, triggers and deferred constraints behave
exactly as in production. Factories (``merchant_new``, ``make_merchant``) go
through the services, never through HTTP: a trigger or service test needs no
server. A test that is about HTTP asks for ``api`` or a merchant's ``.api``,
and only then is the ``live_server`` started.

As in production, the tests run as the application's role, which owns
nothing and may only read and write rows: the test database is created and
migrated as the owner (``DATABASE_URL``'s role), then every connection of the
test session, the live server's included, uses the role ``app_role`` makes.
Between tests the owner empties the tables (the application role cannot, and
TRUNCATE is refused by the triggers, so it is done with them off). ``owner_sql``
gives tests the owner's connection, for breaking things on purpose.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg2
import pytest
from django.conf import settings
from django.core.servers import basehttp
from django.db import connection, connections
from django.test import TransactionTestCase
from psycopg2 import sql

from merchants import services as merchants
from ops.management.commands.app_role import app_role_ensure
from payouts import services as payouts
from payouts.idempotency import request_fingerprint

BACKEND = Path(__file__).resolve().parent

# The live server's listen backlog is 10 by default; the concurrency tests open
# forty connections at the same instant, as gunicorn in production accepts.
basehttp.WSGIServer.request_queue_size = 256

# The processes tests start (API, workers, commands) run with DEBUG off, where a
# generated bank account encryption key is refused: they get this process's key,
# so each reads the account numbers the others wrote.
os.environ.setdefault("BANK_ACCOUNT_ENCRYPTION_KEY", ",".join(settings.BANK_ACCOUNT_ENCRYPTION_KEYS))


_OWNER: dict[str, str] = {}


def owner_connect(**extra):
    """A new autocommit connection to the test database as its owner."""
    db = connections["default"].settings_dict
    conn = psycopg2.connect(
        dbname=db["NAME"],
        user=_OWNER["USER"],
        password=_OWNER["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        **extra,
    )
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        old_config = setup_databases(verbosity=0, interactive=False)
        db = connections["default"].settings_dict
        _OWNER.update(USER=db["USER"], PASSWORD=db["PASSWORD"])
        role, password = app_role_ensure(database=db["NAME"])
        db["USER"], db["PASSWORD"] = role, password
        connections.close_all()
    yield
    with django_db_blocker.unblock():
        connections.close_all()
        db["USER"], db["PASSWORD"] = _OWNER["USER"], _OWNER["PASSWORD"]
        teardown_databases(old_config, verbosity=0)


def _empty_tables(self) -> None:
    """After a transactional test: empty every table as the owner, with the triggers off."""
    conn = owner_connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename NOT IN ('django_migrations', 'django_content_type')"
            )
            tables = [sql.Identifier(name) for (name,) in cursor.fetchall()]
            cursor.execute("BEGIN; SET LOCAL session_replication_role = replica")
            cursor.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(tables)))
            cursor.execute("COMMIT")
    finally:
        conn.close()


TransactionTestCase._fixture_teardown = _empty_tables  # type: ignore[method-assign]


@pytest.fixture
def owner_sql():
    """Run SQL as the tables' owner (a superuser in development), autocommit."""
    conn = owner_connect()

    def run(statement: str, params=()):
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    yield run
    conn.close()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self):
        return json.loads(self.text)

    @property
    def error_code(self) -> str | None:
        body = self.json
        return body.get("error", {}).get("code") if isinstance(body, dict) else None


class Api:
    """A minimal HTTP client: one connection per request, safe to share across threads."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.api_key = api_key

    def as_merchant(self, api_key: str | None) -> Api:
        return Api(f"http://{self.host}:{self.port}", api_key)

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None, raw: bytes | None = None
    ) -> Reply:
        all_headers = {"Accept": "application/json"}
        if self.api_key is not None:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, f"/api/v1{path}", body=payload, headers=all_headers)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode())
        finally:
            conn.close()

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def create_payout(self, amount_paise, bank_account_id, key: str | None = None, **extra) -> Reply:
        body = {"amount_paise": amount_paise, "bank_account_id": bank_account_id, **extra}
        return self.request("POST", "/payouts", body=body, headers={"Idempotency-Key": key or str(uuid.uuid4())})

    def balance(self) -> tuple[int, int]:
        reply = self.get("/balance")
        assert reply.status == 200, reply.text
        return reply.json["available_paise"], reply.json["held_paise"]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    """Tests send bursts (and wrong keys) on purpose; the rate-limit tests turn the limits back on."""
    settings.PAYOUT_RATE_LIMIT = "off"
    settings.READ_RATE_LIMIT = "off"
    settings.AUTH_FAILURE_RATE_LIMIT = "off"


@pytest.fixture
def api(live_server, transactional_db) -> Api:
    return Api(live_server.url)


# --- factories: plain functions through the services ---------------------------------


def merchant_new(*, credit_paise: int = 0, name: str = "Merchant") -> tuple[int, str, int]:
    """A merchant with one bank account and ``credit_paise`` of customer payments: (id, API key, bank account id)."""
    created = merchants.merchant_create(
        name=name,
        bank_accounts=[{"holder_name": "Asha Rao", "ifsc": "HDFC0000001", "account_number": "123456789012"}],
    )
    if credit_paise:
        merchants.merchant_credit(merchant_id=created.id, amount_paise=credit_paise, description="customer payment")
    return created.id, created.api_key, created.bank_account_ids[0]


@dataclass
class MerchantFixture:
    id: int
    api_key: str
    bank_account_id: int
    _request: pytest.FixtureRequest = field(repr=False)

    @property
    def api(self) -> Api:
        """This merchant's HTTP client; starts the live server on first use."""
        return Api(self._request.getfixturevalue("live_server").url, self.api_key)


@pytest.fixture
def make_merchant(request, transactional_db):
    counter = iter(range(1, 10_000))

    def make(credit_paise: int = 0, name: str | None = None) -> MerchantFixture:
        merchant_id, api_key, bank_account_id = merchant_new(
            credit_paise=credit_paise, name=name or f"Merchant {next(counter)}"
        )
        return MerchantFixture(merchant_id, api_key, bank_account_id, request)

    return make


def payout_new(*, merchant_id: int, bank_account_id: int, amount_paise: int) -> int:
    """A pending payout requested through ``payout_create`` (no HTTP, no task queued): its id."""
    body = {"amount_paise": amount_paise, "bank_account_id": bank_account_id}
    response = payouts.payout_create(
        merchant_id=merchant_id,
        bank_account_id=bank_account_id,
        amount_paise=amount_paise,
        idempotency_key=uuid.uuid4(),
        fingerprint=request_fingerprint(body),
    )
    assert response.status == 201, response.body
    assert response.payout_id is not None
    return response.payout_id


@pytest.fixture
def payout(make_merchant) -> tuple[MerchantFixture, int]:
    """A merchant with 10 000 paise who requested a 6 000-paise payout: (merchant, payout id)."""
    merchant = make_merchant(credit_paise=10_000)
    return merchant, payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=6_000)


@pytest.fixture
def short_timeouts(settings):
    settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS = 1
    settings.PAYOUT_RETRY_BACKOFF_SECONDS = 0
    settings.PAYOUT_MAX_ATTEMPTS = 3
    return settings


# --- helpers ---------------------------------------------------------------------------


def balance(merchant: MerchantFixture) -> tuple[int, int]:
    """(available, held) as the merchant's row has them, read without HTTP."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT available_paise, held_paise FROM merchants_merchant WHERE id = %s", [merchant.id])
        available, held = cursor.fetchone()
    return available, held


def count(table: str, where: str = "TRUE", params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}", params)
        return cursor.fetchone()[0]


def database_url() -> str:
    """The URL of the test database this process uses, for a child process."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def manage(*args: str) -> subprocess.CompletedProcess:
    """``manage.py`` in a separate process, as an operator runs it, on the test database."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BACKEND,
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_until(condition, timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass (for real processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()
