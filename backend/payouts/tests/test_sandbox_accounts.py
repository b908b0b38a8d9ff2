"""Sandbox account numbers (CONTRACT §9): each drives one path of the lifecycle, one payout at a time.

The worker's own services run with the default gateway (the simulator as
the settings make it), with ``BANK_SIMULATOR_OUTCOME`` set against each
sandbox number's outcome, to show the number wins. Time moves by passing
``now``, never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from bank import gateway as bank
from bank.models import SimulatedTransfer
from conftest import payout_new
from merchants import accounts
from merchants.models import BankAccount, Merchant
from payouts import services, tasks, verification
from payouts.models import Payout


def sandbox_account(merchant_id: int, number: str) -> BankAccount:
    """An account with this number, added and verified (or not) by the simulated bank, through the worker's task."""
    account = accounts.bank_account_add(
        merchant_id=merchant_id,
        holder_name="Sandbox Tester",
        ifsc="HDFC0000001",
        account_number=number,
        user_id=None,
        client_address=None,
    )
    tasks.bank_account_verify_task.call_local(account.id)
    return BankAccount.objects.get(pk=account.id)


def balance(merchant_id: int) -> tuple[int, int]:
    return tuple(Merchant.objects.values_list("available_paise", "held_paise").get(pk=merchant_id))


@pytest.fixture
def merchant(make_merchant, settings):
    settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS = 30
    settings.PAYOUT_RETRY_BACKOFF_SECONDS = 5
    settings.PAYOUT_MAX_ATTEMPTS = 3
    return make_merchant(credit_paise=100_000)


@pytest.mark.parametrize("outcome", ["failure", "hang", "random"])
def test_111111111111_always_settles(merchant, settings, outcome):
    settings.BANK_SIMULATOR_OUTCOME = outcome
    account = sandbox_account(merchant.id, bank.SANDBOX_SETTLES)
    assert (account.status, account.registered_name) == ("verified", "SANDBOX TESTER")
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=account.id, amount_paise=1_000)

    tasks.payout_process_task.call_local(payout_id)

    payout = Payout.objects.get(pk=payout_id)
    assert (payout.status, payout.attempts, payout.failure_code) == ("completed", 1, None)
    assert balance(merchant.id) == (99_000, 0)
    call_command("check_ledger")


@pytest.mark.parametrize("outcome", ["success", "random"])
def test_222222222222_is_always_declined(merchant, settings, outcome):
    settings.BANK_SIMULATOR_OUTCOME = outcome
    account = sandbox_account(merchant.id, bank.SANDBOX_DECLINED)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=account.id, amount_paise=1_000)

    tasks.payout_process_task.call_local(payout_id)

    payout = Payout.objects.get(pk=payout_id)
    assert (payout.status, payout.attempts, payout.failure_code) == ("failed", 1, "bank_declined")
    assert payout.failure_reason == "declined by the bank: declined by the beneficiary bank"
    assert balance(merchant.id) == (100_000, 0)
    call_command("check_ledger")


def test_333333333333_never_answers_stays_processing_then_fails_once_the_bank_confirms_the_cancel(merchant, settings):
    settings.BANK_SIMULATOR_OUTCOME = "success"
    account = sandbox_account(merchant.id, bank.SANDBOX_NEVER_ANSWERS)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=account.id, amount_paise=1_000)

    follow_up = services.payout_process(payout_id=payout_id)
    for attempt in (1, 2, 3):
        assert follow_up is not None and (follow_up.action, follow_up.attempt) == ("check", attempt)
        # Silence: processing, the funds held.
        assert Payout.objects.get(pk=payout_id).status == "processing"
        assert balance(merchant.id) == (99_000, 1_000)
        now = follow_up.at + timedelta(milliseconds=1)
        follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=attempt, now=now)
        if attempt < 3:
            assert follow_up is not None and follow_up.action == "attempt"
            follow_up = services.payout_process(payout_id=payout_id, now=follow_up.at)
    assert follow_up is not None and follow_up.action == "cancel"
    assert Payout.objects.get(pk=payout_id).status == "processing"
    assert balance(merchant.id) == (99_000, 1_000)

    assert services.payout_cancel(payout_id=payout_id, now=follow_up.at) is None

    payout = Payout.objects.get(pk=payout_id)
    assert (payout.status, payout.attempts, payout.failure_code, payout.bank_reference) == (
        "failed",
        3,
        "no_bank_answer",
        "",
    )
    assert balance(merchant.id) == (100_000, 0)
    assert SimulatedTransfer.objects.get(reference=payout.reference).state == "cancelled"
    call_command("check_ledger")


def test_444444444444_gets_no_answer_to_its_first_attempt_then_settles(merchant, settings):
    settings.BANK_SIMULATOR_OUTCOME = "failure"
    account = sandbox_account(merchant.id, bank.SANDBOX_SETTLES_ON_RETRY)
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=account.id, amount_paise=1_000)

    follow_up = services.payout_process(payout_id=payout_id)
    assert follow_up is not None and (follow_up.action, follow_up.attempt) == ("check", 1)
    follow_up = services.payout_check_attempt(
        payout_id=payout_id, attempt=1, now=follow_up.at + timedelta(milliseconds=1)
    )
    assert follow_up is not None and (follow_up.action, follow_up.attempt) == ("attempt", 2)
    assert services.payout_process(payout_id=payout_id, now=follow_up.at) is None

    payout = Payout.objects.get(pk=payout_id)
    assert (payout.status, payout.attempts, payout.failure_code) == ("completed", 2, None)
    assert payout.bank_reference.startswith("UTR")
    assert SimulatedTransfer.objects.get(reference=payout.reference).requests == 2
    assert balance(merchant.id) == (99_000, 0)
    call_command("check_ledger")


def test_555555555555_fails_verification_as_account_closed_and_takes_no_payout(merchant, settings):
    settings.BANK_SIMULATOR_OUTCOME = "success"
    account = sandbox_account(merchant.id, bank.SANDBOX_ACCOUNT_CLOSED)
    assert (account.status, account.rejection_reason, account.registered_name) == ("rejected", "account closed", None)


def test_other_accounts_follow_the_simulator_outcome(merchant, settings):
    settings.BANK_SIMULATOR_OUTCOME = "failure"
    account = sandbox_account(merchant.id, "987654321098")
    assert account.status == "verified"
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=account.id, amount_paise=1_000)

    tasks.payout_process_task.call_local(payout_id)

    assert Payout.objects.get(pk=payout_id).status == "failed"


class Silent:
    """A bank that never answers a verification (a test double of the gateway only, not of the database)."""

    def __init__(self) -> None:
        self.asked = 0

    def verify_account(self, *, ifsc: str, account_number: str, holder_name: str) -> bank.Verification:
        self.asked += 1
        return bank.Verification(bank.NO_ANSWER)


def test_no_answer_to_a_verification_is_never_a_rejection_it_stays_pending_and_is_asked_again(merchant, settings):
    settings.PAYOUT_RETRY_BACKOFF_SECONDS = 5
    account = accounts.bank_account_add(
        merchant_id=merchant.id,
        holder_name="Quiet Bank Customer",
        ifsc="HDFC0000001",
        account_number="123123123123",
        user_id=None,
        client_address=None,
    )
    silent = Silent()

    again = verification.bank_account_verify(bank_account_id=account.id, gateway=silent)

    pending = BankAccount.objects.get(pk=account.id)
    assert (pending.status, pending.verification_requests, silent.asked) == ("pending_verification", 1, 1)
    assert again is not None and again.at == pending.next_verification_at
    # Not due yet: a second worker (or a redelivered task) does not ask.
    assert verification.bank_account_verify(bank_account_id=account.id, gateway=silent) is None
    assert silent.asked == 1
    # Due: the sweep's grace passed with the task lost. The sweep finds it; the bank answers this time.
    BankAccount.objects.filter(pk=account.id).update(next_verification_at=pending.created_at - timedelta(hours=1))
    assert accounts.bank_accounts_awaiting_verification(grace_seconds=20) == [account.id]
    assert verification.bank_account_verify(bank_account_id=account.id) is None
    verified = BankAccount.objects.get(pk=account.id)
    assert (verified.status, verified.registered_name, verified.verification_requests) == (
        "verified",
        "QUIET BANK CUSTOMER",
        2,
    )
    assert accounts.bank_accounts_awaiting_verification(grace_seconds=20) == []


def test_the_sweep_asks_about_an_account_whose_task_was_lost(merchant, settings):
    from huey.contrib.djhuey import HUEY

    settings.PAYOUT_SWEEP_GRACE_SECONDS = 20
    account = accounts.bank_account_add(
        merchant_id=merchant.id,
        holder_name="Lost Task",
        ifsc="HDFC0000001",
        account_number="321321321321",
        user_id=None,
        client_address=None,
    )
    HUEY.flush()
    tasks._last_sweep = 0.0
    assert tasks.sweep_once() == 0  # within the grace: its task may still be queued

    BankAccount.objects.filter(pk=account.id).update(next_verification_at=account.created_at - timedelta(seconds=21))
    assert tasks.sweep_once() == 1
    assert [(t.name.rsplit(".", 1)[-1], t.args) for t in HUEY.pending()] == [
        ("bank_account_verify_task", (account.id,))
    ]
    HUEY.flush()
