"""The OpenAPI document and its rendered docs, as an integrator meets them.

The docs page works offline (everything it loads comes from the API itself),
the document says which statuses, error codes and headers each operation
really sends, and a client generated from it by a common generator makes a
payout.
"""

from __future__ import annotations

import http.client
import re

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
