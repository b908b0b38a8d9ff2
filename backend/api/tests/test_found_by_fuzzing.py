"""Inputs that once made the API answer 500, kept as regression tests.

Each was found by fuzzing the API (test_fuzz_schema.py and probing around
what it generated); each must now be a 4xx in the error envelope.
"""

from __future__ import annotations

import base64
import uuid

import pytest

from api.schema import IDEMPOTENCY_KEY_PATTERN
from conftest import count


def _cursor(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


@pytest.mark.parametrize(
    "limit",
    [
        "%C2%B2",  # "²": str.isdigit() says yes, int() says no
        "%D9%A1%D9%A2",  # "١٢", Arabic-Indic digits
        "0",
        "000",
    ],
)
@pytest.mark.parametrize("path", ["/payouts", "/ledger"])
def test_a_limit_that_is_not_ascii_digits_or_is_zero_is_400(make_merchant, path, limit):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.get(f"{path}?limit={limit}")

    assert reply.status == 400, reply.text
    assert reply.error_code == "invalid_limit"


@pytest.mark.parametrize("path", ["/payouts", "/ledger"])
def test_a_limit_too_long_for_int_is_capped_like_any_large_limit(make_merchant, path):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.get(f"{path}?limit={'9' * 5000}")
    padded = merchant.api.get(f"{path}?limit={'0' * 10}20")

    assert reply.status == 200, reply.text
    assert [e["id"] for e in reply.json["results"]] == [e["id"] for e in merchant.api.get(path).json["results"]]
    assert padded.status == 200


@pytest.mark.parametrize(
    "token",
    [
        "p=abc",  # an id that is not a number: the query raised instead of answering
        "p=",
        "p=-5",
        "p=1e3",
        f"p={'9' * 40}",
        "o=-1",
        "r=x",
    ],
)
@pytest.mark.parametrize("path", ["/payouts", "/ledger"])
def test_a_forged_cursor_is_400_invalid_cursor(make_merchant, path, token):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.get(f"{path}?cursor={_cursor(token)}")

    assert reply.status == 400, reply.text
    assert reply.error_code == "invalid_cursor"


def test_a_real_cursor_still_pages(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    for _ in range(3):
        assert merchant.api.create_payout(100, merchant.bank_account_id).status == 201

    first = merchant.api.get("/payouts?limit=2").json
    second = merchant.api.get(first["next"].split("/api/v1", 1)[1]).json

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert second["results"][0]["id"] < first["results"][-1]["id"]


@pytest.mark.parametrize("raw", [b"[" * 6_000 + b"]" * 6_000, b'{"a":' * 2_500 + b"1" + b"}" * 2_500])
def test_a_body_nested_too_deeply_is_400_malformed_json(make_merchant, raw):
    merchant = make_merchant(credit_paise=10_000)

    reply = merchant.api.request(
        "POST", "/payouts", raw=raw, headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
    )

    assert reply.status == 400, reply.text
    assert reply.error_code == "malformed_json"
    assert count("payouts_payout") == 0


def test_the_schema_says_what_the_api_accepts(api):
    """Documented-valid input is accepted: the schema once allowed any limit, key and account id."""
    document = api.get("/schema?format=json").json
    payouts = document["paths"]["/api/v1/payouts"]
    limit = next(p for p in payouts["get"]["parameters"] if p["name"] == "limit")
    key = next(p for p in payouts["post"]["parameters"] if p["name"] == "Idempotency-Key")
    request = payouts["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    account = document["components"]["schemas"][request]["properties"]["bank_account_id"]

    assert limit["schema"]["minimum"] == 1
    assert key["schema"]["type"] == "string"
    assert key["schema"]["pattern"] == IDEMPOTENCY_KEY_PATTERN
    assert "format" not in key["schema"]  # format: uuid makes generated clients send a UUID object
    assert key["required"] is True
    assert account["minimum"] == 1
