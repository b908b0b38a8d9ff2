"""The worker's side of the lifecycle (CONTRACT §3), against real PostgreSQL.

Payouts are created over HTTP; the worker's services are then driven directly
with the simulated bank, with short timeouts so stuck attempts happen in
seconds.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from payouts import bank, services
from payouts.models import LedgerEntry, Payout, ReconciliationIncident, SimulatedTransfer
from payouts.tests.conftest import count

SUCCESS = bank.SimulatedBank(outcome="success")
FAILURE = bank.SimulatedBank(outcome="failure")
HANG = bank.SimulatedBank(outcome="hang")


@pytest.fixture
def short_timeouts(settings):
    settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS = 1
    settings.PAYOUT_RETRY_BACKOFF_SECONDS = 0
    settings.PAYOUT_MAX_ATTEMPTS = 3
    return settings


@pytest.fixture
def payout(make_merchant):
    """A merchant with 10 000 paise who requested a 6 000-paise payout."""
    merchant = make_merchant(credit_paise=10_000)
    reply = merchant.api.create_payout(6_000, merchant.bank_account_id)
    assert reply.status == 201
    return merchant, reply.json["id"]


def events(merchant, payout_id):
    return [
        (e["from_status"], e["to_status"], e["attempt"]) for e in merchant.api.get(f"/payouts/{payout_id}/events").json
    ]


def ref(payout_id: int) -> str:
    return Payout.objects.get(pk=payout_id).reference


def wait_past_deadline(payout_id):
    deadline = Payout.objects.get(pk=payout_id).attempt_deadline
    time.sleep(max(0.0, (deadline - timezone.now()).total_seconds()) + 0.05)


def test_a_settled_payout_completes_and_its_hold_is_released(payout):
    merchant, payout_id = payout

    assert services.payout_process(payout_id=payout_id, gateway=SUCCESS) is None

    detail = merchant.api.get(f"/payouts/{payout_id}").json
    assert (detail["status"], detail["attempts"], detail["failure_reason"]) == ("completed", 1, None)
    assert merchant.api.balance() == (4_000, 0)
    assert events(merchant, payout_id) == [
        (None, "pending", 0),
        ("pending", "processing", 1),
        ("processing", "completed", 1),
    ]
    assert Payout.objects.get(pk=payout_id).bank_reference.startswith("UTR")
    call_command("check_ledger")


def test_a_declined_payout_fails_and_refunds_exactly(payout):
    merchant, payout_id = payout

    services.payout_process(payout_id=payout_id, gateway=FAILURE)

    detail = merchant.api.get(f"/payouts/{payout_id}").json
    assert detail["status"] == "failed"
    assert detail["failure_reason"].startswith("declined by the bank: ")
    assert merchant.api.balance() == (10_000, 0)
    reversal = LedgerEntry.objects.get(payout_id=payout_id, kind="reversal")
    assert reversal.amount_paise == 6_000
    assert events(merchant, payout_id)[-1] == ("processing", "failed", 1)
    call_command("check_ledger")


def test_a_hanging_bank_is_retried_until_the_last_attempt_then_the_payout_fails_and_refunds(payout, short_timeouts):
    merchant, payout_id = payout

    follow_up = services.payout_process(payout_id=payout_id, gateway=HANG)
    for attempt in (1, 2, 3):
        assert follow_up == services.FollowUp(action="check", at=follow_up.at, attempt=attempt)
        assert merchant.api.balance() == (4_000, 6_000)
        wait_past_deadline(payout_id)
        follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=attempt, gateway=HANG)
        if attempt < 3:
            assert follow_up.action == "attempt"
            follow_up = services.payout_process(payout_id=payout_id, gateway=HANG)

    # Silence is not a refusal: the funds stay held until the bank confirms the cancellation.
    assert follow_up.action == "cancel"
    assert Payout.objects.get(pk=payout_id).status == "processing"
    assert merchant.api.balance() == (4_000, 6_000)
    assert services.payout_cancel(payout_id=payout_id, gateway=HANG) is None
    detail = merchant.api.get(f"/payouts/{payout_id}").json
    assert (detail["status"], detail["attempts"]) == ("failed", 3)
    assert detail["failure_reason"] == "no answer from the bank after 3 attempts of 1s each"
    assert merchant.api.balance() == (10_000, 0)
    assert events(merchant, payout_id) == [
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
        wait_past_deadline(payout_id)
        before = timezone.now()
        follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=attempt, gateway=HANG)
        waits.append(round((follow_up.at - before).total_seconds()))
        # Not due yet: no worker may start the retry early.
        assert services.payout_start_attempt(payout_id=payout_id, now=timezone.now()) is None
        Payout.objects.filter(pk=payout_id).update(next_attempt_at=timezone.now())  # time passes
        services.payout_process(payout_id=payout_id, gateway=HANG)

    assert waits == [5, 10]


def test_a_stuck_attempt_that_the_bank_settled_completes_without_paying_again(payout, short_timeouts):
    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    # The bank did act on the request; only its answer was lost.
    SimulatedTransfer.objects.filter(reference=ref(payout_id)).update(state="settled", bank_reference="UTRLATE")
    wait_past_deadline(payout_id)

    follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG)

    assert follow_up is None
    detail = merchant.api.get(f"/payouts/{payout_id}").json
    assert (detail["status"], detail["attempts"]) == ("completed", 1)
    assert Payout.objects.get(pk=payout_id).bank_reference == "UTRLATE"
    assert SimulatedTransfer.objects.get(reference=ref(payout_id)).requests == 1
    assert merchant.api.balance() == (4_000, 0)


def test_a_retry_of_a_transfer_the_bank_settled_meanwhile_does_not_pay_twice(payout, short_timeouts):
    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    wait_past_deadline(payout_id)
    services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG)  # unknown: retry
    SimulatedTransfer.objects.filter(reference=ref(payout_id)).update(state="settled", bank_reference="UTR1")

    services.payout_process(payout_id=payout_id, gateway=SUCCESS)

    transfer = SimulatedTransfer.objects.get(reference=ref(payout_id))
    assert (transfer.state, transfer.bank_reference, transfer.requests) == ("settled", "UTR1", 2)
    assert merchant.api.get(f"/payouts/{payout_id}").json["status"] == "completed"
    assert count("payouts_simulatedtransfer") == 1


def test_a_late_final_answer_is_the_banks_word_and_is_applied_while_processing(payout, short_timeouts):
    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    wait_past_deadline(payout_id)
    services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG)  # attempt 1 stuck: retry later
    payout = Payout.objects.get(pk=payout_id)

    applied = services.payout_apply_answer(
        payout_id=payout_id,
        answer=bank.Answer(
            bank.DECLINED,
            reason="beneficiary account closed",
            amount_paise=6_000,
            ifsc=payout.bank_account.ifsc,
            account_number=payout.bank_account.account_number,
        ),
    )

    assert applied is True
    detail = merchant.api.get(f"/payouts/{payout_id}").json
    assert (detail["status"], detail["failure_reason"]) == (
        "failed",
        "declined by the bank: beneficiary account closed",
    )
    assert merchant.api.balance() == (10_000, 0)
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
    assert merchant.api.balance() == (10_000, 0)  # nothing applied


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
    assert merchant.api.balance() == (4_000, 6_000)
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
        assert merchant.api.balance() == (4_000, 6_000)
    gateway.confirm = True
    assert services.payout_cancel(payout_id=payout_id, gateway=gateway, now=follow_up.at) is None

    assert waits == [5, 15, 35]  # 5, then 10, then 20 seconds apart
    detail = merchant.api.get(f"/payouts/{payout_id}").json
    assert (detail["status"], detail["failure_reason"]) == (
        "failed",
        "no answer from the bank after 1 attempts of 30s each",
    )
    reasons = [e["reason"] for e in merchant.api.get(f"/payouts/{payout_id}/events").json]
    assert "cancellation request 3 not confirmed by the bank; funds held for 15s; asking again in 20s" in reasons
    assert merchant.api.balance() == (10_000, 0)


def test_a_transfer_the_bank_settled_while_we_asked_to_cancel_completes(payout, settings):
    settings.PAYOUT_MAX_ATTEMPTS = 1
    merchant, payout_id = payout
    started = services.payout_process(payout_id=payout_id, gateway=HANG).at
    later = started + timedelta(seconds=1)
    follow_up = services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG, now=later)
    # The request that got no answer is processed by the bank after all.
    payout = Payout.objects.select_related("bank_account").get(pk=payout_id)
    SUCCESS.send(reference=payout.reference, amount_paise=6_000, ifsc=payout.bank_account.ifsc,
                 account_number=payout.bank_account.account_number)  # fmt: skip

    assert services.payout_cancel(payout_id=payout_id, gateway=HANG, now=follow_up.at) is None

    assert merchant.api.get(f"/payouts/{payout_id}").json["status"] == "completed"
    assert merchant.api.balance() == (4_000, 0)
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

    late = SUCCESS.send(reference=payout.reference, amount_paise=6_000, ifsc=payout.bank_account.ifsc,
                        account_number=payout.bank_account.account_number)  # fmt: skip

    assert (late.outcome, late.reason) == (bank.DECLINED, bank.CANCEL_REASON)
    assert SUCCESS.inquire(reference=payout.reference).outcome == bank.CANCELLED
    assert merchant.api.get(f"/payouts/{payout_id}").json["status"] == "failed"
    assert merchant.api.balance() == (10_000, 0)
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

    detail = merchant.api.get(f"/payouts/{payout_id}").json
    assert (detail["status"], detail["attempts"]) == ("completed", 1)
    assert SimulatedTransfer.objects.get(reference=ref(payout_id)).requests == 1
    assert count("payouts_payoutevent", "payout_id = %s", [payout_id]) == 3
    assert merchant.api.balance() == (4_000, 0)


def test_a_payout_whose_enqueue_was_lost_is_found_by_the_sweep(payout, settings):
    settings.PAYOUT_SWEEP_GRACE_SECONDS = 20
    _, payout_id = payout

    assert services.payouts_needing_work(now=timezone.now()) == []  # its task may still be queued
    later = timezone.now() + timedelta(seconds=21)
    assert services.payouts_needing_work(now=later) == [services.SweepItem(payout_id, "attempt", 1)]


def test_the_sweep_finds_overdue_checks_and_retries(payout, short_timeouts):
    _, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    overdue = timezone.now() + timedelta(seconds=60)

    assert services.payouts_needing_work(now=overdue) == [services.SweepItem(payout_id, "check", 1)]
    wait_past_deadline(payout_id)
    services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=HANG)
    assert services.payouts_needing_work(now=overdue) == [services.SweepItem(payout_id, "attempt", 2)]


def test_the_sweep_enqueues_lost_work_into_redis(payout, settings):
    from huey.contrib.djhuey import HUEY

    from payouts.tasks import sweep_once

    settings.PAYOUT_SWEEP_GRACE_SECONDS = 0
    _, payout_id = payout
    HUEY.flush()

    assert sweep_once() == 1

    queued = [task for task in HUEY.pending() if task.name.endswith("payout_process_task")]
    assert [task.args for task in queued] == [(payout_id,)]
    HUEY.flush()


def test_the_sweep_waits_while_the_queue_holds_a_backlog_but_not_for_ever(payout, settings, monkeypatch):
    from huey.contrib.djhuey import HUEY

    from payouts import tasks
    from payouts.tasks import SWEEP_MAX_BACKLOG, payout_process_task, sweep_once

    settings.PAYOUT_SWEEP_GRACE_SECONDS = 0
    _, payout_id = payout
    HUEY.flush()
    for _ in range(SWEEP_MAX_BACKLOG + 1):
        payout_process_task(payout_id)
    monkeypatch.setattr(tasks, "_last_sweep", time.monotonic())

    assert sweep_once() == 0  # a backlog delays the sweep...
    monkeypatch.setattr(tasks, "_last_sweep", time.monotonic() - tasks.SWEEP_MAX_DELAY_SECONDS - 1)
    assert sweep_once() == 1  # ...but never stops it
    HUEY.flush()
    assert sweep_once() == 1
    HUEY.flush()


def test_final_payouts_are_left_alone(payout):
    _, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=SUCCESS)

    assert services.payout_process(payout_id=payout_id, gateway=FAILURE) is None
    assert services.payout_check_attempt(payout_id=payout_id, attempt=1, gateway=FAILURE) is None
    assert services.payouts_needing_work(now=timezone.now() + timedelta(days=1)) == []
    assert Payout.objects.get(pk=payout_id).status == "completed"


def test_the_simulator_draws_the_contract_mix_reproducibly():
    simulator = bank.SimulatedBank(outcome="random", seed="42")
    draws = [simulator._draw(f"PO{i:012d}", 1) for i in range(10_000)]
    again = [simulator._draw(f"PO{i:012d}", 1) for i in range(10_000)]

    assert draws == again
    share = {outcome: draws.count(outcome) / len(draws) for outcome in (bank.SETTLED, bank.DECLINED, bank.NO_ANSWER)}
    assert 0.68 < share[bank.SETTLED] < 0.72
    assert 0.18 < share[bank.DECLINED] < 0.22
    assert 0.08 < share[bank.NO_ANSWER] < 0.12


def test_the_request_id_travels_with_the_payouts_tasks(make_merchant):
    from huey.contrib.djhuey import HUEY

    from config.logs import bind_request_id
    from payouts.tasks import _follow

    merchant = make_merchant(credit_paise=10_000)
    HUEY.flush()

    reply = merchant.api.request(
        "POST",
        "/payouts",
        body={"amount_paise": 100, "bank_account_id": merchant.bank_account_id},
        headers={"Idempotency-Key": "0b6c7d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e", "X-Request-ID": "req-7f3a"},
    )
    payout_id = reply.json["id"]
    with bind_request_id("req-7f3a"):
        _follow(payout_id, services.FollowUp(action="check", at=timezone.now() + timedelta(hours=1), attempt=1))

    # Huey queues a task with an eta at once; the consumer parks it until then.
    assert [(t.name.rsplit(".", 1)[-1], t.args, t.kwargs) for t in HUEY.pending()] == [
        ("payout_process_task", (payout_id,), {"request_id": "req-7f3a"}),
        ("payout_check_task", (payout_id, 1), {"request_id": "req-7f3a"}),
    ]
    HUEY.flush()


def test_the_sweep_finds_a_lost_payout_behind_a_thousand_not_yet_due(make_merchant, owner_sql, settings):
    settings.PAYOUT_SWEEP_GRACE_SECONDS = 20
    merchant = make_merchant(credit_paise=10_000_000)
    # A thousand payouts out at the bank, older than the lost one, none due for an hour.
    owner_sql(
        "WITH p AS (INSERT INTO payouts_payout (merchant_id, bank_account_id, amount_paise, reference, status,"
        " attempts, bank_reference, created_at, updated_at)"
        " SELECT %s, %s, 100, 'BUSY' || n, 'pending', 0, '', now() - interval '1 minute', now() - interval '1 minute'"
        " FROM generate_series(1, 1000) AS n RETURNING id, amount_paise)"
        " INSERT INTO payouts_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at)"
        " SELECT %s, 'payout', -amount_paise, 'busy', id, now() FROM p",
        [merchant.id, merchant.bank_account_id, merchant.id],
    )
    owner_sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 1,"
        " attempt_deadline = now() + interval '1 hour' WHERE merchant_id = %s",
        [merchant.id],
    )
    lost = merchant.api.create_payout(500, merchant.bank_account_id).json["id"]
    soon = services.db_now() + timedelta(seconds=21)

    assert services.payouts_needing_work(now=soon) == [services.SweepItem(lost, "attempt", 1)]


def test_a_sweeper_whose_database_fails_gives_up_its_lease(payout, settings, monkeypatch):
    from django.db import OperationalError
    from huey.contrib.djhuey import HUEY

    from payouts import tasks

    settings.PAYOUT_SWEEP_GRACE_SECONDS = 0
    HUEY.flush()
    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)
    ours = "sweeper-a"
    assert tasks.sweep_round(ours) == ours  # leads and sweeps
    assert HUEY.storage.conn.get(tasks.SWEEP_LOCK_KEY) == ours.encode()

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "payouts_needing_work", database_gone)
    next_token = tasks.sweep_round(ours)

    assert next_token != ours
    assert HUEY.storage.conn.get(tasks.SWEEP_LOCK_KEY) is None  # free for a sweeper that can reach PostgreSQL
    monkeypatch.undo()
    assert tasks.sweep_round("sweeper-b") == "sweeper-b"
    assert HUEY.storage.conn.get(tasks.SWEEP_LOCK_KEY) == b"sweeper-b"
    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)
    HUEY.flush()


def test_the_worker_audits_the_ledger_and_the_bank_and_logs_each_violation_at_error(payout, owner_sql, caplog):
    from payouts import tasks

    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=FAILURE)
    assert tasks.ledger_audit_run() == 0
    owner_sql("UPDATE payouts_simulatedtransfer SET state = 'settled' WHERE reference = %s", [ref(payout_id)])

    assert tasks.ledger_audit_run() == 1

    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and "ledger check" in r.getMessage()]
    assert len(errors) == 1
    assert f"payout {payout_id} of merchant {merchant.id}" in errors[0] and "(invariant 6)" in errors[0]
