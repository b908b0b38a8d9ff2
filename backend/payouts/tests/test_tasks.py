"""The payout tasks: thin, safe to run twice, and carrying the request id of the API call."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from huey.contrib.djhuey import HUEY

from bank.models import SimulatedTransfer
from conftest import payout_new
from payouts import services, tasks
from payouts.models import IdempotencyRecord, Payout


def test_the_request_id_travels_with_the_payouts_tasks(make_merchant):
    from config.logs import bind_request_id

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
        tasks._follow(payout_id, services.FollowUp(action="check", at=timezone.now() + timedelta(hours=1), attempt=1))

    # Huey queues a task with an eta at once; the consumer parks it until then.
    assert [(t.name.rsplit(".", 1)[-1], t.args, t.kwargs) for t in HUEY.pending()] == [
        ("payout_process_task", (payout_id,), {"request_id": "req-7f3a"}),
        ("payout_check_task", (payout_id, 1), {"request_id": "req-7f3a"}),
    ]
    HUEY.flush()


def test_a_payout_task_run_twice_sends_the_payout_to_the_bank_once(payout, settings):
    settings.BANK_SIMULATOR_OUTCOME = "success"
    _, payout_id = payout

    tasks.payout_process_task.call_local(payout_id)
    tasks.payout_process_task.call_local(payout_id)  # a redelivery, or the sweep's copy

    payout = Payout.objects.get(pk=payout_id)
    assert (payout.status, payout.attempts) == ("completed", 1)
    assert SimulatedTransfer.objects.get(reference=payout.reference).requests == 1


def test_the_reaper_task_deletes_expired_idempotency_records_only(make_merchant, settings):
    merchant = make_merchant(credit_paise=10_000)
    kept = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=100)
    expired = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=200)
    IdempotencyRecord.objects.filter(payout_id=expired).update(expires_at=timezone.now() - timedelta(seconds=1))

    tasks.idempotency_reaper_task.call_local()

    assert list(IdempotencyRecord.objects.values_list("payout_id", flat=True)) == [kept]
    assert Payout.objects.count() == 2  # the payouts themselves stay
