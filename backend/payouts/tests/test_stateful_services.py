"""The payout services as a state machine, explored by Hypothesis against real PostgreSQL.

Each run creates a merchant and drives the services in a random order:
requests (some above the balance), replays with the same and with a
different body, expired keys, attempts, bank answers for the live attempt
and for stale ones, stuck attempts found by the check, retries, and credits.
A model says what every balance and status must be; after every step the
database must agree with it and ``ledger_audit()`` must find no violation.

Time is not waited for: an attempt is made stuck, or a retry due, by moving
its deadline into the past (the payout guard allows that column to change).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bank import gateway as bank
from common.errors import IdempotencyKeyReused
from ledger.audit import ledger_audit
from ledger.models import LedgerEntry
from merchants import services as merchants
from merchants.models import Merchant
from payouts import services
from payouts.idempotency import request_fingerprint
from payouts.models import IdempotencyRecord, Payout, PayoutEvent

MAX_ATTEMPTS = 3

amounts = st.integers(min_value=1, max_value=60_000)
outcomes = st.sampled_from([bank.SETTLED, bank.DECLINED])


class Inquiry:
    """A bank that answers an inquiry with a fixed outcome; the machine never sends."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    def send(self, **kwargs) -> bank.Answer:  # pragma: no cover - never called
        raise AssertionError("the state machine applies answers itself")

    def inquire(self, *, reference: str) -> bank.Answer:
        if self.outcome in (bank.UNKNOWN, bank.NO_ANSWER):
            return bank.Answer(self.outcome)
        return bank.Answer(self.outcome, bank_reference="UTRMODEL", reason="model says no")

    cancel = inquire


@dataclass
class ModelPayout:
    id: int
    amount: int
    status: str = "pending"
    attempts: int = 0
    live: bool = False  # an attempt is out at the bank (attempt_deadline set)
    retry_waiting: bool = False  # stuck; the next attempt may start (next_attempt_at set)
    cancelling: bool = False  # the last attempt got no answer; the bank is asked to cancel (next_cancel_at set)

    @property
    def in_flight(self) -> bool:
        return self.status in ("pending", "processing")


@dataclass
class ModelKey:
    key: uuid.UUID
    body: dict
    status: int
    text: str
    payout_id: int | None


@dataclass
class Model:
    available: int = 0
    completed: int = 0
    payments: int = 0
    payouts: dict[int, ModelPayout] = field(default_factory=dict)
    keys: list[ModelKey] = field(default_factory=list)

    @property
    def held(self) -> int:
        return sum(p.amount for p in self.payouts.values() if p.in_flight)


class PayoutMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.merchant_id = 0
        self.account_id = 0

    @initialize(credit=st.integers(min_value=0, max_value=100_000))
    def a_merchant(self, credit):
        created = merchants.merchant_create(
            name="State machine",
            bank_accounts=[{"holder_name": "Asha Rao", "ifsc": "HDFC0000001", "account_number": "123456789012"}],
        )
        self.merchant_id, self.account_id = created.id, created.bank_account_ids[0]
        if credit:
            self.credit(credit)

    # --- money in and out ------------------------------------------------------------

    @rule(amount=amounts)
    def credit(self, amount):
        merchants.merchant_credit(merchant_id=self.merchant_id, amount_paise=amount, description="customer payment")
        self.model.available += amount
        self.model.payments += amount

    @precondition(lambda self: self._in_flight() < 3)  # few at a time, so each one gets far
    @rule(amount=st.one_of(amounts, st.integers(min_value=1, max_value=2**63 - 1)))
    def request_payout(self, amount):
        self._request(uuid.uuid4(), {"amount_paise": amount, "bank_account_id": self.account_id})

    @precondition(lambda self: self.model.keys)
    @rule(data=st.data(), how=st.sampled_from(["same body", "another body", "after the ttl"]), other=amounts)
    def replay(self, data, how, other):
        seen = data.draw(st.sampled_from(self.model.keys))
        if how == "same body":  # the first answer again, byte for byte, whatever happened since
            body = dict(reversed(list(seen.body.items())))  # key order does not matter
            response = self._create(seen.key, body)
            assert (response.status, response.body, response.replayed) == (seen.status, seen.text, True)
        elif how == "another body":
            amount = other if other != seen.body["amount_paise"] else other + 1
            with pytest.raises(IdempotencyKeyReused):
                self._create(seen.key, {**seen.body, "amount_paise": amount})
        elif self._in_flight() < 3:  # past its TTL the key is new: the same body is decided afresh
            IdempotencyRecord.objects.filter(merchant_id=self.merchant_id, key=seen.key).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
            self.model.keys.remove(seen)
            payout_id = self._request(seen.key, seen.body)
            assert payout_id is None or payout_id != seen.payout_id

    # --- the worker's side --------------------------------------------------------------

    @precondition(lambda self: self.model.payouts)
    @rule(data=st.data(), retry_due=st.booleans())
    def start_attempt(self, data, retry_due):
        self._start(self._pick(data, lambda p: p.status == "pending" or p.retry_waiting), retry_due=retry_due)

    @precondition(lambda self: self.model.payouts)
    @rule(data=st.data(), outcome=outcomes)
    def bank_answers(self, data, outcome):
        """The bank's final word about a reference, whenever it comes: applied while processing, never after."""
        payout = self._pick(data, lambda p: p.status == "processing")
        answer = bank.Answer(outcome, bank_reference="UTRMODEL", reason="model says no")
        applied = services.payout_apply_answer(payout_id=payout.id, answer=answer)
        assert applied is (payout.status == "processing")
        if applied:
            self._finish(payout, outcome)

    @precondition(lambda self: any(p.cancelling for p in self.model.payouts.values()))
    @rule(data=st.data(), answer=st.sampled_from([bank.CANCELLED, bank.SETTLED, bank.NO_ANSWER, bank.NO_ANSWER]))
    def bank_answers_the_cancellation(self, data, answer):
        """Only a confirmation ends a cancelling payout; silence keeps its funds held."""
        payout = data.draw(st.sampled_from([p for p in self.model.payouts.values() if p.cancelling]))
        Payout.objects.filter(pk=payout.id).update(next_cancel_at=timezone.now() - timedelta(seconds=1))
        follow_up = services.payout_cancel(payout_id=payout.id, gateway=Inquiry(answer))
        if answer == bank.NO_ANSWER:
            assert follow_up is not None and follow_up.action == "cancel"
        else:
            assert follow_up is None
            self._finish(payout, answer)

    @precondition(lambda self: self.model.payouts)
    @rule(data=st.data(), inquiry=st.sampled_from([bank.UNKNOWN, bank.UNKNOWN, bank.SETTLED, bank.DECLINED]))
    def check_stuck_attempt(self, data, inquiry):
        """The deadline passes without an answer; the check asks the bank, then retries or ends it."""
        payout = self._pick(data, lambda p: p.live)
        attempt = payout.attempts
        if data.draw(st.integers(min_value=0, max_value=4)) == 0:  # a check for an older attempt
            attempt = data.draw(st.integers(min_value=0, max_value=max(0, payout.attempts - 1)))
        self._check(payout, attempt, inquiry)

    @precondition(lambda self: any(p.live or p.retry_waiting for p in self.model.payouts.values()))
    @rule(data=st.data())
    def the_bank_hangs_again(self, data):
        """One more attempt that gets no answer: retried until the last one fails the payout."""
        payout = data.draw(st.sampled_from([p for p in self.model.payouts.values() if p.live or p.retry_waiting]))
        if payout.retry_waiting:
            self._start(payout, retry_due=True)
        self._check(payout, payout.attempts, bank.UNKNOWN)

    @precondition(lambda self: any(p.live for p in self.model.payouts.values()))
    @rule(data=st.data())
    def check_before_the_deadline(self, data):
        """A check that wakes early changes nothing and asks to be woken at the deadline."""
        payout = data.draw(st.sampled_from([p for p in self.model.payouts.values() if p.live]))
        Payout.objects.filter(pk=payout.id).update(attempt_deadline=timezone.now() + timedelta(minutes=5))
        follow_up = services.payout_check_attempt(
            payout_id=payout.id, attempt=payout.attempts, gateway=Inquiry(bank.SETTLED)
        )
        assert follow_up is not None and (follow_up.action, follow_up.attempt) == ("check", payout.attempts)

    @precondition(lambda self: self.model.payouts)
    @rule(data=st.data())
    def sweep_sees_what_is_overdue(self, data):
        later = timezone.now() + timedelta(days=1)
        due = {item.payout_id: item for item in services.payouts_needing_work(now=later)}
        for payout in self.model.payouts.values():
            if payout.status == "pending":
                assert due[payout.id] == services.SweepItem(payout.id, "attempt", 1)
            elif payout.live:
                assert due[payout.id] == services.SweepItem(payout.id, "check", payout.attempts)
            elif payout.retry_waiting:
                assert due[payout.id] == services.SweepItem(payout.id, "attempt", payout.attempts + 1)
            elif payout.cancelling:
                assert due[payout.id] == services.SweepItem(payout.id, "cancel", payout.attempts)
            else:
                assert payout.id not in due

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def money_adds_up(self):
        if not self.merchant_id:
            return
        audit = ledger_audit()
        assert audit.violations == []
        merchant = Merchant.objects.get(pk=self.merchant_id)
        model = self.model
        assert (merchant.available_paise, merchant.held_paise) == (model.available, model.held)
        assert model.payments == model.available + model.held + model.completed

    @invariant()
    def every_payout_is_where_the_model_says(self):
        if not self.merchant_id:
            return
        rows = {
            row[0]: row[1:]
            for row in Payout.objects.filter(merchant_id=self.merchant_id).values_list(
                "id", "status", "attempts", "attempt_deadline", "next_attempt_at"
            )
        }
        assert set(rows) == set(self.model.payouts)
        for payout in self.model.payouts.values():
            status, attempts, deadline, next_attempt_at = rows[payout.id]
            assert (status, attempts) == (payout.status, payout.attempts)
            assert (deadline is not None) == payout.live
            assert (next_attempt_at is not None) == payout.retry_waiting
        reversals = LedgerEntry.objects.filter(merchant_id=self.merchant_id, kind="reversal").count()
        assert reversals == sum(1 for p in self.model.payouts.values() if p.status == "failed")

    @invariant()
    def final_payouts_have_one_final_event(self):
        if not self.merchant_id:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT payout_id, count(*) FROM payouts_payoutevent"
                " WHERE merchant_id = %s AND to_status IN ('completed', 'failed') GROUP BY payout_id",
                [self.merchant_id],
            )
            finals = dict(cursor.fetchall())
        expected = {p.id: 1 for p in self.model.payouts.values() if not p.in_flight}
        assert finals == expected
        assert PayoutEvent.objects.filter(merchant_id=self.merchant_id, from_status__isnull=True).count() == len(
            self.model.payouts
        )

    # --- helpers ------------------------------------------------------------------------

    def _in_flight(self) -> int:
        return sum(1 for p in self.model.payouts.values() if p.in_flight)

    def _start(self, payout: ModelPayout, *, retry_due: bool) -> None:
        startable = payout.status == "pending" or (payout.retry_waiting and retry_due)
        if payout.retry_waiting and retry_due:
            Payout.objects.filter(pk=payout.id).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        attempt = services.payout_start_attempt(payout_id=payout.id, now=timezone.now())
        if not startable:
            assert attempt is None
            return
        assert attempt is not None and attempt.number == payout.attempts + 1
        payout.status, payout.attempts, payout.live, payout.retry_waiting = "processing", attempt.number, True, False

    def _check(self, payout: ModelPayout, attempt: int, inquiry: str) -> None:
        live = payout.live and attempt == payout.attempts
        if payout.live:
            Payout.objects.filter(pk=payout.id).update(attempt_deadline=timezone.now() - timedelta(seconds=1))
        follow_up = services.payout_check_attempt(payout_id=payout.id, attempt=attempt, gateway=Inquiry(inquiry))
        if not live:
            assert follow_up is None
            return
        if inquiry != bank.UNKNOWN:
            assert follow_up is None
            self._finish(payout, inquiry)
        elif attempt >= MAX_ATTEMPTS:  # silence is not a refusal: ask the bank to cancel
            assert follow_up is not None and (follow_up.action, follow_up.attempt) == ("cancel", attempt)
            payout.live, payout.cancelling = False, True
        else:
            assert follow_up is not None and (follow_up.action, follow_up.attempt) == ("attempt", attempt + 1)
            payout.live, payout.retry_waiting = False, True

    def _pick(self, data, wanted) -> ModelPayout:
        """Mostly a payout the step can act on; sometimes any payout, to see that the rest are refused."""
        every = sorted(self.model.payouts.values(), key=lambda p: p.id)
        candidates = [p for p in every if wanted(p)]
        if candidates and data.draw(st.integers(min_value=0, max_value=4)) > 0:
            return data.draw(st.sampled_from(candidates))
        return data.draw(st.sampled_from(every))

    def _request(self, key: uuid.UUID, body: dict) -> int | None:
        """A request the model has not seen under this key: 201 if the balance allows, else 422."""
        response = self._create(key, body)
        assert not response.replayed
        payout_id = None
        if body["amount_paise"] <= self.model.available:
            assert response.status == 201, response.body
            payout_id = self._payout_of(key)
            self.model.available -= body["amount_paise"]
            self.model.payouts[payout_id] = ModelPayout(payout_id, body["amount_paise"])
        else:
            assert response.status == 422, response.body
            assert '"insufficient_funds"' in response.body
        self.model.keys.append(ModelKey(key, body, response.status, response.body, payout_id))
        return payout_id

    def _create(self, key: uuid.UUID, body: dict):
        return services.payout_create(
            merchant_id=self.merchant_id,
            bank_account_id=body["bank_account_id"],
            amount_paise=body["amount_paise"],
            idempotency_key=key,
            fingerprint=request_fingerprint(body),
        )

    def _payout_of(self, key: uuid.UUID) -> int:
        return IdempotencyRecord.objects.get(merchant_id=self.merchant_id, key=key).payout_id

    def _finish(self, payout: ModelPayout, outcome: str) -> None:
        payout.live = payout.retry_waiting = payout.cancelling = False
        if outcome == bank.SETTLED:
            payout.status = "completed"
            self.model.completed += payout.amount
        else:
            payout.status = "failed"
            self.model.available += payout.amount


@pytest.fixture
def machine_settings(settings):
    settings.PAYOUT_MAX_ATTEMPTS = MAX_ATTEMPTS
    settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS = 30
    settings.PAYOUT_RETRY_BACKOFF_SECONDS = 5
    settings.IDEMPOTENCY_KEY_TTL_SECONDS = 86400
    return settings


def test_the_payout_services_keep_the_books_whatever_the_order(transactional_db, machine_settings):
    # payout_create enqueues nothing (the API does, after commit): here the machine is the worker.
    run_state_machine_as_test(
        PayoutMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
