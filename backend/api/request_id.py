"""A request id on every request: in every log line it causes and in the response.

A client (or the proxy in front of us) may send ``X-Request-ID``; it is kept
when it is a short token of safe characters, so one id follows a request
across systems. Anything else is replaced by a fresh id: the value ends up in
log lines and headers, so it must not be able to forge or break them.
"""

from __future__ import annotations

import re
import uuid

from config.logs import bind_request_id

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/@-]{0,127}")


def request_id_from(value: str | None) -> str:
    """The caller's id when it is a sane token, else a new one."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Binds ``config.logs.request_id_var`` for the request and echoes it as ``X-Request-ID``.

    First in MIDDLEWARE, so every response carries the header, errors and
    redirects included, and everything logged while handling the request has
    the id.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        with bind_request_id(request_id):
            response = self.get_response(request)
        response[HEADER] = request_id
        return response
