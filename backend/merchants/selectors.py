"""The merchants' read side. Nothing here locks: dashboards never wait on a payout."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from merchants.keys import api_key_hash, demo_api_key
from merchants.models import ApiKey, BankAccount, Merchant, SecurityEvent


@dataclass(frozen=True)
class KeyOwner:
    merchant_id: int
    merchant_name: str
    api_key_id: int
    use_unrecorded: bool  # last_used_at is more than a minute old: record this use


def merchant_by_api_key(*, key: str) -> KeyOwner | None:
    """Who a live API key belongs to. Runs on every request: one indexed query, no ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.merchant_id, m.name, k.id,"
            " k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'"
            " FROM merchants_apikey AS k"
            " JOIN merchants_merchant AS m ON m.id = k.merchant_id"
            " WHERE k.key_hash = %s AND k.revoked_at IS NULL",
            [api_key_hash(key)],
        )
        row = cursor.fetchone()
    return KeyOwner(*row) if row else None


def api_keys(*, merchant_id: int) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(merchant_id=merchant_id).order_by("-id")


def security_events(*, merchant_id: int) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(merchant_id=merchant_id)


def login_retry_after(*, email: str, client_address: str, max_failures: int, window_seconds: int) -> int | None:
    """Seconds until a sign-in may be tried again, or None when it may be tried now.

    Counts the failed sign-ins of the last ``window_seconds`` (database clock)
    for this email and for this client address; beyond ``max_failures`` of
    either, the wait lasts until enough of them have left the window.
    """
    waits = []
    for column, value in (("email", email), ("client_address", client_address)):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT created_at FROM merchants_securityevent WHERE kind = 'login_failed' AND {column} = %s"
                " AND created_at > now() - make_interval(secs => %s) ORDER BY created_at DESC LIMIT %s",
                [value, window_seconds, max_failures],
            )
            times = [row[0] for row in cursor.fetchall()]
            if len(times) < max_failures:
                continue
            # The max_failures-th newest failure must leave the window before one more try.
            cursor.execute(
                "SELECT greatest(1, ceil(extract(epoch FROM %s + make_interval(secs => %s) - now())))::int",
                [times[-1], window_seconds],
            )
            waits.append(cursor.fetchone()[0])
    return max(waits) if waits else None


def balance_get(*, merchant_id: int) -> dict:
    available, held = Merchant.objects.values_list("available_paise", "held_paise").get(pk=merchant_id)
    return {"available_paise": available, "held_paise": held, "currency": "INR"}


def bank_accounts(*, merchant_id: int) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(merchant_id=merchant_id).order_by("id")


def bank_account_get(*, merchant_id: int, bank_account_id: int) -> BankAccount | None:
    return BankAccount.objects.filter(merchant_id=merchant_id, pk=bank_account_id).first()


def bank_account_status(*, merchant_id: int, bank_account_id: int) -> str | None:
    """The status of the merchant's bank account, or None if it has none with that id. One statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM merchants_bankaccount WHERE id = %s AND merchant_id = %s",
            [bank_account_id, merchant_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def demo_merchants() -> list[dict]:
    return [
        {"id": merchant_id, "name": name, "api_key": demo_api_key(merchant_id=merchant_id)}
        for merchant_id, name in Merchant.objects.filter(is_demo=True).order_by("id").values_list("id", "name")
    ]
