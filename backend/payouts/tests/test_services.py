"""The payout lifecycle's services (CONTRACT §3), against real PostgreSQL, without HTTP.

Payouts are requested through ``payout_create``; the worker's services are
then driven directly with the simulated bank. Services take ``now``: a test
moves time forward by passing a later ``now``, never by sleeping.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from bank import gateway as bank
from bank.models import SimulatedTransfer
from conftest import count
from ledger.models import LedgerEntry
from merchants.account_numbers import account_number_decrypt
from merchants.models import Merchant
from payouts import services
from payouts.models import Payout, PayoutEvent, ReconciliationIncident
from payouts.representations import payout_as_dict

SUCCESS = bank.SimulatedBank(outcome="success")
FAILURE = bank.SimulatedBank(outcome="failure")
HANG = bank.SimulatedBank(outcome="hang")


def ref(payout_id: int) -> str:
    return Payout.objects.get(pk=payout_id).reference


def shown(payout_id: int) -> dict:
    """The payout as the API shows it, read without HTTP."""
    return payout_as_dict(Payout.objects.get(pk=payout_id))


def balance(merchant) -> tuple[int, int]:
    return tuple(Merchant.objects.values_list("available_paise", "held_paise").get(pk=merchant.id))


def events(payout_id: int) -> list[tuple[str | None, str, int]]:
    return list(
        PayoutEvent.objects.filter(payout_id=payout_id)
        .order_by("id")
        .values_list("from_status", "to_status", "attempt")
    )


def past_deadline(payout_id: int) -> datetime:
    """A moment just past the live attempt's deadline: services take ``now``, so no test sleeps."""
    return Payout.objects.get(pk=payout_id).attempt_deadline + timedelta(milliseconds=1)


def test_a_settled_payout_completes_and_its_hold_is_released(payout):
    merchant, payout_id = payout

    assert services.payout_process(payout_id=payout_id, gateway=SUCCESS) is None

    detail = shown(payout_id)
    assert (detail["status"], detail["attempts"], detail["failure_reason"]) == ("completed", 1, None)
    assert balance(merchant) == (4_000, 0)
    assert events(payout_id) == [
        (None, "pending", 0),
        ("pending", "processing", 1),
        ("processing", "completed", 1),
    ]
    assert Payout.objects.get(pk=payout_id).bank_reference.startswith("UTR")
    call_command("check_ledger")


def test_a_declined_payout_fails_and_refunds_exactly(payout):
    merchant, payout_id = payout

    services.payout_process(payout_id=payout_id, gateway=FAILURE)

    detail = shown(payout_id)
    assert detail["status"] == "failed"
    assert detail["failure_reason"].startswith("declined by the bank: ")
    assert balance(merchant) == (10_000, 0)
    reversal = LedgerEntry.objects.get(payout_id=payout_id, kind="reversal")
    assert reversal.amount_paise == 6_000
    assert events(payout_id)[-1] == ("processing", "failed", 1)
    call_command("check_ledger")


def test_a_hanging_bank_is_retried_until_the_last_attempt_then_the_payout_fails_and_refunds(payout, short_timeouts):
    merchant, payout_id = payout

    now = services.db_now()
    follow_up = services.payout_process(payout_id=payout_id, gateway=HANG, now=now)
    for attempt in (1, 2, 3):
        # The check is due when the attempt's deadline passes: the database's time plus the timeout.
        deadline = now + timedelta(seconds=short_timeouts.PAYOUT_PROCESSING_TIMEOUT_SECONDS)
        assert follow_up == services.FollowUp(action="check", at=deadline, attempt=attempt)
        assert Payout.objects.get(pk=payout_id).attempt_deadline == deadline
        assert balance(merchant) == (4_000, 6_000)
        now = deadline + timedelta(milliseconds=1)
        follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=attempt, gateway=HANG, now=now)
        if attempt < 3:
            assert follow_up == services.FollowUp(action="attempt", at=now, attempt=attempt + 1)  # no backoff
            follow_up = services.payout_process(payout_id=payout_id, gateway=HANG, now=now)

    # Silence is not a refusal: the funds stay held until the bank confirms the cancellation.
    assert follow_up.action == "cancel"
    assert Payout.objects.get(pk=payout_id).status == "processing"
    assert balance(merchant) == (4_000, 6_000)
    assert follow_up == services.FollowUp(action="cancel", at=now, attempt=3)
    assert services.payout_cancel(payout_id=payout_id, gateway=HANG, now=now) is None
    detail = shown(payout_id)
    assert (detail["status"], detail["attempts"]) == ("failed", 3)
    assert detail["failure_reason"] == "no answer from the bank after 3 attempts of 1s each"
    assert balance(merchant) == (10_000, 0)
    assert events(payout_id) == [
        (None, "pending", 0),
        ("pending", "processing", 1),
        ("processing", "processing", 1),  # stuck: retry scheduled
        ("processing", "processing", 2),  # retry sent
        ("processing", "processing", 2),
        ("processing", "processing", 3),
        ("processing", "processing", 3),  # stuck, the last: the bank is asked to cancel
        ("processing", "failed", 3),  # the bank confirmed: it will never pay
    ]
    transfer = SimulatedTransfer.objects.get(reference=ref(payout_id))
    assert (transfer.requests, transfer.state) == (3, "cancelled")
    call_command("check_ledger")


def test_retries_back_off_exponentially(payout, settings):
    settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS = 1
    settings.PAYOUT_RETRY_BACKOFF_SECONDS = 5
    _, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)

    waits = []
    for attempt in (1, 2):
        now = past_deadline(payout_id)
        follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=attempt, gateway=HANG, now=now)
        waits.append((follow_up.at - now).total_seconds())
        # Not due yet: no worker may start the retry early.
        assert services.payout_start_attempt(payout_id=payout_id, now=follow_up.at - timedelta(milliseconds=1)) is None
        services.payout_process(payout_id=payout_id, gateway=HANG, now=follow_up.at)  # due: it starts

    assert waits == [5.0, 10.0]


def test_a_stuck_attempt_that_the_bank_settled_completes_without_paying_again(payout, short_timeouts):
    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    # The bank did act on the request; only its answer was lost.
    SimulatedTransfer.objects.filter(reference=ref(payout_id)).update(state="settled", bank_reference="UTRLATE")
    now = past_deadline(payout_id)

    follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG, now=now)

    assert follow_up is None
    detail = shown(payout_id)
    assert (detail["status"], detail["attempts"]) == ("completed", 1)
    assert Payout.objects.get(pk=payout_id).bank_reference == "UTRLATE"
    assert SimulatedTransfer.objects.get(reference=ref(payout_id)).requests == 1
    assert balance(merchant) == (4_000, 0)


def test_a_retry_of_a_transfer_the_bank_settled_meanwhile_does_not_pay_twice(payout, short_timeouts):
    _, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    now = past_deadline(payout_id)
    services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG, now=now)  # unknown: retry
    SimulatedTransfer.objects.filter(reference=ref(payout_id)).update(state="settled", bank_reference="UTR1")

    services.payout_process(payout_id=payout_id, gateway=SUCCESS, now=now)  # the retry, due at once

    transfer = SimulatedTransfer.objects.get(reference=ref(payout_id))
    assert (transfer.state, transfer.bank_reference, transfer.requests) == ("settled", "UTR1", 2)
    assert shown(payout_id)["status"] == "completed"
    assert count("bank_simulatedtransfer") == 1


def test_a_late_final_answer_is_the_banks_word_and_is_applied_while_processing(payout, short_timeouts):
    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    now = past_deadline(payout_id)
    services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG, now=now)  # attempt 1 stuck: retry later
    payout = Payout.objects.get(pk=payout_id)

    applied = services.payout_apply_answer(
        payout_id=payout_id,
        answer=bank.Answer(
            bank.DECLINED,
            reason="beneficiary account closed",
            amount_paise=6_000,
            ifsc=payout.bank_account.ifsc,
            account_number=account_number_decrypt(payout.bank_account.account_number_encrypted),
        ),
    )

    assert applied is True
    detail = shown(payout_id)
    assert (detail["status"], detail["failure_reason"]) == (
        "failed",
        "declined by the bank: beneficiary account closed",
    )
    assert balance(merchant) == (10_000, 0)
    assert services.payout_process(payout_id=payout_id, gateway=SUCCESS) is None  # no retry of a final payout
    call_command("check_ledger")


def test_a_settled_answer_after_the_payout_failed_is_recorded_as_an_incident(payout, caplog):
    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=FAILURE)
    late = bank.Answer(bank.SETTLED, bank_reference="UTRLATE", amount_paise=6_000)

    assert services.payout_apply_answer(payout_id=payout_id, answer=late) is False
    assert services.payout_apply_answer(payout_id=payout_id, answer=late) is False  # found again: one incident

    incident = ReconciliationIncident.objects.get()
    assert (incident.kind, incident.payout_id, incident.merchant_id) == (
        "settled_after_failure",
        payout_id,
        merchant.id,
    )
    assert (incident.reference, incident.bank_state, incident.bank_amount_paise) == (ref(payout_id), "settled", 6_000)
    assert [r.levelname for r in caplog.records if "reconciliation incident" in r.getMessage()] == ["ERROR"]
    assert balance(merchant) == (10_000, 0)  # nothing applied


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (bank.Answer(bank.SETTLED, bank_reference="UTR1", amount_paise=6_001), "amount_mismatch"),
        (bank.Answer(bank.SETTLED, bank_reference="UTR1", amount_paise=6_000, ifsc="SBIN0000001",
                     account_number="999999999"), "account_mismatch"),
    ],
)  # fmt: skip
def test_an_answer_for_another_amount_or_account_is_never_applied(payout, answer, kind):
    merchant, payout_id = payout
    services.payout_start_attempt(payout_id=payout_id)

    assert services.payout_apply_answer(payout_id=payout_id, answer=answer) is False

    assert Payout.objects.get(pk=payout_id).status == "processing"
    assert balance(merchant) == (4_000, 6_000)
    assert list(ReconciliationIncident.objects.values_list("kind", flat=True)) == [kind]


class CancelNotConfirmed(bank.SimulatedBank):
    """A bank that keeps silent about cancellations, then confirms one."""

    def __init__(self) -> None:
        super().__init__(outcome="hang")
        self.confirm = False

    def cancel(self, *, reference: str) -> bank.Answer:
        return super().cancel(reference=reference) if self.confirm else bank.Answer(bank.NO_ANSWER)


def test_the_funds_stay_held_while_the_bank_does_not_confirm_the_cancellation(payout, settings):
    settings.PAYOUT_MAX_ATTEMPTS = 1
    settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS = 30
    settings.PAYOUT_RETRY_BACKOFF_SECONDS = 5
    merchant, payout_id = payout
    gateway = CancelNotConfirmed()
    started = services.payout_process(payout_id=payout_id, gateway=gateway).at
    later = started + timedelta(seconds=1)

    follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=gateway, now=later)
    waits = []
    for _ in range(3):
        follow_up = services.payout_cancel(payout_id=payout_id, gateway=gateway, now=follow_up.at)
        waits.append((follow_up.at - later).total_seconds())
        assert follow_up.action == "cancel"
        assert Payout.objects.get(pk=payout_id).status == "processing"
        assert balance(merchant) == (4_000, 6_000)
    gateway.confirm = True
    assert services.payout_cancel(payout_id=payout_id, gateway=gateway, now=follow_up.at) is None

    assert waits == [5, 15, 35]  # 5, then 10, then 20 seconds apart
    detail = shown(payout_id)
    assert (detail["status"], detail["failure_reason"]) == (
        "failed",
        "no answer from the bank after 1 attempts of 30s each",
    )
    reasons = list(PayoutEvent.objects.filter(payout_id=payout_id).values_list("reason", flat=True))
    assert "cancellation request 3 not confirmed by the bank; funds held for 15s; asking again in 20s" in reasons
    assert balance(merchant) == (10_000, 0)


def test_a_transfer_the_bank_settled_while_we_asked_to_cancel_completes(payout, settings):
    settings.PAYOUT_MAX_ATTEMPTS = 1
    merchant, payout_id = payout
    started = services.payout_process(payout_id=payout_id, gateway=HANG).at
    later = started + timedelta(seconds=1)
    follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG, now=later)
    # The request that got no answer is processed by the bank after all.
    payout = Payout.objects.select_related("bank_account").get(pk=payout_id)
    SUCCESS.send(reference=payout.reference, amount_paise=6_000, ifsc=payout.bank_account.ifsc,
                 account_number=account_number_decrypt(payout.bank_account.account_number_encrypted))  # fmt: skip

    assert services.payout_cancel(payout_id=payout_id, gateway=HANG, now=follow_up.at) is None

    assert shown(payout_id)["status"] == "completed"
    assert balance(merchant) == (4_000, 0)
    call_command("check_ledger")


def test_a_request_that_reaches_the_bank_after_the_cancellation_is_refused_forever(payout, settings):
    settings.PAYOUT_MAX_ATTEMPTS = 1
    merchant, payout_id = payout
    started = services.payout_process(payout_id=payout_id, gateway=HANG).at
    follow_up = services.payout_check_attempt(
        payout_id=payout_id, attempt=1, gateway=HANG, now=started + timedelta(seconds=1)
    )
    services.payout_cancel(payout_id=payout_id, gateway=HANG, now=follow_up.at)
    payout = Payout.objects.select_related("bank_account").get(pk=payout_id)

    number = account_number_decrypt(payout.bank_account.account_number_encrypted)
    late = SUCCESS.send(reference=payout.reference, amount_paise=6_000, ifsc=payout.bank_account.ifsc,
                        account_number=number)  # fmt: skip

    assert (late.outcome, late.reason) == (bank.DECLINED, bank.CANCEL_REASON)
    assert SUCCESS.inquire(reference=payout.reference).outcome == bank.CANCELLED
    assert shown(payout_id)["status"] == "failed"
    assert balance(merchant) == (10_000, 0)
    call_command("check_ledger")


def test_two_workers_racing_on_one_payout_process_it_once(payout):
    merchant, payout_id = payout
    barrier = threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            services.payout_process(payout_id=payout_id, gateway=SUCCESS)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    detail = shown(payout_id)
    assert (detail["status"], detail["attempts"]) == ("completed", 1)
    assert SimulatedTransfer.objects.get(reference=ref(payout_id)).requests == 1
    assert count("payouts_payoutevent", "payout_id = %s", [payout_id]) == 3
    assert balance(merchant) == (4_000, 0)


def test_final_payouts_are_left_alone(payout):
    _, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=SUCCESS)

    assert services.payout_process(payout_id=payout_id, gateway=FAILURE) is None
    assert services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=FAILURE) is None
    assert services.payouts_needing_work(now=services.db_now() + timedelta(days=1)) == []
    assert Payout.objects.get(pk=payout_id).status == "completed"
