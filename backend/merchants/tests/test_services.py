"""Merchant onboarding and credits, through the services."""

from __future__ import annotations

import pytest

from common.errors import InvalidAmount
from conftest import balance
from ledger.models import LedgerEntry
from merchants import services
from merchants.keys import api_key_hash
from merchants.models import ApiKey, BankAccount, Merchant
from merchants.selectors import merchant_by_api_key


def test_a_new_merchant_has_its_accounts_a_working_key_stored_as_a_hash_and_zero_balances(transactional_db):
    created = services.merchant_create(
        name="Asha Designs",
        bank_accounts=[
            {"holder_name": "Asha Rao", "ifsc": "HDFC0000001", "account_number": "123456789012"},
            {"holder_name": "Asha Rao", "ifsc": "ICIC0000002", "account_number": "000405012345"},
        ],
    )

    merchant = Merchant.objects.get(pk=created.id)
    assert (merchant.name, merchant.available_paise, merchant.held_paise) == ("Asha Designs", 0, 0)
    assert list(BankAccount.objects.filter(merchant=merchant).order_by("id").values_list("id", flat=True)) == (
        created.bank_account_ids
    )
    key = ApiKey.objects.get(merchant=merchant)
    assert (key.key_hash, key.prefix) == (api_key_hash(created.api_key), created.api_key[:12])
    found = merchant_by_api_key(key=created.api_key)
    assert found is not None
    assert (found.merchant_id, found.merchant_name, found.api_key_id) == (created.id, "Asha Designs", key.id)
    assert merchant_by_api_key(key=created.api_key + "x") is None


def test_issuing_the_same_key_twice_registers_it_once(transactional_db):
    created = services.merchant_create(name="Demo", bank_accounts=[], api_key="sk_demo_fixed")

    assert services.api_key_issue(merchant_id=created.id, key="sk_demo_fixed") == "sk_demo_fixed"

    assert ApiKey.objects.filter(merchant_id=created.id).count() == 1


def test_a_credit_posts_one_payment_entry(make_merchant):
    merchant = make_merchant()

    entry_id = services.merchant_credit(merchant_id=merchant.id, amount_paise=12_345, description="invoice 9")

    entry = LedgerEntry.objects.get(pk=entry_id)
    assert (entry.kind, entry.amount_paise, entry.description) == ("payment", 12_345, "invoice 9")
    assert balance(merchant) == (12_345, 0)


@pytest.mark.parametrize("amount", [0, -1, 2**63, 1.5, True, "100"])
def test_a_credit_of_a_bad_amount_is_refused_and_posts_nothing(make_merchant, amount):
    merchant = make_merchant()

    with pytest.raises(InvalidAmount):
        services.merchant_credit(merchant_id=merchant.id, amount_paise=amount, description="bad")

    assert LedgerEntry.objects.count() == 0
