"""The read side. Nothing here locks: dashboards never wait on a payout."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from payouts.models import BankAccount, LedgerEntry, Merchant, Payout, PayoutEvent


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def merchant_by_api_key(*, key: str) -> tuple[int, str] | None:
    """(merchant id, name) for a live API key. Runs on every request: one indexed query, no ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.merchant_id, m.name FROM payouts_apikey AS k"
            " JOIN payouts_merchant AS m ON m.id = k.merchant_id"
            " WHERE k.key_hash = %s AND k.revoked_at IS NULL",
            [api_key_hash(key)],
        )
        return cursor.fetchone()


def balance_get(*, merchant_id: int) -> dict:
    available, held = Merchant.objects.values_list("available_paise", "held_paise").get(pk=merchant_id)
    return {"available_paise": available, "held_paise": held, "currency": "INR"}


def ledger_entries(*, merchant_id: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(merchant_id=merchant_id)


def bank_accounts(*, merchant_id: int) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(merchant_id=merchant_id).order_by("id")


def bank_account_exists(*, merchant_id: int, bank_account_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM payouts_bankaccount WHERE id = %s AND merchant_id = %s", [bank_account_id, merchant_id]
        )
        return cursor.fetchone() is not None


def payouts(*, merchant_id: int, status: str | None = None) -> QuerySet[Payout]:
    queryset = Payout.objects.filter(merchant_id=merchant_id)
    if status is not None:
        queryset = queryset.filter(status=status)
    return queryset


def payout_get(*, merchant_id: int, payout_id: int) -> Payout | None:
    return Payout.objects.filter(pk=payout_id, merchant_id=merchant_id).first()


def payout_events(*, merchant_id: int, payout_id: int) -> list[PayoutEvent] | None:
    """The payout's audit trail, oldest first; None if it is not this merchant's payout."""
    if not Payout.objects.filter(pk=payout_id, merchant_id=merchant_id).exists():
        return None
    return list(PayoutEvent.objects.filter(payout_id=payout_id, merchant_id=merchant_id).order_by("id"))


def demo_api_key(*, merchant_id: int) -> str:
    """The API key of a demo merchant, derived from SECRET_KEY so none is stored in clear."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-merchant:{merchant_id}".encode(), hashlib.sha256)
    return "sk_demo_" + digest.hexdigest()[:40]


def demo_merchants() -> list[dict]:
    return [
        {"id": merchant_id, "name": name, "api_key": demo_api_key(merchant_id=merchant_id)}
        for merchant_id, name in Merchant.objects.filter(is_demo=True).order_by("id").values_list("id", "name")
    ]
