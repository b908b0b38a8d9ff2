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
from django.db import connection, transaction
from django.utils import timezone

SETTLED = "settled"
DECLINED = "declined"
NO_ANSWER = "no_answer"
UNKNOWN = "unknown"

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

    def send(self, *, reference: str, amount_paise: int, ifsc: str, account_number: str) -> Answer:
        from payouts.models import SimulatedTransfer

        assert not connection.in_atomic_block, "the bank is never called inside a transaction"
        now = timezone.now()
        with transaction.atomic():
            SimulatedTransfer.objects.bulk_create(
                [
                    SimulatedTransfer(
                        reference=reference,
                        amount_paise=amount_paise,
                        state=SimulatedTransfer.State.LOST,
                        created_at=now,
                        updated_at=now,
                    )
                ],
                ignore_conflicts=True,
            )
            transfer = SimulatedTransfer.objects.select_for_update().get(reference=reference)
            transfer.requests += 1
            if transfer.state == SimulatedTransfer.State.LOST:
                outcome = self._draw(reference, transfer.requests)
                if outcome == SETTLED:
                    transfer.state = SimulatedTransfer.State.SETTLED
                    transfer.bank_reference = "UTR" + hashlib.sha256(reference.encode()).hexdigest()[:16].upper()
                elif outcome == DECLINED:
                    transfer.state = SimulatedTransfer.State.DECLINED
                    transfer.reason = DECLINE_REASONS[transfer.requests % len(DECLINE_REASONS)]
            transfer.updated_at = now
            transfer.save()
        if transfer.state == SimulatedTransfer.State.LOST:
            return Answer(NO_ANSWER)
        return Answer(transfer.state, bank_reference=transfer.bank_reference, reason=transfer.reason)

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
