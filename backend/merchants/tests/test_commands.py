"""The merchants' commands (create_merchant, seed), run as an operator runs them: a separate process."""

from __future__ import annotations

import json

from django.db import connection

from conftest import manage
from merchants.models import Merchant


def test_create_merchant_prints_one_json_object_with_a_working_key(api):
    result = manage("create_merchant", "--name", "Asha Designs", "--credit-paise", "250000")

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"id", "name", "api_key", "bank_account_ids"}
    assert created["name"] == "Asha Designs"
    assert len(created["bank_account_ids"]) == 1
    merchant = api.as_merchant(created["api_key"])
    assert merchant.get("/me").json == {"id": created["id"], "name": "Asha Designs"}
    assert merchant.balance() == (250_000, 0)
    assert [a["id"] for a in merchant.get("/bank-accounts").json] == created["bank_account_ids"]


def test_api_keys_are_stored_only_as_hashes(api):
    created = json.loads(manage("create_merchant", "--name", "Hash", "--credit-paise", "1").stdout)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM merchants_apikey")
        dump = repr(cursor.fetchall())
    assert created["api_key"] not in dump
    assert created["api_key"][8:] not in dump


def test_seed_creates_three_demo_merchants_once(api, settings):
    first = manage("seed")
    second = manage("seed")

    assert first.returncode == second.returncode == 0
    assert Merchant.objects.filter(is_demo=True).count() == 3
    balances = sorted(Merchant.objects.values_list("available_paise", flat=True))
    assert all(balance > 0 for balance in balances)
    assert "exists" in second.stdout and "created" not in second.stdout
    settings.DEMO_MODE = True
    demo = api.get("/demo/merchants").json
    assert len(demo) == 3
    for merchant in demo:
        assert api.as_merchant(merchant["api_key"]).get("/me").json["id"] == merchant["id"]
