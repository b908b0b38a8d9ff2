"""Bank accounts: added by the merchant's owner, decided by the bank, deactivated by the owner.

Each function is one use case with its own durable transaction, and records
its security event (CONTRACT §7) in that transaction. The bank itself is
asked by ``payouts.verification`` (which may call the gateway, outside any
transaction); the answer comes back here through ``bank_account_decide``.
The database refuses any other transition (merchants/migrations/0003).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from django.db import connection, transaction

from common.errors import InvalidBankAccountDetails, InvalidRequestBody, NotFound
from merchants.account_numbers import account_number_encrypt
from merchants.models import BankAccount, SecurityEvent
from merchants.services import security_event_record

# ASCII only: "[0-9]" is not "\d", which takes any script's digits.
IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}", re.ASCII)
ACCOUNT_NUMBER = re.compile(r"[0-9]{9,18}", re.ASCII)
HOLDER_NAME_MAX = 200
# The longest wait between two questions to a silent bank.
MAX_VERIFICATION_BACKOFF_SECONDS = 3600

Status = BankAccount.Status


def bank_account_details_checked(body: object) -> tuple[str, str, str]:
    """(holder_name, ifsc, account_number) from a request body, or InvalidBankAccountDetails naming the field."""
    if not isinstance(body, dict):
        raise InvalidRequestBody("The body must be a JSON object with holder_name, ifsc and account_number.")
    holder_name, ifsc, number = body.get("holder_name"), body.get("ifsc"), body.get("account_number")
    if not isinstance(holder_name, str) or not holder_name.strip():
        raise InvalidBankAccountDetails("holder_name is required: the account holder's name.", field="holder_name")
    if len(holder_name) > HOLDER_NAME_MAX or any(unicodedata.category(c) in ("Cc", "Cs") for c in holder_name):
        raise InvalidBankAccountDetails(
            f"holder_name must be at most {HOLDER_NAME_MAX} characters, with no control characters.",
            field="holder_name",
        )
    if not isinstance(ifsc, str) or not IFSC.fullmatch(ifsc):
        raise InvalidBankAccountDetails(
            "ifsc must be an IFSC: 4 capital letters, a 0, then 6 capital letters or digits (like HDFC0001234).",
            field="ifsc",
        )
    if not isinstance(number, str) or not ACCOUNT_NUMBER.fullmatch(number):
        raise InvalidBankAccountDetails("account_number must be a string of 9 to 18 digits.", field="account_number")
    return " ".join(holder_name.split()), ifsc, number


def bank_account_add(
    *,
    merchant_id: int,
    holder_name: str,
    ifsc: str,
    account_number: str,
    user_id: int | None,
    client_address: str | None,
) -> BankAccount:
    """A new account, pending the bank's verification (the caller queues it after commit). Details checked first."""
    holder_name, ifsc, account_number = bank_account_details_checked(
        {"holder_name": holder_name, "ifsc": ifsc, "account_number": account_number}
    )
    now = _db_now()
    with transaction.atomic(durable=True):
        account = BankAccount.objects.create(
            merchant_id=merchant_id,
            holder_name=holder_name,
            ifsc=ifsc,
            account_number_encrypted=account_number_encrypt(account_number),
            account_last4=account_number[-4:],
            status=Status.PENDING_VERIFICATION,
            created_at=now,
            next_verification_at=now,
        )
        security_event_record(
            kind=SecurityEvent.Kind.BANK_ACCOUNT_ADDED,
            merchant_id=merchant_id,
            user_id=user_id,
            client_address=client_address,
            description=f"bank account {ifsc} …{account.account_last4} ({holder_name}) added; awaiting verification",
        )
    return account


def bank_account_deactivate(
    *, merchant_id: int, bank_account_id: int, user_id: int | None, client_address: str | None
) -> BankAccount:
    """No payout goes to the account any more. Twice changes nothing.

    A rejected account takes no payouts already: it stays rejected (what the
    bank said is kept), and nothing changes.
    """
    with transaction.atomic(durable=True):
        account = BankAccount.objects.select_for_update().filter(merchant_id=merchant_id, pk=bank_account_id).first()
        if account is None:
            raise NotFound("No such bank account.")
        if account.status in (Status.PENDING_VERIFICATION, Status.VERIFIED):
            account.status = Status.DEACTIVATED
            account.deactivated_at = _db_now()
            account.next_verification_at = None
            account.save(update_fields=["status", "deactivated_at", "next_verification_at"])
            security_event_record(
                kind=SecurityEvent.Kind.BANK_ACCOUNT_DEACTIVATED,
                merchant_id=merchant_id,
                user_id=user_id,
                client_address=client_address,
                description=f"bank account {account.ifsc} …{account.account_last4} deactivated",
            )
    return account


def bank_account_verification_claim(*, bank_account_id: int, lease_seconds: int) -> int | None:
    """Take the account's next question to the bank: returns its number, or None if not pending or not due.

    One worker at a time: until the answer is applied, the next question is
    due only after the lease, so a crashed worker's question is asked again
    by the sweep.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE merchants_bankaccount"
            "   SET verification_requests = verification_requests + 1,"
            "       next_verification_at = now() + make_interval(secs => %s)"
            " WHERE id = %s AND status = 'pending_verification'"
            "   AND next_verification_at <= now()"
            " RETURNING verification_requests",
            [lease_seconds, bank_account_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def bank_account_verification_later(*, bank_account_id: int, request: int, backoff_seconds: int) -> datetime | None:
    """The bank gave no answer to question ``request``: ask again after a backoff. Returns when, or None."""
    backoff = min(backoff_seconds * 2 ** (request - 1), MAX_VERIFICATION_BACKOFF_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE merchants_bankaccount SET next_verification_at = now() + make_interval(secs => %s)"
            " WHERE id = %s AND status = 'pending_verification' AND verification_requests = %s"
            " RETURNING next_verification_at",
            [max(backoff, 1), bank_account_id, request],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def bank_account_decide(
    *, bank_account_id: int, verified: bool, registered_name: str = "", rejection_reason: str = ""
) -> bool:
    """Apply the bank's answer to a pending account: verified with its registered name, or rejected with why.

    Returns whether it changed the account (False once decided or deactivated:
    a late answer changes nothing).
    """
    with transaction.atomic(durable=True):
        account = (
            BankAccount.objects.select_for_update()
            .filter(pk=bank_account_id, status=Status.PENDING_VERIFICATION)
            .first()
        )
        if account is None:
            return False
        account.decided_at = _db_now()
        account.next_verification_at = None
        if verified:
            account.status = Status.VERIFIED
            account.registered_name = (registered_name.strip() or account.holder_name.upper())[:200]
            kind = SecurityEvent.Kind.BANK_ACCOUNT_VERIFIED
            what = f"verified by the bank; registered name {account.registered_name!r}"
        else:
            account.status = Status.REJECTED
            account.rejection_reason = (rejection_reason.strip() or "rejected by the bank")[:255]
            kind = SecurityEvent.Kind.BANK_ACCOUNT_REJECTED
            what = f"rejected by the bank: {account.rejection_reason}"
        account.save(
            update_fields=["status", "registered_name", "rejection_reason", "decided_at", "next_verification_at"]
        )
        security_event_record(
            kind=kind,
            merchant_id=account.merchant_id,
            description=f"bank account {account.ifsc} …{account.account_last4} {what}",
        )
    return True


def bank_accounts_awaiting_verification(*, grace_seconds: int, limit: int = 100) -> list[int]:
    """Pending accounts whose next question to the bank is overdue by more than the grace: its task was lost."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM merchants_bankaccount"
            " WHERE status = 'pending_verification'"
            "   AND next_verification_at <= now() - make_interval(secs => %s)"
            " ORDER BY next_verification_at LIMIT %s",
            [grace_seconds, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _db_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]
