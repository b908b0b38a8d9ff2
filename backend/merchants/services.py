"""Merchant onboarding and credits: every way a merchant, its keys and its money arrive.

Each function is one use case with its own durable transaction. A credit
takes ``merchant_lock`` first and posts through the ledger
(``ledger_payment_credit``), like every other money change.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from common.errors import InvalidAmount
from ledger.postings import MAX_AMOUNT_PAISE, ledger_payment_credit
from merchants.keys import api_key_hash
from merchants.locks import merchant_lock
from merchants.models import ApiKey, BankAccount, Merchant
from webhooks.outbox import event_record


@dataclass(frozen=True)
class NewMerchant:
    id: int
    name: str
    api_key: str
    bank_account_ids: list[int]


def merchant_create(
    *,
    name: str,
    bank_accounts: list[dict],
    is_demo: bool = False,
    api_key: str | None = None,
    now: datetime | None = None,
) -> NewMerchant:
    """Create a merchant with its bank accounts and an API key.

    The plain key is returned once and stored only as its hash. Pass
    ``api_key`` to register a key derived elsewhere (demo merchants).
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        merchant = Merchant.objects.create(name=name, is_demo=is_demo, created_at=now)
        accounts = BankAccount.objects.bulk_create(
            [BankAccount(merchant=merchant, created_at=now, **account) for account in bank_accounts]
        )
        key = api_key_issue(merchant_id=merchant.id, key=api_key, now=now)
    return NewMerchant(id=merchant.id, name=name, api_key=key, bank_account_ids=[a.id for a in accounts])


def api_key_issue(*, merchant_id: int, key: str | None = None, now: datetime | None = None) -> str:
    """Register an API key for the merchant (a new random one unless given); returns it in clear."""
    key = key or "sk_live_" + secrets.token_urlsafe(32)
    ApiKey.objects.get_or_create(
        key_hash=api_key_hash(key),
        defaults={"merchant_id": merchant_id, "prefix": key[:12], "created_at": now or timezone.now()},
    )
    return key


def merchant_credit(*, merchant_id: int, amount_paise: int, description: str, now: datetime | None = None) -> int:
    """Record a customer payment to the merchant: a ``payment`` credit. Returns the entry id."""
    if type(amount_paise) is not int or not 0 < amount_paise <= MAX_AMOUNT_PAISE:
        raise InvalidAmount()
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        merchant_lock(merchant_id=merchant_id)
        entry = ledger_payment_credit(
            merchant_id=merchant_id, amount_paise=amount_paise, description=description, now=now
        )
        event_record(merchant_id=merchant_id, type="payment.credited", data=_ledger_entry_data(entry), now=now)
    return entry.id


def _ledger_entry_data(entry) -> dict:
    """The ledger entry as GET /ledger shows it (``payouts.representations.LEDGER_ENTRY``; a test holds them equal)."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount_paise": entry.amount_paise,
        "description": entry.description,
        "payout_id": entry.payout_id,
        "created_at": entry.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
