"""A real Huey consumer delivers every event of real payouts to a flaky receiver, and loses none."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from conftest import wait_until
from payouts.models import Payout
from payouts.tests.test_worker_consumer import clean_queue, start_consumer, stop  # noqa: F401 - a fixture
from webhooks import services
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.slow


def test_a_consumer_delivers_every_event_to_a_flaky_receiver_and_loses_none(make_merchant, receiver, clean_queue):  # noqa: F811
    merchant = make_merchant(credit_paise=1_000_000)
    services.webhooks_dispatch()  # the opening credit went out before the endpoint existed
    calls = {"n": 0}

    def flaky(got):
        calls["n"] += 1
        return (500, 0, {}) if calls["n"] % 3 == 0 else (200, 0.05, {})  # every third answer fails

    r = receiver(flaky)
    secret = services.endpoint_create(merchant_id=merchant.id, url=r.url).secret
    consumer = start_consumer(
        WEBHOOKS_ALLOW_HTTP="true", WEBHOOKS_ALLOW_PRIVATE="true", WEBHOOK_RETRY_SCHEDULE="1,1,2,4,8"
    )
    try:
        replies = [merchant.api.create_payout(1_000 + i, merchant.bank_account_id) for i in range(10)]
        assert {reply.status for reply in replies} == {201}
        assert wait_until(lambda: not Payout.objects.filter(status__in=Payout.IN_FLIGHT).exists(), timeout=90)
        expected = Event.objects.filter(type__startswith="payout.").count()
        assert expected == 30  # created, processing and completed or failed, for each of the 10
        assert wait_until(lambda: Delivery.objects.filter(status="delivered").count() == expected, timeout=60), (
            f"{Delivery.objects.filter(status='delivered').count()} of {expected} delivered"
        )
    finally:
        stop(consumer)

    delivered_ids = {got.headers["webhook-id"] for got in r.received if Webhook(secret).verify(got.body, got.headers)}
    assert delivered_ids == set(Event.objects.filter(type__startswith="payout.").values_list("public_id", flat=True))
    assert Delivery.objects.exclude(status="delivered").count() == 0
