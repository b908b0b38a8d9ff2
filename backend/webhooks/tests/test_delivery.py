"""Events reach real HTTP receivers on localhost, signed, retried, never lost, never redirected.

Signatures are checked with the ``standardwebhooks`` package, an independent
implementation of the specification.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bank import gateway as bank
from conftest import payout_new
from ledger.models import LedgerEntry
from merchants import services as merchants
from payouts import services as payouts
from payouts.models import Payout
from payouts.representations import ledger_entry_as_dict, payout_as_dict
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event
from webhooks.targets import InvalidWebhookUrl

from .conftest import deliver_due


def verify(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_every_event_of_a_payouts_life_arrives_signed(make_merchant, receiver):
    merchant = make_merchant(credit_paise=10_000)
    services.webhooks_dispatch()  # the opening credit went out before the endpoint existed
    r = receiver()
    endpoint = services.endpoint_create(merchant_id=merchant.id, url=r.url)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=500, description="order 42")
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=6_000)
    payouts.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="success"))

    results = deliver_due()

    assert [res.status for res in results] == ["delivered"] * 4
    # Deliveries are not promised in order (receivers order by the payout's updated_at):
    # take them in the order the events were written.
    written = {public_id: pk for pk, public_id in Event.objects.values_list("pk", "public_id")}
    received = sorted(r.received, key=lambda got: written[got.headers["webhook-id"]])
    events = [verify(endpoint.secret, got) for got in received]
    assert [e["type"] for e in events] == [
        "payment.credited",
        "payout.created",
        "payout.processing",
        "payout.completed",
    ]
    assert [got.headers["webhook-id"] for got in received] == [e["id"] for e in events]
    assert all(e["id"].startswith("evt_") for e in events)
    final = Payout.objects.get(pk=payout_id)
    assert events[3]["data"] == json.loads(json.dumps(payout_as_dict(final)))
    assert [e["data"]["status"] for e in events[1:]] == ["pending", "processing", "completed"]
    assert events[1]["data"]["attempts"] == 0 and events[2]["data"]["attempts"] == 1
    entry = LedgerEntry.objects.get(merchant_id=merchant.id, description="order 42")
    assert events[0]["data"] == ledger_entry_as_dict(entry)
    assert Delivery.objects.filter(status="delivered").count() == 4
    assert DeliveryAttempt.objects.filter(status_code=200).count() == 4


def test_a_failed_payout_sends_payout_failed_with_its_reason(make_merchant, receiver):
    merchant = make_merchant(credit_paise=10_000)
    r = receiver()
    endpoint = services.endpoint_create(merchant_id=merchant.id, url=r.url, enabled_events=["payout.failed"])
    payout_id = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=6_000)
    payouts.payout_process(payout_id=payout_id, gateway=bank.SimulatedBank(outcome="failure"))

    deliver_due()

    (got,) = r.received
    event = verify(endpoint.secret, got)
    assert event["type"] == "payout.failed"
    assert event["data"]["status"] == "failed" and event["data"]["failure_reason"]


def test_a_receiver_answering_500_then_200_gets_it_on_the_retry_within_10_seconds(make_merchant, receiver):
    merchant = make_merchant()
    answers = iter([(500, 0, {}), (200, 0, {})])
    r = receiver(lambda got: next(answers))
    services.endpoint_create(merchant_id=merchant.id, url=r.url)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=700, description="one")

    (first,) = deliver_due()
    assert first.status == "pending"
    delivery = Delivery.objects.get()
    wait = (delivery.next_attempt_at - DeliveryAttempt.objects.get().created_at).total_seconds()
    assert 4 <= wait <= 6  # 5 s with +-20% jitter
    (second,) = deliver_due(now=delivery.next_attempt_at)

    assert second.status == "delivered"
    assert [got.headers["webhook-id"] for got in r.received] == [r.received[0].headers["webhook-id"]] * 2
    attempts = list(DeliveryAttempt.objects.order_by("id").values_list("attempt", "status_code", "error"))
    assert attempts == [(1, 500, "HTTP 500"), (2, 200, "")]


def test_a_receiver_down_for_a_while_then_up_gets_every_event_with_duplicates_sharing_their_id(make_merchant, receiver):
    merchant = make_merchant()
    down = receiver(start=False)  # nothing listens on its port: connection refused
    endpoint = services.endpoint_create(merchant_id=merchant.id, url=down.url)
    for n in range(5):
        merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100 + n, description=f"p{n}")
    assert {res.status for res in deliver_due()} == {"pending"}
    assert DeliveryAttempt.objects.filter(status_code__isnull=True).count() == 5
    # Up again, but the first answer to each is lost (a 500 after it was processed): a duplicate.
    seen: set[str] = set()

    def lossy(got):
        first = got.headers["webhook-id"] not in seen
        seen.add(got.headers["webhook-id"])
        return (500 if first else 200, 0, {})

    down.answer = lossy
    down.start()
    later = Delivery.objects.order_by("-next_attempt_at").first().next_attempt_at
    deliver_due(now=later)
    deliver_due(now=later + timedelta(seconds=30))

    assert Delivery.objects.filter(status="delivered").count() == 5
    ids = [got.headers["webhook-id"] for got in down.received]
    assert len(ids) == 10 and len(set(ids)) == 5
    assert set(ids) == set(Event.objects.values_list("public_id", flat=True))
    for got in down.received:
        verify(endpoint.secret, got)


def test_after_the_last_retry_the_delivery_is_failed(make_merchant, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 1]
    merchant = make_merchant()
    r = receiver(lambda got: (503, 0, {}))
    services.endpoint_create(merchant_id=merchant.id, url=r.url)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")

    statuses = [deliver_due(now=services.db_now() + timedelta(seconds=10 * k + 1))[0].status for k in range(3)]

    assert statuses == ["pending", "pending", "failed"]
    assert len(r.received) == 3
    assert Delivery.objects.get().status == "failed"


def test_during_a_rotation_both_secrets_sign(make_merchant, receiver):
    merchant = make_merchant()
    r = receiver()
    old = services.endpoint_create(merchant_id=merchant.id, url=r.url)
    new = services.endpoint_rotate_secret(merchant_id=merchant.id, endpoint_id=old.endpoint.pk)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")

    deliver_due()

    (got,) = r.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify(old.secret, got)["type"] == "payment.credited"
    assert verify(new.secret, got)["type"] == "payment.credited"
    with pytest.raises(WebhookVerificationError):
        verify("whsec_" + "A" * 44, got)


def test_after_the_overlap_only_the_new_secret_signs(make_merchant, receiver):
    merchant = make_merchant()
    r = receiver()
    old = services.endpoint_create(merchant_id=merchant.id, url=r.url)
    new = services.endpoint_rotate_secret(merchant_id=merchant.id, endpoint_id=old.endpoint.pk, overlap_seconds=0)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")

    deliver_due()

    (got,) = r.received
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    verify(new.secret, got)
    with pytest.raises(WebhookVerificationError):
        verify(old.secret, got)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "http://localhost/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hooks",
        "http://[::1]/hooks",
        "http://0.0.0.0/hooks",
        "http://224.0.0.1/hooks",
    ],
)
def test_an_address_inside_the_network_is_refused_unless_allowed(make_merchant, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    merchant = make_merchant()

    with pytest.raises(InvalidWebhookUrl) as refused:
        services.endpoint_create(merchant_id=merchant.id, url=url)

    assert "private, loopback, link-local or reserved" in refused.value.message
    assert Endpoint.objects.count() == 0


# The URL with a password is split: the repository holds no literal one (api/tests/test_security.py).
@pytest.mark.parametrize(
    "url", ["http://example.com/hooks", "ftp://example.com/x", "https://user:" + "pw@example.com/"]
)
def test_only_https_urls_without_credentials_are_taken_by_default(make_merchant, settings, url):
    settings.WEBHOOKS_ALLOW_HTTP = False
    merchant = make_merchant()

    with pytest.raises(InvalidWebhookUrl):
        services.endpoint_create(merchant_id=merchant.id, url=url)


def test_the_address_is_checked_again_at_delivery(make_merchant, receiver, settings):
    merchant = make_merchant()
    r = receiver()
    services.endpoint_create(merchant_id=merchant.id, url=r.url)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # as if its name now resolved inside the network

    (result,) = deliver_due()

    assert result.status == "pending"
    assert r.received == []
    assert "private, loopback" in DeliveryAttempt.objects.get().error


def test_a_redirect_is_not_followed(make_merchant, receiver):
    merchant = make_merchant()
    elsewhere = receiver()
    r = receiver(lambda got: (302, 0, {"Location": elsewhere.url}))
    services.endpoint_create(merchant_id=merchant.id, url=r.url)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")

    (result,) = deliver_due()

    assert result.status == "pending"
    assert len(r.received) == 1 and elsewhere.received == []
    assert DeliveryAttempt.objects.get().status_code == 302


def test_a_slow_receiver_does_not_delay_another_endpoints_deliveries(make_merchant, receiver, settings):
    settings.WEBHOOK_ENDPOINT_CONCURRENCY = 1
    slow_merchant, fast_merchant = make_merchant(), make_merchant()
    slow = receiver(lambda got: (200, 1.5, {}))
    fast = receiver()
    services.endpoint_create(merchant_id=slow_merchant.id, url=slow.url)
    services.endpoint_create(merchant_id=fast_merchant.id, url=fast.url)
    for n in range(3):  # the slow endpoint's events first: the oldest due
        merchants.merchant_credit(merchant_id=slow_merchant.id, amount_paise=100 + n, description="slow")
    for n in range(3):
        merchants.merchant_credit(merchant_id=fast_merchant.id, amount_paise=100 + n, description="fast")
    services.webhooks_dispatch()

    def sender():  # as webhooks.tasks runs them: until nothing is claimable
        try:
            while services.deliveries_send() > 0:
                pass
        finally:
            connection.close()  # this thread's own connection

    started = time.time()
    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert len(fast.received) == 3
    assert max(got.at for got in fast.received) - started < 1.0  # not behind the slow one's 1.5 s answers
    assert len(slow.received) == 3 and slow.max_in_flight == 1
    assert Delivery.objects.filter(status="delivered").count() == 6


def test_the_claimable_list_offers_one_delivery_per_endpoint_under_its_bound(make_merchant, settings):
    settings.WEBHOOK_ENDPOINT_CONCURRENCY = 1
    busy, idle = make_merchant(), make_merchant()
    busy_endpoint = services.endpoint_create(merchant_id=busy.id, url="http://127.0.0.1:9/").endpoint
    services.endpoint_create(merchant_id=idle.id, url="http://127.0.0.1:9/")
    for merchant in (busy, busy, busy, idle, idle):
        merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")
    services.webhooks_dispatch()
    oldest = {m.id: Delivery.objects.filter(merchant_id=m.id).order_by("id").first().pk for m in (busy, idle)}

    before = services.deliveries_claimable()
    Delivery.objects.filter(pk=oldest[busy.id]).update(lease_until=services.db_now() + timedelta(seconds=30))
    after = services.deliveries_claimable()

    assert sorted(before) == sorted(oldest.values())  # up to the bound (1) of each endpoint
    assert after == [oldest[idle.id]]  # the busy endpoint's backlog does not hide the idle one's
    assert Delivery.objects.filter(endpoint=busy_endpoint).count() == 3


def test_an_endpoint_failing_every_delivery_for_3_days_is_disabled(make_merchant, receiver):
    merchant = make_merchant()
    r = receiver(lambda got: (500, 0, {}))
    endpoint = services.endpoint_create(merchant_id=merchant.id, url=r.url).endpoint
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")
    deliver_due()
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=services.db_now() - timedelta(days=3, seconds=1))

    deliver_due(now=services.db_now() + timedelta(seconds=10))

    endpoint.refresh_from_db()
    assert endpoint.status == "disabled" and endpoint.disabled_reason == "every delivery failed for 3 days"
    assert Delivery.objects.get().status == "failed"


def test_a_success_ends_the_failing_streak(make_merchant, receiver):
    merchant = make_merchant()
    answers = iter([(500, 0, {}), (200, 0, {})])
    r = receiver(lambda got: next(answers))
    endpoint = services.endpoint_create(merchant_id=merchant.id, url=r.url).endpoint
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")
    deliver_due()
    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is not None

    deliver_due(now=services.db_now() + timedelta(seconds=10))

    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_redeliver_sends_a_delivered_event_again_under_the_same_id(make_merchant, receiver):
    merchant = make_merchant()
    r = receiver()
    services.endpoint_create(merchant_id=merchant.id, url=r.url)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")
    deliver_due()
    event = Event.objects.get()

    assert len(services.event_redeliver(merchant_id=merchant.id, event_public_id=event.public_id)) == 1
    deliver_due()

    assert [got.headers["webhook-id"] for got in r.received] == [event.public_id] * 2
    assert list(DeliveryAttempt.objects.order_by("id").values_list("attempt", flat=True)) == [1, 2]


def test_an_endpoint_made_after_an_event_does_not_get_it_and_one_for_other_types_neither(make_merchant, receiver):
    merchant = make_merchant()
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="before")
    services.webhooks_dispatch()
    r = receiver()
    services.endpoint_create(merchant_id=merchant.id, url=r.url, enabled_events=["payout.completed"])
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="after")

    deliver_due()

    assert r.received == []
    assert Event.objects.filter(dispatched=True).count() == 2


def test_a_delivery_to_an_endpoint_disabled_meanwhile_is_failed_not_sent(make_merchant, receiver):
    merchant = make_merchant()
    r = receiver()
    endpoint = services.endpoint_create(merchant_id=merchant.id, url=r.url).endpoint
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")
    services.webhooks_dispatch()
    services.endpoint_update(merchant_id=merchant.id, endpoint_id=endpoint.pk, changes={"status": "disabled"})

    (result,) = deliver_due()

    assert result.status == "skipped"
    assert r.received == []
    assert Delivery.objects.get().status == "failed"
    assert services.deliveries_claimable() == []


def test_a_failed_attempt_and_a_delivery_move_the_webhook_metrics_by_one_each(make_merchant, receiver, api, settings):
    from common.tests.test_metrics import TOKEN, scrape, total

    settings.METRICS_TOKEN = TOKEN
    merchant = make_merchant()
    answers = iter([(500, 0, {}), (200, 0, {})])
    r = receiver(lambda got: next(answers))
    services.endpoint_create(merchant_id=merchant.id, url=r.url)
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=700, description="one")
    before = scrape(api)

    (first,) = deliver_due()
    (second,) = deliver_due(now=Delivery.objects.get().next_attempt_at)
    after = scrape(api)

    assert (first.status, second.status) == ("pending", "delivered")

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("webhook_deliveries_total", result="failed") == 1
    assert moved("webhook_deliveries_total", result="delivered") == 1
    assert moved("webhook_delivery_lag_seconds_count") == 1  # observed for the delivery only
    assert moved("webhook_delivery_lag_seconds_sum") >= 0
