"""The bank, behind a small gateway: the one place a real bank adapter plugs in.

A gateway sends a transfer identified by the payout's reference and answers
``settled``, ``declined`` or ``no_answer`` (the request hung); asked about a
reference later, it answers ``settled``, ``declined`` or ``unknown``. A real
bank dedupes on the reference, and so must every gateway: sending the same
reference twice never pays twice.

Never call a gateway inside a transaction or while holding a lock: it is a
network call to another system that may take long or never answer.

``SimulatedBank`` stands in for the bank. Outcomes: 70% settled, 20% declined,
10% no answer (``BANK_SIMULATOR_OUTCOME`` forces one; ``BANK_SIMULATOR_SEED``
makes the draw reproducible per reference and request). A hang answers at once
with ``no_answer`` instead of sleeping, so it never ties up a worker; the bank
records the request as lost, and a later request with the same reference is a
new draw. A settled or declined reference answers the same forever.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.utils import timezone

SETTLED = "settled"
DECLINED = "declined"
NO_ANSWER = "no_answer"
UNKNOWN = "unknown"
LOST = "lost"  # the simulator's state for a request it never acted on

DECLINE_REASONS = (
    "beneficiary account closed",
    "beneficiary name mismatch",
    "account frozen by the beneficiary bank",
    "invalid IFSC for this account",
)


@dataclass(frozen=True)
class Answer:
    outcome: str
    bank_reference: str = ""
    reason: str = ""


class Gateway(Protocol):
    def send(self, *, reference: str, amount_paise: int, ifsc: str, account_number: str) -> Answer: ...

    def inquire(self, *, reference: str) -> Answer: ...


class SimulatedBank:
    def __init__(self, *, outcome: str = "random", seed: str | None = None) -> None:
        self.outcome = outcome
        self.seed = seed

    # First request for a reference: one statement records it with its drawn
    # outcome. A repeat only counts the request; its (xmax = 0) is false.
    _RECEIVE = """
    INSERT INTO payouts_simulatedtransfer
           (reference, amount_paise, state, bank_reference, reason, requests, created_at, updated_at)
    VALUES (%(reference)s, %(amount)s, %(state)s, %(bank_reference)s, %(reason)s, 1, %(now)s, %(now)s)
    ON CONFLICT (reference) DO UPDATE
       SET requests = payouts_simulatedtransfer.requests + 1, updated_at = EXCLUDED.updated_at
    RETURNING state, bank_reference, reason, requests, (xmax = 0)
    """
    # A repeat of a request the bank never acted on is a new draw.
    _RESOLVE = """
    UPDATE payouts_simulatedtransfer SET state = %(state)s, bank_reference = %(bank_reference)s, reason = %(reason)s
     WHERE reference = %(reference)s AND state = 'lost'
    """

    def send(self, *, reference: str, amount_paise: int, ifsc: str, account_number: str) -> Answer:
        assert not connection.in_atomic_block, "the bank is never called inside a transaction"
        now = timezone.now()
        first = self._books(reference, 1, self._draw(reference, 1))
        with connection.cursor() as cursor:
            cursor.execute(self._RECEIVE, {"amount": amount_paise, "now": now, **first})
            state, bank_reference, reason, requests, inserted = cursor.fetchone()
            if not inserted and state == LOST:
                again = self._books(reference, requests, self._draw(reference, requests))
                if again["state"] != LOST:
                    cursor.execute(self._RESOLVE, again)
                cursor.execute(
                    "SELECT state, bank_reference, reason FROM payouts_simulatedtransfer WHERE reference = %s",
                    [reference],
                )
                state, bank_reference, reason = cursor.fetchone()
        if state == LOST:
            return Answer(NO_ANSWER)
        return Answer(state, bank_reference=bank_reference, reason=reason)

    @staticmethod
    def _books(reference: str, request_number: int, outcome: str) -> dict:
        """The bank's record of a request with this outcome."""
        if outcome == SETTLED:
            utr = "UTR" + hashlib.sha256(reference.encode()).hexdigest()[:16].upper()
            return {"reference": reference, "state": SETTLED, "bank_reference": utr, "reason": ""}
        if outcome == DECLINED:
            reason = DECLINE_REASONS[request_number % len(DECLINE_REASONS)]
            return {"reference": reference, "state": DECLINED, "bank_reference": "", "reason": reason}
        return {"reference": reference, "state": LOST, "bank_reference": "", "reason": ""}

    def inquire(self, *, reference: str) -> Answer:
        from payouts.models import SimulatedTransfer

        assert not connection.in_atomic_block, "the bank is never called inside a transaction"
        transfer = SimulatedTransfer.objects.filter(reference=reference).first()
        if transfer is None or transfer.state == SimulatedTransfer.State.LOST:
            return Answer(UNKNOWN)
        return Answer(transfer.state, bank_reference=transfer.bank_reference, reason=transfer.reason)

    def _draw(self, reference: str, request_number: int) -> str:
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
    return SimulatedBank(outcome=settings.BANK_SIMULATOR_OUTCOME, seed=settings.BANK_SIMULATOR_SEED)
