"""Every way money and payouts move. Grep for ``payout_`` to see them all.

Transactions: each public function here is one use case and opens its own
durable transaction (nothing may wrap it). Money transactions take
``merchant_lock`` first, then touch payout rows of that merchant (one lock
order everywhere). No transaction is open while the bank is called.

The lifecycle (CONTRACT §3):

    pending --start attempt--> processing --settled--> completed
                                   |  ^    --declined/too many stuck attempts--> failed (+ reversal)
                                   |  |
                   stuck (no answer by attempt_deadline): bank inquiry, then
                   retry after backoff * 2^(k-1): a new attempt, same status

Fencing: an attempt is live while ``status = processing``, ``attempts = k``
and ``attempt_deadline IS NOT NULL``. Only the live attempt's answer is
applied; a late answer from an older attempt changes nothing. Because the bank
is idempotent on the payout's reference, a retry after a lost answer never
pays twice: the bank returns the first result.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from payouts import bank
from payouts.errors import IllegalTransition, InsufficientFunds, InvalidAmount
from payouts.idempotency import StoredResponse, idempotency_remember, idempotency_replay
from payouts.ledger import ledger_post
from payouts.locks import merchant_lock, merchant_lock_for_payout
from payouts.models import ApiKey, BankAccount, LedgerEntry, Merchant, Payout, PayoutEvent
from payouts.representations import payout_as_dict, render, rupees
from payouts.selectors import api_key_hash

logger = logging.getLogger(__name__)

MAX_AMOUNT_PAISE = 2**63 - 1
Status = Payout.Status


# --- creation ------------------------------------------------------------------------


def payout_create(
    *,
    merchant_id: int,
    bank_account_id: int,
    amount_paise: int,
    idempotency_key: UUID,
    fingerprint: str,
    now: datetime | None = None,
) -> StoredResponse:
    """Request a payout: hold its funds and remember the answer under the key.

    The caller has checked that the bank account is the merchant's. One
    transaction: lock the merchant (taking an id for the payout in the same
    round trip), then read the key's record - after the lock, so a concurrent
    request with the same key has committed or rolled back - and either replay
    it, or check the available balance and write the pending payout, its
    debit, its first event and the stored response in one statement.
    Processing is enqueued after commit.
    """
    if type(amount_paise) is not int or not 0 < amount_paise <= MAX_AMOUNT_PAISE:
        raise InvalidAmount()
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        available_paise, payout_id = merchant_lock_for_payout(merchant_id=merchant_id)
        replay = idempotency_replay(merchant_id=merchant_id, key=idempotency_key, fingerprint=fingerprint, now=now)
        if replay is not None:
            return replay
        if available_paise < amount_paise:
            response = StoredResponse.of_error(
                InsufficientFunds(
                    f"Insufficient funds: {rupees(available_paise)} available, {rupees(amount_paise)} requested."
                )
            )
            idempotency_remember(
                merchant_id=merchant_id,
                key=idempotency_key,
                fingerprint=fingerprint,
                response=response,
                payout_id=None,
                now=now,
            )
            return response
        payout = Payout(
            id=payout_id,
            merchant_id=merchant_id,
            bank_account_id=bank_account_id,
            amount_paise=amount_paise,
            status=Status.PENDING,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        response = StoredResponse(status=201, body=render(payout_as_dict(payout)))
        _payout_write(payout, key=idempotency_key, fingerprint=fingerprint, response=response)
        transaction.on_commit(lambda: _enqueue_processing(payout.id))
    return response


# The new payout, its debit, its first event and the idempotency record, in one
# statement. The triggers add the amount to held_paise and subtract it from
# available_paise (refusing it if that would go below zero) at the end of the
# statement; the deferred ones check the payout's postings at commit.
_PAYOUT_WRITE = """
WITH payout AS (
    INSERT INTO payouts_payout (id, merchant_id, bank_account_id, amount_paise, status, attempts,
                                bank_reference, created_at, updated_at)
    VALUES (%(id)s, %(merchant_id)s, %(bank_account_id)s, %(amount)s, 'pending', 0, '', %(now)s, %(now)s)
    RETURNING id
), debit AS (
    INSERT INTO payouts_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at)
    SELECT %(merchant_id)s, 'payout', -%(amount)s, %(description)s, id, %(now)s FROM payout
), event AS (
    INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason, created_at)
    SELECT %(merchant_id)s, id, NULL, 'pending', 0, 'payout requested; funds held', %(now)s FROM payout
)
INSERT INTO payouts_idempotencyrecord (merchant_id, key, fingerprint, response_status, response_body,
                                       payout_id, created_at, expires_at)
SELECT %(merchant_id)s, %(key)s, %(fingerprint)s, %(status)s, %(body)s, id, %(now)s, %(expires_at)s FROM payout
    ON CONFLICT (merchant_id, key) DO UPDATE  -- the key's earlier record had expired
   SET fingerprint = EXCLUDED.fingerprint, response_status = EXCLUDED.response_status,
       response_body = EXCLUDED.response_body, payout_id = EXCLUDED.payout_id,
       created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
"""


def _payout_write(payout: Payout, *, key: UUID, fingerprint: str, response: StoredResponse) -> None:
    """Caller holds the merchant lock and has checked the available balance."""
    assert connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(
            _PAYOUT_WRITE,
            {
                "id": payout.id,
                "merchant_id": payout.merchant_id,
                "bank_account_id": payout.bank_account_id,
                "amount": payout.amount_paise,
                "now": payout.created_at,
                "description": f"Payout {payout.reference}",
                "key": key,
                "fingerprint": fingerprint,
                "status": response.status,
                "body": response.body,
                "expires_at": payout.created_at + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
            },
        )


def _enqueue_processing(payout_id: int) -> None:
    # Imported here: tasks import this module.
    from payouts.tasks import enqueue_processing

    try:
        enqueue_processing(payout_id)
    except Exception:  # Redis down: the payout is durable; the sweep will enqueue it.
        logger.warning("could not enqueue payout %s; the sweep will pick it up", payout_id, exc_info=True)


# --- processing (the worker) -----------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """What the worker should do next for a payout, and when."""

    action: str  # "check": look for a stuck attempt; "attempt": start the next attempt
    at: datetime
    attempt: int


def payout_process(*, payout_id: int, gateway: bank.Gateway | None = None) -> FollowUp | None:
    """Start the payout's next attempt, send it to the bank, apply the answer.

    Returns when to check the attempt if the bank gave no answer, else None.
    Does nothing if the payout is not startable now (already taken by another
    worker, final, or its retry is not due).
    """
    gateway = gateway or bank.default_gateway()
    attempt = payout_start_attempt(payout_id=payout_id, now=timezone.now())
    if attempt is None:
        return None
    answer = gateway.send(
        reference=attempt.reference,
        amount_paise=attempt.amount_paise,
        ifsc=attempt.ifsc,
        account_number=attempt.account_number,
    )
    if answer.outcome == bank.NO_ANSWER:
        return FollowUp(action="check", at=attempt.deadline, attempt=attempt.number)
    payout_apply_answer(
        payout_id=payout_id,
        attempt=attempt.number,
        answer=answer,
        now=timezone.now(),
        merchant_id=attempt.merchant_id,
    )
    return None


@dataclass(frozen=True)
class Attempt:
    payout_id: int
    merchant_id: int
    number: int
    deadline: datetime
    reference: str
    amount_paise: int
    ifsc: str
    account_number: str


# pending -> processing, or a due retry: attempt + 1, with its event, in one
# statement (its own short transaction). The WHERE clause is the guard: of
# two workers racing, the second finds the row changed and updates nothing.
_START_ATTEMPT = """
WITH started AS (
    UPDATE payouts_payout
       SET status = 'processing', attempts = attempts + 1, attempt_deadline = %(deadline)s,
           next_attempt_at = NULL, updated_at = %(now)s
     WHERE id = %(id)s
       AND (status = 'pending'
            OR (status = 'processing' AND attempt_deadline IS NULL AND next_attempt_at <= %(now)s))
 RETURNING id, merchant_id, bank_account_id, amount_paise, attempts
), event AS (
    INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason, created_at)
    SELECT merchant_id, id,
           CASE WHEN attempts = 1 THEN 'pending' ELSE 'processing' END, 'processing', attempts,
           CASE WHEN attempts = 1 THEN 'attempt 1 sent to the bank'
                ELSE 'retry: attempt ' || attempts || ' sent to the bank' END,
           %(now)s
      FROM started
)
SELECT s.merchant_id, s.amount_paise, s.attempts, b.ifsc, b.account_number
  FROM started AS s JOIN payouts_bankaccount AS b ON b.id = s.bank_account_id
"""


def payout_start_attempt(*, payout_id: int, now: datetime) -> Attempt | None:
    """pending -> processing, or a due retry of a processing payout: attempt + 1.

    Changes no balance, so it needs no merchant lock: the conditional update
    makes sure only one worker starts a given attempt. Returns None when there
    is nothing to start (taken by another worker, final, or not due yet).
    """
    assert not connection.in_atomic_block, "payout_start_attempt is its own transaction"
    deadline = now + timedelta(seconds=settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(_START_ATTEMPT, {"id": payout_id, "now": now, "deadline": deadline})
        row = cursor.fetchone()
    if row is None:
        return None
    merchant_id, amount_paise, number, ifsc, account_number = row
    return Attempt(
        payout_id=payout_id,
        merchant_id=merchant_id,
        number=number,
        deadline=deadline,
        reference=Payout(id=payout_id).reference,
        amount_paise=amount_paise,
        ifsc=ifsc,
        account_number=account_number,
    )


def payout_apply_answer(
    *, payout_id: int, attempt: int, answer: bank.Answer, now: datetime, merchant_id: int | None = None
) -> bool:
    """Apply the bank's answer to attempt number ``attempt``.

    settled -> completed; declined -> failed with its funds returned. Returns
    False, changing nothing, when that attempt is no longer the live one (a
    late answer).
    """
    if answer.outcome not in (bank.SETTLED, bank.DECLINED):
        raise ValueError(f"not a final answer: {answer.outcome}")
    if merchant_id is None:
        merchant_id = Payout.objects.values_list("merchant_id", flat=True).get(pk=payout_id)
    with transaction.atomic(durable=True):
        merchant_lock(merchant_id=merchant_id)
        if answer.outcome == bank.SETTLED:
            applied = _finish(
                payout_id,
                attempt,
                Status.COMPLETED,
                reason=f"bank settled attempt {attempt}",
                bank_reference=answer.bank_reference,
                now=now,
            )
        else:
            applied = _finish(
                payout_id, attempt, Status.FAILED, reason=f"declined by the bank: {answer.reason}", now=now
            )
    if not applied:
        logger.info("ignoring late answer %s for payout %s attempt %s", answer.outcome, payout_id, attempt)
    return applied


def payout_check_attempt(*, payout_id: int, attempt: int, gateway: bank.Gateway | None = None) -> FollowUp | None:
    """Handle attempt ``attempt`` if it is stuck (no answer by its deadline).

    Asks the bank what became of the transfer first: settled → completed;
    declined → failed; unknown → a retry after ``backoff * 2^(k-1)`` seconds,
    or failed with its funds returned after the last allowed attempt.
    Returns what to do next: a retry, a later check if woken early, or None.
    """
    gateway = gateway or bank.default_gateway()
    payout = Payout.objects.filter(pk=payout_id).first()
    if payout is None or not _is_live(payout, attempt):
        return None
    assert payout.attempt_deadline is not None  # a live attempt has one
    if payout.attempt_deadline > timezone.now():
        return FollowUp(action="check", at=payout.attempt_deadline, attempt=attempt)
    answer = gateway.inquire(reference=payout.reference)
    now = timezone.now()
    with transaction.atomic(durable=True):
        merchant_lock(merchant_id=payout.merchant_id)
        payout = _locked_payout(payout_id)
        if not _is_live(payout, attempt) or (payout.attempt_deadline and payout.attempt_deadline > now):
            return None
        timeout = settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS
        if answer.outcome == bank.SETTLED:
            _finish(
                payout_id,
                attempt,
                Status.COMPLETED,
                reason=f"attempt {attempt} got no answer within {timeout}s; the bank confirms it settled",
                bank_reference=answer.bank_reference,
                now=now,
            )
            return None
        if answer.outcome == bank.DECLINED:
            _finish(payout_id, attempt, Status.FAILED, reason=f"declined by the bank: {answer.reason}", now=now)
            return None
        if attempt >= settings.PAYOUT_MAX_ATTEMPTS:
            _finish(
                payout_id,
                attempt,
                Status.FAILED,
                reason=f"no answer from the bank after {attempt} attempts of {timeout}s each",
                now=now,
            )
            return None
        backoff = settings.PAYOUT_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
        payout.attempt_deadline = None
        payout.next_attempt_at = now + timedelta(seconds=backoff)
        payout.updated_at = now
        payout.save(update_fields=["attempt_deadline", "next_attempt_at", "updated_at"])
        _event(
            payout,
            from_status=Status.PROCESSING,
            reason=f"attempt {attempt} got no answer within {timeout}s; retrying in {backoff}s",
            now=now,
        )
        return FollowUp(action="attempt", at=payout.next_attempt_at, attempt=attempt + 1)


@dataclass(frozen=True)
class SweepItem:
    payout_id: int
    action: str  # "attempt" or "check"
    attempt: int


def payouts_needing_work(*, now: datetime, limit: int = 1000) -> list[SweepItem]:
    """Payouts whose next step is overdue: their task was lost or never enqueued.

    Pending payouts older than the grace period, attempts past their deadline
    and retries past their time, by more than PAYOUT_SWEEP_GRACE_SECONDS (so
    the sweep does not race tasks that are merely queued). Rows a worker holds
    right now are skipped.
    """
    cutoff = now - timedelta(seconds=settings.PAYOUT_SWEEP_GRACE_SECONDS)
    with transaction.atomic(durable=True):
        rows = list(
            Payout.objects.select_for_update(skip_locked=True)
            .filter(status__in=Payout.IN_FLIGHT, updated_at__lte=cutoff)
            .order_by("updated_at")
            .values_list("id", "status", "attempts", "attempt_deadline", "next_attempt_at")[:limit]
        )
    work = []
    for payout_id, status, attempts, deadline, next_attempt_at in rows:
        if status == Status.PENDING:
            work.append(SweepItem(payout_id, "attempt", 1))
        elif deadline is not None and deadline <= cutoff:
            work.append(SweepItem(payout_id, "check", attempts))
        elif deadline is None and next_attempt_at is not None and next_attempt_at <= cutoff:
            work.append(SweepItem(payout_id, "attempt", attempts + 1))
    return work


# --- transitions; callers hold the merchant lock and the payout's row lock ---------------


def _locked_payout(payout_id: int) -> Payout:
    return Payout.objects.select_for_update(of=("self",)).get(pk=payout_id)


def _is_live(payout: Payout, attempt: int) -> bool:
    return payout.status == Status.PROCESSING and payout.attempts == attempt and payout.attempt_deadline is not None


# processing -> completed|failed for the live attempt, with its event and, for a
# failure, the reversal that returns the funds: one statement. The WHERE clause
# is the Python side's guard (the database's own trigger refuses any other
# transition too); the triggers release the hold and credit the reversal.
_FINISH = """
WITH finished AS (
    UPDATE payouts_payout
       SET status = %(status)s, bank_reference = %(bank_reference)s, failure_reason = %(failure_reason)s,
           attempt_deadline = NULL, next_attempt_at = NULL, updated_at = %(now)s
     WHERE id = %(id)s AND status = 'processing' AND attempts = %(attempt)s AND attempt_deadline IS NOT NULL
 RETURNING id, merchant_id, amount_paise
), event AS (
    INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason, created_at)
    SELECT merchant_id, id, 'processing', %(status)s, %(attempt)s, %(reason)s, %(now)s FROM finished
), reversal AS (
    INSERT INTO payouts_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at)
    SELECT merchant_id, 'reversal', amount_paise, %(description)s, id, %(now)s FROM finished
     WHERE %(status)s = 'failed'
)
SELECT count(*) FROM finished
"""


def _finish(payout_id: int, attempt: int, status: str, *, reason: str, now: datetime, bank_reference: str = "") -> bool:
    """Make attempt ``attempt`` of the payout final. Caller holds the merchant lock.

    Returns False, changing nothing, unless that attempt is the live one.
    """
    assert connection.in_atomic_block, "a payout is finished inside its merchant's locked transaction"
    if status not in (Status.COMPLETED, Status.FAILED):
        raise IllegalTransition(f"payout {payout_id} cannot go from processing to {status}")
    with connection.cursor() as cursor:
        cursor.execute(
            _FINISH,
            {
                "id": payout_id,
                "attempt": attempt,
                "status": status,
                "bank_reference": bank_reference,
                "failure_reason": reason if status == Status.FAILED else None,
                "reason": reason,
                "description": f"Payout {Payout(id=payout_id).reference} failed; funds returned",
                "now": now,
            },
        )
        (finished,) = cursor.fetchone()
    return finished == 1


def _event(payout: Payout, *, from_status: str | None, reason: str, now: datetime) -> None:
    PayoutEvent.objects.create(
        merchant_id=payout.merchant_id,
        payout_id=payout.id,
        from_status=from_status,
        to_status=payout.status,
        attempt=payout.attempts,
        reason=reason,
        created_at=now,
    )


# --- merchants ------------------------------------------------------------------------


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
        entry = ledger_post(
            merchant_id=merchant_id,
            kind=LedgerEntry.Kind.PAYMENT,
            amount_paise=amount_paise,
            description=description,
            now=now,
        )
    return entry.id
