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

from payouts.tests.conftest import count

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
