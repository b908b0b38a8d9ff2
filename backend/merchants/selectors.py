"""The merchants' read side. Nothing here locks: dashboards never wait on a payout."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from merchants.keys import api_key_hash, demo_api_key
from merchants.models import BankAccount, Merchant


def merchant_by_api_key(*, key: str) -> tuple[int, str] | None:
    """(merchant id, name) for a live API key. Runs on every request: one indexed query, no ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.merchant_id, m.name FROM merchants_apikey AS k"
            " JOIN merchants_merchant AS m ON m.id = k.merchant_id"
            " WHERE k.key_hash = %s AND k.revoked_at IS NULL",
            [api_key_hash(key)],
        )
        return cursor.fetchone()


def balance_get(*, merchant_id: int) -> dict:
    available, held = Merchant.objects.values_list("available_paise", "held_paise").get(pk=merchant_id)
    return {"available_paise": available, "held_paise": held, "currency": "INR"}


def bank_accounts(*, merchant_id: int) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(merchant_id=merchant_id).order_by("id")


def bank_account_exists(*, merchant_id: int, bank_account_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM merchants_bankaccount WHERE id = %s AND merchant_id = %s", [bank_account_id, merchant_id]
        )
        return cursor.fetchone() is not None


def demo_merchants() -> list[dict]:
    return [
        {"id": merchant_id, "name": name, "api_key": demo_api_key(merchant_id=merchant_id)}
        for merchant_id, name in Merchant.objects.filter(is_demo=True).order_by("id").values_list("id", "name")
    ]
