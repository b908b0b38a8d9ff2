"""Every way money and payouts move. Grep for ``payout_`` to see them all.

Transactions: each public function here is one use case and opens its own
durable transaction (nothing may wrap it). Money transactions take
``merchant_lock`` first, then touch payout rows of that merchant (one lock
order everywhere). No transaction is open while the bank is called.

The lifecycle (CONTRACT §3):

    pending --start attempt--> processing --settled--> completed
                                   |  ^    --declined, or cancelled at the bank--> failed (+ reversal)
                                   |  |
                   stuck (no answer by attempt_deadline): bank inquiry, then
                   retry after backoff * 2^(k-1): a new attempt, same status;
                   after the last stuck attempt: ask the bank to cancel, and
                   ask again with backoff until it confirms (funds stay held)

Silence is not a refusal. No answer from the bank ever fails a payout: it
fails only when the bank says it will never pay the reference (declined, or
cancelled at our request); it completes when the bank says it paid.

The bank's word is final for the reference, whichever request it answers:
the bank is idempotent on the payout's reference, so a settled or declined
answer is the truth about the payout, late or not. It is applied while the
payout is processing and its amount and account match; an answer that
contradicts a final payout, or does not match, is recorded as a
reconciliation incident (never dropped, never applied). Starting attempts and
cancellation requests are fenced by conditional updates, so two workers never
send the same step twice.

Times that decide anything come from the database's clock (``now()``), not the
host's; every worker service takes ``now`` so tests can set the time.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from bank import gateway as bank
from common import metrics
from common.errors import InsufficientFunds, InvalidAmount, InvalidBankAccount, ReferenceIdInUse
from ledger.postings import MAX_AMOUNT_PAISE, ledger_payout_hold, ledger_payout_return
from merchants.account_numbers import account_number_decrypt
from merchants.locks import merchant_lock, merchant_lock_for_payout
from payouts.idempotency import StoredResponse, idempotency_remember, idempotency_replay
from payouts.models import Payout, ReconciliationIncident
from payouts.reconciliation import incident_record
from payouts.representations import notes_text, payout_as_dict, render, rupees
from webhooks.outbox import event_id_new, event_record, payout_created_event_sql

logger = logging.getLogger(__name__)

# The longest wait between two cancellation requests to a silent bank.
MAX_CANCEL_BACKOFF_SECONDS = 3600
Status = Payout.Status
FailureCode = Payout.FailureCode

# The bank's words for a decline, as the stable code a client branches on. A
# decline the engine has no code for is ``bank_declined``.
_DECLINE_CODES = {
    "beneficiary account closed": FailureCode.BENEFICIARY_ACCOUNT_CLOSED,
    "account closed": FailureCode.BENEFICIARY_ACCOUNT_CLOSED,
    "beneficiary name mismatch": FailureCode.BENEFICIARY_NAME_MISMATCH,
    "account frozen by the beneficiary bank": FailureCode.BENEFICIARY_ACCOUNT_FROZEN,
    "invalid ifsc for this account": FailureCode.INVALID_IFSC,
    # A request that reached the bank after it had cancelled the reference at our request.
    bank.CANCEL_REASON: FailureCode.NO_BANK_ANSWER,
}


def payout_failure_code(answer: bank.Answer) -> str:
    """Why the bank will never pay, as a ``Payout.FailureCode``.

    cancelled: the engine asked it to, because no attempt got an answer.
    declined: the code of the bank's reason, else ``bank_declined``.
    """
    if answer.outcome == bank.CANCELLED:
        return FailureCode.NO_BANK_ANSWER.value
    return _DECLINE_CODES.get(answer.reason.strip().lower(), FailureCode.BANK_DECLINED).value


def db_now() -> datetime:
    """The database's clock: the one every deadline is measured against."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def payout_reference_new() -> str:
    """A fresh bank reference: 'PO' and 24 random base32 characters (120 bits)."""
    return "PO" + base64.b32encode(secrets.token_bytes(15)).decode()


# --- creation ------------------------------------------------------------------------


def payout_create(
    *,
    merchant_id: int,
    bank_account_id: int,
    amount_paise: int,
    idempotency_key: UUID,
    fingerprint: str,
    reference_id: str | None = None,
    narration: str | None = None,
    notes: dict[str, str] | None = None,
    bank_account_refusal: str | None = None,
    now: datetime | None = None,
) -> StoredResponse:
    """Request a payout: hold its funds and remember the answer under the key.

    ``bank_account_refusal``: the caller found the account not verified, and
    why. The request is refused with it (``InvalidBankAccount``, nothing
    remembered) unless it replays an earlier one: a retry of a payout made
    before the account was deactivated gets its first answer again.

    The caller has checked that the bank account is the merchant's (the
    database checks it again). One transaction: lock the merchant (taking an
    id for the payout and the database's time in the same round trip), then
    read the key's record - after the lock, so a concurrent request with the
    same key has committed or rolled back - and either replay it, or check the
    available balance and write the pending payout, its debit, its first event
    and the stored response in one statement. The caller enqueues processing
    after commit (``Created.payout_id``).

    ``reference_id`` (validated by the caller) names at most one of the
    merchant's payouts: the database's unique index refuses the write, and
    the whole transaction (the debit, the event and the idempotency record
    too) rolls back into ``ReferenceIdInUse``, which is not remembered under
    the key. No read of its own under the lock.
    """
    if type(amount_paise) is not int or not 0 < amount_paise <= MAX_AMOUNT_PAISE:
        raise InvalidAmount()
    reference = payout_reference_new()
    try:
        return _payout_create(
            merchant_id=merchant_id,
            bank_account_id=bank_account_id,
            amount_paise=amount_paise,
            reference=reference,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            reference_id=reference_id,
            narration=narration,
            notes=notes or {},
            event_id=event_id_new(),
            bank_account_refusal=bank_account_refusal,
            now=now,
        )
    except IntegrityError as error:
        if _violated_constraint(error) == _REFERENCE_ID_UNIQUE:
            raise ReferenceIdInUse(
                f"reference_id {reference_id!r} is already used by another of your payouts."
            ) from error
        if _violated_constraint(error) == _BANK_ACCOUNT_VERIFIED:
            # The account stopped being verified between the API's check and the write (payouts/migrations/0003).
            raise InvalidBankAccount("This bank account is no longer verified: no payout can go to it.") from error
        raise


_REFERENCE_ID_UNIQUE = "payout_merchant_reference_id"
_BANK_ACCOUNT_VERIFIED = "payout_bank_account_verified"


def _violated_constraint(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def _payout_create(
    *,
    merchant_id: int,
    bank_account_id: int,
    amount_paise: int,
    reference: str,
    idempotency_key: UUID,
    fingerprint: str,
    reference_id: str | None,
    narration: str | None,
    notes: dict[str, str],
    event_id: str,
    bank_account_refusal: str | None,
    now: datetime | None,
) -> StoredResponse:
    with transaction.atomic(durable=True):
        available_paise, payout_id, db_time = merchant_lock_for_payout(merchant_id=merchant_id)
        now = now or db_time
        replay = idempotency_replay(merchant_id=merchant_id, key=idempotency_key, fingerprint=fingerprint, now=now)
        if replay is not None:
            return replay
        if bank_account_refusal is not None:
            raise InvalidBankAccount(bank_account_refusal)
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
            reference=reference,
            status=Status.PENDING,
            attempts=0,
            reference_id=reference_id,
            narration=narration,
            notes=notes_text(notes),
            created_at=now,
            updated_at=now,
        )
        response = StoredResponse(status=201, body=render(payout_as_dict(payout)), payout_id=payout.id)
        _payout_write(payout, key=idempotency_key, fingerprint=fingerprint, response=response, event_id=event_id)
    return response


# The new payout, its debit, its first event, its payout.created event (the
# webhooks outbox, with the 201's body as its data) and the idempotency record,
# in one statement. The triggers add the amount to held_paise and subtract it from
# available_paise (refusing it if that would go below zero) at the end of the
# statement; the deferred ones check the payout's postings at commit.
_PAYOUT_WRITE = f"""
WITH payout AS (
    INSERT INTO payouts_payout (id, merchant_id, bank_account_id, amount_paise, reference, status, attempts,
                                cancel_requests, bank_reference, reference_id, narration, notes,
                                created_at, updated_at)
    VALUES (%(id)s, %(merchant_id)s, %(bank_account_id)s, %(amount)s, %(reference)s, 'pending', 0,
            0, '', %(reference_id)s, %(narration)s, %(notes)s, %(now)s, %(now)s)
    RETURNING id, merchant_id, amount_paise, reference, created_at
), {ledger_payout_hold(payout="payout")}, event AS (
    INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason, created_at)
    SELECT %(merchant_id)s, id, NULL, 'pending', 0, 'payout requested; funds held', %(now)s FROM payout
), {payout_created_event_sql(payout="payout")}
INSERT INTO payouts_idempotencyrecord (merchant_id, key, fingerprint, response_status, response_body,
                                       payout_id, created_at, expires_at)
SELECT %(merchant_id)s, %(key)s, %(fingerprint)s, %(status)s, %(body)s, id, %(now)s, %(expires_at)s FROM payout
    ON CONFLICT (merchant_id, key) DO UPDATE  -- the key's earlier record had expired
   SET fingerprint = EXCLUDED.fingerprint, response_status = EXCLUDED.response_status,
       response_body = EXCLUDED.response_body, payout_id = EXCLUDED.payout_id,
       created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
"""


def _payout_write(payout: Payout, *, key: UUID, fingerprint: str, response: StoredResponse, event_id: str) -> None:
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
                "reference": payout.reference,
                "reference_id": payout.reference_id,
                "narration": payout.narration,
                "notes": payout.notes,
                "now": payout.created_at,
                "key": key,
                "fingerprint": fingerprint,
                "status": response.status,
                "body": response.body,
                "expires_at": payout.created_at + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
                "event_id": event_id,
            },
        )


# --- processing (the worker) -----------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """What the worker should do next for a payout, and when."""

    action: str  # "check": look for a stuck attempt; "attempt": start the next one; "cancel": ask the bank to cancel
    at: datetime
    attempt: int


def payout_process(
    *, payout_id: int, gateway: bank.Gateway | None = None, now: datetime | None = None
) -> FollowUp | None:
    """Start the payout's next attempt, send it to the bank, apply the answer.

    Returns when to check the attempt if the bank gave no answer, else None.
    Does nothing if the payout is not startable now (already taken by another
    worker, final, cancelling, or its retry is not due).
    """
    gateway = gateway or bank.default_gateway()
    attempt = payout_start_attempt(payout_id=payout_id, now=now)
    if attempt is None:
        return None
    with metrics.BankTimer("send") as timer:
        answer = gateway.send(
            reference=attempt.reference,
            amount_paise=attempt.amount_paise,
            ifsc=attempt.ifsc,
            account_number=attempt.account_number,
        )
        timer.outcome = answer.outcome
    if answer.outcome not in bank.FINAL:
        return FollowUp(action="check", at=attempt.deadline, attempt=attempt.number)
    payout_apply_answer(payout_id=payout_id, answer=answer, merchant_id=attempt.merchant_id)
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
# A payout whose cancellation was asked for never starts another attempt.
_START_ATTEMPT = """
WITH clock AS (
    SELECT coalesce(%(now)s::timestamptz, now()) AS now
), started AS (
    UPDATE payouts_payout
       SET status = 'processing', attempts = attempts + 1,
           attempt_deadline = clock.now + make_interval(secs => %(timeout)s),
           next_attempt_at = NULL, updated_at = clock.now
      FROM clock
     WHERE id = %(id)s AND cancel_requested_at IS NULL
       AND (status = 'pending'
            OR (status = 'processing' AND attempt_deadline IS NULL AND next_attempt_at <= clock.now))
 RETURNING id, merchant_id, bank_account_id, amount_paise, reference, attempts, attempt_deadline, clock.now
), event AS (
    INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason, created_at)
    SELECT merchant_id, id,
           CASE WHEN attempts = 1 THEN 'pending' ELSE 'processing' END, 'processing', attempts,
           CASE WHEN attempts = 1 THEN 'attempt 1 sent to the bank'
                ELSE 'retry: attempt ' || attempts || ' sent to the bank' END,
           now
      FROM started
)
SELECT s.merchant_id, s.amount_paise, s.reference, s.attempts, s.attempt_deadline, b.ifsc,
       b.account_number_encrypted
  FROM started AS s JOIN merchants_bankaccount AS b ON b.id = s.bank_account_id
"""


def payout_start_attempt(*, payout_id: int, now: datetime | None = None) -> Attempt | None:
    """pending -> processing, or a due retry of a processing payout: attempt + 1.

    Changes no balance, so it needs no merchant lock: the conditional update
    makes sure only one worker starts a given attempt. Returns None when there
    is nothing to start (taken by another worker, final, cancelling, or not
    due yet). ``now`` defaults to the database's clock.
    """
    assert not connection.in_atomic_block, "payout_start_attempt is its own transaction"
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute(
                _START_ATTEMPT,
                {"id": payout_id, "now": now, "timeout": settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS},
            )
            row = cursor.fetchone()
        if row is None:
            return None
        merchant_id, amount_paise, reference, number, deadline, ifsc, account_token = row
        if number == 1:  # pending -> processing; a retry is no new status
            _status_event(payout_id, "payout.processing")
    # Decrypted here, after the commit and outside any lock: only to send it to the bank.
    account_number = account_number_decrypt(account_token)
    return Attempt(
        payout_id=payout_id,
        merchant_id=merchant_id,
        number=number,
        deadline=deadline,
        reference=reference,
        amount_paise=amount_paise,
        ifsc=ifsc,
        account_number=account_number,
    )


def payout_apply_answer(
    *,
    payout_id: int,
    answer: bank.Answer,
    merchant_id: int | None = None,
    reason: str | None = None,
    failure_reason: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Apply a final answer from the bank about the payout's reference.

    settled -> completed; declined or cancelled -> failed with its funds
    returned, in one transaction under the merchant lock. Applied only while
    the payout is processing and the answer's amount and account (when the
    bank gives them) are the payout's. Returns whether it changed the payout.
    An answer that is not applied is compared with the payout: if it
    contradicts it (settled for a failed payout, declined for a completed one,
    another amount or account), it is recorded as a reconciliation incident.
    """
    if answer.outcome not in bank.FINAL:
        raise ValueError(f"not a final answer: {answer.outcome}")
    if merchant_id is None:
        merchant_id = Payout.objects.values_list("merchant_id", flat=True).get(pk=payout_id)
    if answer.outcome == bank.SETTLED:
        status, why = Status.COMPLETED, reason or "the bank settled the transfer"
    else:
        status = Status.FAILED
        failure_reason = failure_reason or f"{answer.outcome} by the bank: {answer.reason}"
        why = reason or failure_reason
    # The account the bank names is compared before the lock: the number is decrypted here, never under it.
    account_matches = _answer_account_matches(payout_id, answer)
    with transaction.atomic(durable=True):
        merchant_lock(merchant_id=merchant_id)
        if status == Status.COMPLETED:
            applied = payout_complete(
                payout_id=payout_id, answer=answer, reason=why, account_matches=account_matches, now=now
            )
        else:
            assert failure_reason is not None
            applied = payout_fail(
                payout_id=payout_id,
                answer=answer,
                reason=why,
                failure_reason=failure_reason,
                account_matches=account_matches,
                now=now,
            )
        if not applied:
            _record_if_contradicting(payout_id, answer, account_matches=account_matches)
    return applied


def _payout_account(payout: Payout) -> tuple[str, str]:
    """(account number, IFSC) the payout goes to: the number decrypted (merchants.account_numbers)."""
    account = payout.bank_account
    return account_number_decrypt(account.account_number_encrypted), account.ifsc


def _answer_account_matches(payout_id: int, answer: bank.Answer) -> bool:
    """Whether the account the bank names (if it names one) is the payout's.

    The number is stored encrypted, so the comparison is made here, before
    the merchant lock is taken: a read of the account row (its details never
    change) and a local decryption.
    """
    if not answer.account_number:
        return True
    payout = (
        Payout.objects.select_related("bank_account")
        .only("id", "bank_account__account_number_encrypted", "bank_account__ifsc")
        .get(pk=payout_id)
    )
    return (answer.account_number, answer.ifsc) == _payout_account(payout)


def _record_if_contradicting(payout_id: int, answer: bank.Answer, *, account_matches: bool) -> None:
    """A final answer that was not applied: record it if it contradicts the payout."""
    payout = Payout.objects.select_related("bank_account").get(pk=payout_id)
    kind = None
    if answer.amount_paise is not None and answer.amount_paise != payout.amount_paise:
        kind = ReconciliationIncident.Kind.AMOUNT_MISMATCH
    elif not account_matches:
        kind = ReconciliationIncident.Kind.ACCOUNT_MISMATCH
    elif answer.outcome == bank.SETTLED and payout.status == Status.FAILED:
        kind = ReconciliationIncident.Kind.SETTLED_AFTER_FAILURE
    elif answer.outcome in bank.NEVER_PAYS and payout.status == Status.COMPLETED:
        kind = ReconciliationIncident.Kind.DECLINED_AFTER_COMPLETION
    if kind is None:
        logger.info("payout %s is already %s; the bank's %s agrees", payout_id, payout.status, answer.outcome)
        return
    incident_record(
        kind=kind,
        reference=payout.reference,
        payout=payout,
        bank_state=answer.outcome,
        bank_amount_paise=answer.amount_paise,
        detail=(
            f"the bank answered {answer.outcome} for {answer.amount_paise} paise to account "
            f"…{answer.account_number[-4:]}; payout {payout.id} is {payout.status} for {payout.amount_paise} paise "
            f"to account …{payout.bank_account.account_last4}"
        ),
    )


def payout_check_attempt(
    *, payout_id: int, attempt: int, gateway: bank.Gateway | None = None, now: datetime | None = None
) -> FollowUp | None:
    """Handle attempt ``attempt`` if it is stuck (no answer by its deadline).

    Asks the bank what became of the transfer first: a final answer is
    applied. Unknown: a retry after ``backoff * 2^(k-1)`` seconds, or after
    the last allowed attempt, a cancellation (``payout_cancel``); never a
    failure. Returns what to do next, or None.
    """
    gateway = gateway or bank.default_gateway()
    payout = Payout.objects.filter(pk=payout_id).first()
    if payout is None or not _is_live(payout, attempt):
        return None
    assert payout.attempt_deadline is not None  # a live attempt has one
    now = now or db_now()
    if payout.attempt_deadline > now:
        return FollowUp(action="check", at=payout.attempt_deadline, attempt=attempt)
    with metrics.BankTimer("inquire") as timer:
        answer = gateway.inquire(reference=payout.reference)
        timer.outcome = answer.outcome
    timeout = settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS
    if answer.outcome in bank.FINAL:
        payout_apply_answer(
            payout_id=payout_id,
            answer=answer,
            merchant_id=payout.merchant_id,
            reason=(
                f"attempt {attempt} got no answer within {timeout}s; the bank confirms it settled"
                if answer.outcome == bank.SETTLED
                else None
            ),
            now=now,
        )
        return None
    with transaction.atomic(durable=True):
        merchant_lock(merchant_id=payout.merchant_id)
        payout = _locked_payout(payout_id)
        if not _is_live(payout, attempt) or (payout.attempt_deadline and payout.attempt_deadline > now):
            return None
        if attempt >= settings.PAYOUT_MAX_ATTEMPTS:
            Payout.objects.filter(pk=payout_id).update(
                attempt_deadline=None, cancel_requested_at=now, next_cancel_at=now, updated_at=now
            )
            _event(
                payout,
                reason=(
                    f"attempt {attempt} got no answer within {timeout}s, the last allowed; "
                    "asking the bank to cancel the transfer (funds stay held until it confirms)"
                ),
                now=now,
            )
            return FollowUp(action="cancel", at=now, attempt=attempt)
        backoff = settings.PAYOUT_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
        next_attempt_at = now + timedelta(seconds=backoff)
        Payout.objects.filter(pk=payout_id).update(
            attempt_deadline=None, next_attempt_at=next_attempt_at, updated_at=now
        )
        _event(payout, reason=f"attempt {attempt} got no answer within {timeout}s; retrying in {backoff}s", now=now)
        return FollowUp(action="attempt", at=next_attempt_at, attempt=attempt + 1)


# Take the due cancellation request: one worker at a time. Until the answer is
# applied, the next request is due after a lease, so a crashed worker's
# request is asked again by the sweep.
_CLAIM_CANCEL = """
WITH clock AS (
    SELECT coalesce(%(now)s::timestamptz, now()) AS now
)
UPDATE payouts_payout
   SET cancel_requests = cancel_requests + 1,
       next_cancel_at = clock.now + make_interval(secs => %(lease)s), updated_at = clock.now
  FROM clock
 WHERE id = %(id)s AND status = 'processing' AND next_cancel_at <= clock.now
RETURNING merchant_id, reference, attempts, cancel_requests, cancel_requested_at, clock.now
"""


def payout_cancel(
    *, payout_id: int, gateway: bank.Gateway | None = None, now: datetime | None = None
) -> FollowUp | None:
    """Ask the bank to cancel a payout whose last attempt got no answer.

    cancelled or declined: the bank will never pay it, so it fails and its
    funds return. settled: it completes. No confirmation: it stays
    processing with its funds held, and the request is repeated with backoff
    (``PAYOUT_RETRY_BACKOFF_SECONDS * 2^(n-1)``, at most an hour); each
    request is an event saying how long it has waited.
    """
    gateway = gateway or bank.default_gateway()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_CANCEL, {"id": payout_id, "now": now, "lease": settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS}
        )
        row = cursor.fetchone()
    if row is None:
        return None
    merchant_id, reference, attempts, requests, requested_at, now = row
    with metrics.BankTimer("cancel") as timer:
        answer = gateway.cancel(reference=reference)
        timer.outcome = answer.outcome
    timeout = settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS
    if answer.outcome in bank.FINAL:
        silence = f"no answer from the bank after {attempts} attempts of {timeout}s each"
        payout_apply_answer(
            payout_id=payout_id,
            answer=answer,
            merchant_id=merchant_id,
            reason=f"{silence}; asked to cancel, the bank answered {answer.outcome}",
            failure_reason=silence if answer.outcome == bank.CANCELLED else None,
            now=now,
        )
        return None
    backoff = min(settings.PAYOUT_RETRY_BACKOFF_SECONDS * 2 ** (requests - 1), MAX_CANCEL_BACKOFF_SECONDS)
    next_cancel_at = now + timedelta(seconds=max(backoff, 1))
    waited = int((now - requested_at).total_seconds())
    with transaction.atomic(durable=True):
        merchant_lock(merchant_id=merchant_id)
        payout = _locked_payout(payout_id)
        if payout.status != Status.PROCESSING or payout.cancel_requests != requests:
            return None
        Payout.objects.filter(pk=payout_id).update(next_cancel_at=next_cancel_at, updated_at=now)
        _event(
            payout,
            reason=(
                f"cancellation request {requests} not confirmed by the bank; funds held for {waited}s; "
                f"asking again in {max(backoff, 1)}s"
            ),
            now=now,
        )
    return FollowUp(action="cancel", at=next_cancel_at, attempt=attempts)


@dataclass(frozen=True)
class SweepItem:
    payout_id: int
    action: str  # "attempt", "check" or "cancel"
    attempt: int


# Every in-flight payout whose next step is overdue by more than the grace
# period, by the database's clock: chosen in SQL, oldest due first, so no
# number of payouts that are not yet due can hide one that is. Rows a worker
# holds right now are skipped.
_DUE_WORK = """
SELECT id,
       CASE WHEN status = 'pending' THEN 'attempt'
            WHEN attempt_deadline IS NOT NULL THEN 'check'
            WHEN next_attempt_at IS NOT NULL THEN 'attempt'
            ELSE 'cancel' END,
       CASE WHEN status = 'pending' THEN 1
            WHEN next_attempt_at IS NOT NULL THEN attempts + 1
            ELSE attempts END
  FROM payouts_payout
 WHERE status IN ('pending', 'processing')
   AND coalesce(attempt_deadline, next_attempt_at, next_cancel_at, updated_at)
       <= coalesce(%(now)s::timestamptz, now()) - make_interval(secs => %(grace)s)
 ORDER BY coalesce(attempt_deadline, next_attempt_at, next_cancel_at, updated_at)
 LIMIT %(limit)s
   FOR UPDATE SKIP LOCKED
"""


def payouts_needing_work(*, now: datetime | None = None, limit: int = 1000) -> list[SweepItem]:
    """Payouts whose next step is overdue: their task was lost or never enqueued.

    Pending payouts, attempts past their deadline, retries and cancellation
    requests past their time, by more than PAYOUT_SWEEP_GRACE_SECONDS (so the
    sweep does not race tasks that are merely queued).
    """
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(_DUE_WORK, {"now": now, "grace": settings.PAYOUT_SWEEP_GRACE_SECONDS, "limit": limit})
        return [SweepItem(payout_id, action, attempt) for payout_id, action, attempt in cursor.fetchall()]


# --- transitions; callers hold the merchant lock ------------------------------------


def _locked_payout(payout_id: int) -> Payout:
    return Payout.objects.select_for_update(of=("self",)).get(pk=payout_id)


def _is_live(payout: Payout, attempt: int) -> bool:
    return payout.status == Status.PROCESSING and payout.attempts == attempt and payout.attempt_deadline is not None


# processing -> completed|failed, with its event and, for a failure, the
# reversal that returns the funds: one statement. The WHERE clause is the
# Python side's guard (the database's own trigger refuses any other transition
# too): the payout is processing, and the bank's amount and account, when it
# gives them, are the payout's. The triggers release the hold and credit the
# reversal.
_FINISH = f"""
WITH clock AS (
    SELECT coalesce(%(now)s::timestamptz, now()) AS now
), finished AS (
    UPDATE payouts_payout AS p
       SET status = %(status)s, bank_reference = %(bank_reference)s, failure_reason = %(failure_reason)s,
           failure_code = %(failure_code)s,
           attempt_deadline = NULL, next_attempt_at = NULL, next_cancel_at = NULL, updated_at = clock.now
      FROM clock, merchants_bankaccount AS b
     WHERE p.id = %(id)s AND p.status = 'processing' AND b.id = p.bank_account_id
       AND (%(amount)s::bigint IS NULL OR p.amount_paise = %(amount)s::bigint)
       AND %(account_matches)s
 RETURNING p.id, p.merchant_id, p.amount_paise, p.reference, p.attempts, clock.now
), event AS (
    INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason, created_at)
    SELECT merchant_id, id, 'processing', %(status)s, attempts, %(reason)s, now FROM finished
), {ledger_payout_return(payout="finished", when="%(status)s = 'failed'")}
SELECT count(*) FROM finished
"""


def payout_complete(
    *, payout_id: int, answer: bank.Answer, reason: str, account_matches: bool = True, now: datetime | None = None
) -> bool:
    """processing -> completed: the hold is released (the money left with the bank). Caller holds the merchant lock.

    Returns False, changing nothing, unless the payout is processing and the
    bank's answer (amount, account) matches it.
    """
    return _finish(
        payout_id,
        Status.COMPLETED,
        reason=reason,
        failure_reason=None,
        answer=answer,
        account_matches=account_matches,
        now=now,
    )


def payout_fail(
    *,
    payout_id: int,
    answer: bank.Answer,
    reason: str,
    failure_reason: str,
    account_matches: bool = True,
    now: datetime | None = None,
) -> bool:
    """processing -> failed: the reversal returns the funds to available. Caller holds the merchant lock.

    Only for a bank that said it will never pay (declined, or cancelled at our
    request): never for silence. Returns False, changing nothing, unless the
    payout is processing and the answer matches it.
    """
    return _finish(
        payout_id,
        Status.FAILED,
        reason=reason,
        failure_reason=failure_reason,
        answer=answer,
        account_matches=account_matches,
        now=now,
    )


def _finish(
    payout_id: int,
    status: str,
    *,
    reason: str,
    failure_reason: str | None,
    answer: bank.Answer,
    account_matches: bool,
    now: datetime | None,
) -> bool:
    """Make the processing payout final. Caller holds the merchant lock.

    Returns False, changing nothing, unless the payout is processing and the
    answer matches it (its amount here; its account, which the caller compared
    before taking the lock: ``account_matches``).
    """
    assert connection.in_atomic_block, "a payout is finished inside its merchant's locked transaction"
    assert status in (Status.COMPLETED, Status.FAILED)
    with connection.cursor() as cursor:
        cursor.execute(
            _FINISH,
            {
                "id": payout_id,
                "status": status,
                "bank_reference": answer.bank_reference if status == Status.COMPLETED else "",
                "failure_reason": failure_reason,
                "failure_code": payout_failure_code(answer) if status == Status.FAILED else None,
                "reason": reason[:255],
                "amount": answer.amount_paise,
                "account_matches": account_matches,
                "now": now,
            },
        )
        (finished,) = cursor.fetchone()
    if finished != 1:
        return False
    _status_event(payout_id, f"payout.{status}")
    # Counted once the caller's transaction commits; a rollback counts nothing.
    counter = metrics.PAYOUTS_FINISHED.labels(status=status)
    transaction.on_commit(counter.inc)
    return True


def _event(payout: Payout, *, reason: str, now: datetime) -> None:
    """A processing -> processing event: a retry, a cancellation request. Caller holds the merchant lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason,"
            " created_at) VALUES (%s, %s, 'processing', 'processing', %s, %s, %s)",
            [payout.merchant_id, payout.id, payout.attempts, reason[:255], now],
        )


def _status_event(payout_id: int, type: str) -> None:
    """The webhooks event of a transition, with the payout as the API shows it now. Inside the transition's
    transaction (under the merchant lock for completed and failed)."""
    payout = Payout.objects.get(pk=payout_id)
    event_record(merchant_id=payout.merchant_id, type=type, data=render(payout_as_dict(payout)), now=payout.updated_at)
