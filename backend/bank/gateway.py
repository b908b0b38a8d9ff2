"""The bank, behind a small gateway: the one place a real bank adapter plugs in.

What a gateway must provide (and a real bank adapter must map onto the bank's
API; EXPLAINER.md, "Silence is not a refusal"):

* ``send``: ask for a transfer identified by the payout's reference. Answers
  ``settled``, ``declined`` or ``no_answer`` (the request timed out: the bank
  may or may not act on it later). Idempotent on the reference: sending the
  same reference twice never pays twice.
* ``inquire``: what became of a reference. ``settled``, ``declined``,
  ``cancelled``, or ``unknown`` (the bank has no final answer for it: it may
  never have heard of it, or the request may still be on its way).
* ``cancel``: ask the bank never to pay a reference. ``cancelled`` (or
  ``declined``): it will never pay it, and refuses a request for it that
  arrives later; ``settled``: too late, it paid; ``no_answer``: nothing is
  known, ask again.
* ``statement``: the bank's records, for reconciliation.
* ``verify_account``: a penny-drop check of an account before any payout goes
  to it: ``verified`` with the name the bank has on record, ``rejected`` with
  why, or ``no_answer`` (ask again later: silence is never a rejection). It
  takes the holder's name as given, as real name-match checks do.

Every final answer carries the amount and account the bank has on record, so
the engine checks them before applying it. ``unknown`` and ``no_answer`` are
never taken as a refusal.

Never call a gateway inside a transaction or while holding a lock: it is a
network call to another system that may take long or never answer.

``SimulatedBank`` stands in for the bank, with books of its own in
``bank_simulatedtransfer``. Outcomes: 70% settled, 20% declined, 10% no
answer (``BANK_SIMULATOR_OUTCOME`` forces one; ``BANK_SIMULATOR_SEED`` makes
the draw reproducible per reference and request). A hang answers at once with
``no_answer`` instead of sleeping, so it never ties up a worker; the bank
records the request as lost, and a later request with the same reference is a
new draw. ``BANK_SIMULATOR_ACCEPT_DELAY_SECONDS`` makes requests reach the
bank late, as over a slow network: the sender gives up after
``BANK_REQUEST_TIMEOUT_SECONDS`` with ``no_answer``, and the request still
lands afterwards. A settled, declined or cancelled reference answers the same
forever.

Sandbox accounts (CONTRACT §9): whatever ``BANK_SIMULATOR_OUTCOME`` says, a
transfer to ``111111111111`` always settles, to ``222222222222`` is always
declined, to ``333333333333`` never gets an answer, to ``444444444444`` gets
none for its first request and settles on the next; ``555555555555`` fails
verification ("account closed"). Every other account verifies at once, with
the holder's name upper-cased as the registered name.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import connection, connections

logger = logging.getLogger(__name__)

SETTLED = "settled"
DECLINED = "declined"
CANCELLED = "cancelled"
NO_ANSWER = "no_answer"
UNKNOWN = "unknown"
LOST = "lost"  # the simulator's state for a request it never acted on

FINAL = (SETTLED, DECLINED, CANCELLED)
NEVER_PAYS = (DECLINED, CANCELLED)

DECLINE_REASONS = (
    "beneficiary account closed",
    "beneficiary name mismatch",
    "account frozen by the beneficiary bank",
    "invalid IFSC for this account",
)
CANCEL_REASON = "cancelled at the sender's request"

VERIFIED = "verified"
REJECTED = "rejected"

# CONTRACT §9: what each sandbox account number does, whatever BANK_SIMULATOR_OUTCOME says.
SANDBOX_SETTLES = "111111111111"
SANDBOX_DECLINED = "222222222222"
SANDBOX_NEVER_ANSWERS = "333333333333"
SANDBOX_SETTLES_ON_RETRY = "444444444444"
SANDBOX_ACCOUNT_CLOSED = "555555555555"
SANDBOX_DECLINE_REASON = "declined by the beneficiary bank"
ACCOUNT_CLOSED_REASON = "account closed"


@dataclass(frozen=True)
class Answer:
    outcome: str
    bank_reference: str = ""
    reason: str = ""
    # What the bank has on record for the reference (None: not given).
    amount_paise: int | None = None
    ifsc: str = ""
    account_number: str = ""


@dataclass(frozen=True)
class StatementLine:
    reference: str
    state: str  # settled, declined, cancelled or lost
    amount_paise: int | None


@dataclass(frozen=True)
class Verification:
    outcome: str  # verified, rejected or no_answer
    registered_name: str = ""
    reason: str = ""


class Gateway(Protocol):
    def send(self, *, reference: str, amount_paise: int, ifsc: str, account_number: str) -> Answer: ...

    def inquire(self, *, reference: str) -> Answer: ...

    def cancel(self, *, reference: str) -> Answer: ...

    def statement(self) -> Iterator[StatementLine]: ...

    def verify_account(self, *, ifsc: str, account_number: str, holder_name: str) -> Verification: ...


class SimulatedBank:
    def __init__(
        self,
        *,
        outcome: str = "random",
        seed: str | None = None,
        accept_delay: float = 0.0,
        timeout: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.seed = seed
        self.accept_delay = accept_delay
        self.timeout = timeout

    # First request for a reference: one statement records it with its drawn
    # outcome. A repeat only counts the request; its (xmax = 0) is false. A
    # reference cancelled earlier stays cancelled: the late request is refused.
    _RECEIVE = """
    INSERT INTO bank_simulatedtransfer
           (reference, amount_paise, ifsc, account_number, state, bank_reference, reason, requests,
            created_at, updated_at)
    VALUES (%(reference)s, %(amount)s, %(ifsc)s, %(account_number)s, %(state)s, %(bank_reference)s, %(reason)s, 1,
            now(), now())
    ON CONFLICT (reference) DO UPDATE
       SET requests = bank_simulatedtransfer.requests + 1, updated_at = EXCLUDED.updated_at
    RETURNING state, bank_reference, reason, requests, (xmax = 0), amount_paise, ifsc, account_number
    """
    # A repeat of a request the bank never acted on is a new draw.
    _RESOLVE = """
    UPDATE bank_simulatedtransfer SET state = %(state)s, bank_reference = %(bank_reference)s, reason = %(reason)s
     WHERE reference = %(reference)s AND state = 'lost'
    """
    _READ = """
    SELECT state, bank_reference, reason, amount_paise, ifsc, account_number
      FROM bank_simulatedtransfer WHERE reference = %s
    """
    # Never pay it: a lost request, or one not yet arrived, is cancelled for good.
    _CANCEL = """
    INSERT INTO bank_simulatedtransfer
           (reference, amount_paise, ifsc, account_number, state, bank_reference, reason, requests,
            created_at, updated_at)
    VALUES (%(reference)s, NULL, '', '', 'cancelled', '', %(reason)s, 0, now(), now())
    ON CONFLICT (reference) DO UPDATE
       SET state = CASE WHEN bank_simulatedtransfer.state = 'lost' THEN 'cancelled'
                        ELSE bank_simulatedtransfer.state END,
           reason = CASE WHEN bank_simulatedtransfer.state = 'lost' THEN EXCLUDED.reason
                         ELSE bank_simulatedtransfer.reason END,
           updated_at = EXCLUDED.updated_at
    RETURNING state, bank_reference, reason, amount_paise, ifsc, account_number
    """

    def send(self, *, reference: str, amount_paise: int, ifsc: str, account_number: str) -> Answer:
        assert not connection.in_atomic_block, "the bank is never called inside a transaction"
        request = {"reference": reference, "amount": amount_paise, "ifsc": ifsc, "account_number": account_number}
        if self.accept_delay <= 0:
            return self._receive(request)
        # The request travels for a while. The sender waits up to its timeout;
        # the request lands at the bank whether or not anyone still waits.
        answers: list[Answer] = []
        landed = threading.Event()

        def travel() -> None:
            try:
                time.sleep(self.accept_delay)
                answers.append(self._receive(request))
            except Exception:
                logger.exception("simulated bank: a delayed request for %s failed", reference)
            finally:
                connections.close_all()
                landed.set()

        threading.Thread(target=travel, name=f"bank-request-{reference}", daemon=True).start()
        if landed.wait(self.timeout) and answers:
            return answers[0]
        logger.warning("bank request for %s timed out after %ss; the bank may still act on it", reference, self.timeout)
        return Answer(NO_ANSWER)

    def _receive(self, request: dict) -> Answer:
        reference, account = request["reference"], request["account_number"]
        first = self._books(reference, 1, self._draw(reference, 1, account), account)
        with connection.cursor() as cursor:
            cursor.execute(self._RECEIVE, {**request, **first})
            state, bank_reference, reason, requests, inserted, amount, ifsc, account = cursor.fetchone()
            if not inserted and state == LOST:
                again = self._books(reference, requests, self._draw(reference, requests, account), account)
                if again["state"] != LOST:
                    cursor.execute(self._RESOLVE, again)
                cursor.execute(self._READ, [reference])
                state, bank_reference, reason, amount, ifsc, account = cursor.fetchone()
        if state == LOST:
            return Answer(NO_ANSWER)
        if state == CANCELLED:  # the reference was cancelled before this request landed
            return Answer(DECLINED, reason=reason, amount_paise=amount, ifsc=ifsc, account_number=account)
        return Answer(
            state, bank_reference=bank_reference, reason=reason, amount_paise=amount, ifsc=ifsc, account_number=account
        )

    @staticmethod
    def _books(reference: str, request_number: int, outcome: str, account_number: str = "") -> dict:
        """The bank's record of a request with this outcome."""
        if outcome == SETTLED:
            utr = "UTR" + hashlib.sha256(reference.encode()).hexdigest()[:16].upper()
            return {"reference": reference, "state": SETTLED, "bank_reference": utr, "reason": ""}
        if outcome == DECLINED:
            reason = (
                SANDBOX_DECLINE_REASON
                if account_number == SANDBOX_DECLINED
                else DECLINE_REASONS[request_number % len(DECLINE_REASONS)]
            )
            return {"reference": reference, "state": DECLINED, "bank_reference": "", "reason": reason}
        return {"reference": reference, "state": LOST, "bank_reference": "", "reason": ""}

    def inquire(self, *, reference: str) -> Answer:
        assert not connection.in_atomic_block, "the bank is never called inside a transaction"
        with connection.cursor() as cursor:
            cursor.execute(self._READ, [reference])
            row = cursor.fetchone()
        if row is None or row[0] == LOST:
            return Answer(UNKNOWN)
        state, bank_reference, reason, amount, ifsc, account = row
        return Answer(
            state, bank_reference=bank_reference, reason=reason, amount_paise=amount, ifsc=ifsc, account_number=account
        )

    def cancel(self, *, reference: str) -> Answer:
        assert not connection.in_atomic_block, "the bank is never called inside a transaction"
        with connection.cursor() as cursor:
            cursor.execute(self._CANCEL, {"reference": reference, "reason": CANCEL_REASON})
            state, bank_reference, reason, amount, ifsc, account = cursor.fetchone()
        return Answer(
            state, bank_reference=bank_reference, reason=reason, amount_paise=amount, ifsc=ifsc, account_number=account
        )

    def statement(self) -> Iterator[StatementLine]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reference, state, amount_paise FROM bank_simulatedtransfer ORDER BY id")
            for reference, state, amount in cursor:
                yield StatementLine(reference, state, amount)

    def verify_account(self, *, ifsc: str, account_number: str, holder_name: str) -> Verification:
        """A penny-drop check, answered at once (no transfer is recorded: a real one is refunded)."""
        assert not connection.in_atomic_block, "the bank is never called inside a transaction"
        if account_number == SANDBOX_ACCOUNT_CLOSED:
            return Verification(REJECTED, reason=ACCOUNT_CLOSED_REASON)
        return Verification(VERIFIED, registered_name=" ".join(holder_name.upper().split()))

    def _draw(self, reference: str, request_number: int, account_number: str = "") -> str:
        sandbox = {
            SANDBOX_SETTLES: SETTLED,
            SANDBOX_DECLINED: DECLINED,
            SANDBOX_NEVER_ANSWERS: NO_ANSWER,
            SANDBOX_SETTLES_ON_RETRY: NO_ANSWER if request_number == 1 else SETTLED,
        }.get(account_number)
        if sandbox is not None:
            return sandbox
        if self.outcome != "random":
            return {"success": SETTLED, "failure": DECLINED, "hang": NO_ANSWER}[self.outcome]
        rng = random.Random(f"{self.seed}:{reference}:{request_number}") if self.seed is not None else random
        roll = rng.random()
        if roll < 0.7:
            return SETTLED
        if roll < 0.9:
            return DECLINED
        return NO_ANSWER


def default_gateway() -> Gateway:
    return SimulatedBank(
        outcome=settings.BANK_SIMULATOR_OUTCOME,
        seed=settings.BANK_SIMULATOR_SEED,
        accept_delay=settings.BANK_SIMULATOR_ACCEPT_DELAY_SECONDS,
        timeout=settings.BANK_REQUEST_TIMEOUT_SECONDS,
    )
