"""The read side. Nothing here locks: dashboards never wait on a payout."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db.models import QuerySet

from payouts.models import ApiKey, BankAccount, LedgerEntry, Merchant, Payout, PayoutEvent


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def merchant_by_api_key(*, key: str) -> tuple[int, str] | None:
    """(merchant id, name) for a live API key, in one indexed query."""
    row = (
        ApiKey.objects.filter(key_hash=api_key_hash(key), revoked_at__isnull=True)
        .values_list("merchant_id", "merchant__name")
        .first()
    )
    return row


def balance_get(*, merchant_id: int) -> dict:
    available, held = Merchant.objects.values_list("available_paise", "held_paise").get(pk=merchant_id)
    return {"available_paise": available, "held_paise": held, "currency": "INR"}


def ledger_entries(*, merchant_id: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(merchant_id=merchant_id)


def bank_accounts(*, merchant_id: int) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(merchant_id=merchant_id).order_by("id")


def bank_account_exists(*, merchant_id: int, bank_account_id: int) -> bool:
    return BankAccount.objects.filter(pk=bank_account_id, merchant_id=merchant_id).exists()


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
