"""JSON log lines and the request id: the formatter's fields, the middleware's choices."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from api.request_id import RequestIdMiddleware
from config.logs import JsonFormatter, bind_request_id, request_id_var


def record(message="paid %s", args=("Asha",), exc_info=None, **extra) -> logging.LogRecord:
    return logging.getLogger("payouts.test").makeRecord(
        "payouts.test", logging.WARNING, __file__, 1, message, args, exc_info, extra=extra or None
    )


def test_a_line_is_one_json_object_with_the_request_id():
    with bind_request_id("req-1"):
        line = JsonFormatter().format(record(payout_id=7))
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "payouts.test"
    assert entry["message"] == "paid Asha"
    assert entry["request_id"] == "req-1"
    assert entry["payout_id"] == 7
    assert entry["time"].endswith("Z")
    assert "exc_info" not in entry
    assert "\n" not in line


def test_the_traceback_is_a_field():
    try:
        raise ValueError("bank said no")
    except ValueError:
        line = JsonFormatter().format(record(exc_info=sys.exc_info()))
    entry = json.loads(line)
    assert entry["request_id"] is None
    assert "ValueError: bank said no" in entry["exc_info"]


def test_binding_is_undone_after_the_block():
    with bind_request_id("outer"):
        with bind_request_id("inner"):
            assert request_id_var.get() == "inner"
        assert request_id_var.get() == "outer"
    assert request_id_var.get() is None


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("9f0c2a3e-1d2b-4c5d-8e9f-001122334455", True),
        ("Root=1-67a0b1c2-abc:def/ghi+jk=", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("has space", False),
        ('quote"', False),
        ("-leading-dash", False),
        ("", False),
    ],
)
def test_the_middleware_keeps_only_sane_ids(sent, kept):
    seen = {}

    def view(request):
        seen["inside"] = request_id_var.get()
        return HttpResponse("ok")

    headers = {"HTTP_X_REQUEST_ID": sent} if sent else {}
    response = RequestIdMiddleware(view)(RequestFactory().get("/api/v1/health", **headers))

    returned = response["X-Request-ID"]
    assert seen["inside"] == returned
    assert (returned == sent) is kept
    if not kept:
        assert len(returned) == 32 and returned.isalnum()
    assert request_id_var.get() is None
