"""The JSON shapes of the API.

Shared by the API views and by ``payout_create``, whose first response is
stored verbatim for idempotent replays.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ledger.models import LedgerEntry
from merchants.models import BankAccount
from payouts.models import Payout, PayoutEvent


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, microseconds kept."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render(data: Any) -> str:
    """Compact JSON text, as DRF's renderer writes it."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def rupees(paise: int) -> str:
    """Paise as Indian rupees with Indian digit grouping: 12345678 → "₹1,23,456.78"."""
    sign = "-" if paise < 0 else ""
    whole, fraction = divmod(abs(paise), 100)
    digits = str(whole)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    grouped = ",".join([*groups, tail]) if groups else tail
    return f"{sign}₹{grouped}.{fraction:02d}"


def payout_as_dict(payout: Payout) -> dict:
    return {
        "id": payout.id,
        "amount_paise": payout.amount_paise,
        "bank_account_id": payout.bank_account_id,
        "status": payout.status,
        "attempts": payout.attempts,
        "failure_reason": payout.failure_reason,
        "created_at": iso(payout.created_at),
        "updated_at": iso(payout.updated_at),
    }


def ledger_entry_as_dict(entry: LedgerEntry) -> dict:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount_paise": entry.amount_paise,
        "description": entry.description,
        "payout_id": entry.payout_id,
        "created_at": iso(entry.created_at),
    }


def payout_event_as_dict(event: PayoutEvent) -> dict:
    return {
        "from_status": event.from_status,
        "to_status": event.to_status,
        "attempt": event.attempt,
        "reason": event.reason,
        "created_at": iso(event.created_at),
    }


def bank_account_as_dict(account: BankAccount) -> dict:
    return {
        "id": account.id,
        "holder_name": account.holder_name,
        "ifsc": account.ifsc,
        "account_last4": account.account_number[-4:],
    }
