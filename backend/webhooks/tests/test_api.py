"""The HTTP side of §8: events, webhook endpoints, deliveries, redelivery, and who may call them.

A signed-in user is stood in for by a principal with ``via="session"`` (the
sign-in itself is the accounts work's); API keys go over real HTTP.
"""

from __future__ import annotations

import json
import uuid

import pytest
from rest_framework.test import APIClient

from conftest import payout_new
from merchants import services as merchants
from webhooks import services, signing
from webhooks.models import Endpoint, Event

from .conftest import deliver_due


def signed_in(merchant, role: str = "owner") -> APIClient:
    """A client signed in with a real session as a user of ``merchant`` with ``role``."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@merchant.example"
    password = "a long enough password 42"
    merchants.user_create(merchant_id=merchant.id, email=email, role=role, password=password)
    client = APIClient()
    reply = client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    assert reply.status_code == 200, reply.content
    return client


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(make_merchant):
    merchant = make_merchant()
    client = signed_in(merchant)

    created = client.post("/api/v1/webhook-endpoints", {"url": "https://localhost/hooks"}, format="json")
    listed = client.get("/api/v1/webhook-endpoints")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["url"] == "https://localhost/hooks" and body["status"] == "enabled"
    assert body["enabled_events"] == [
        "payout.created",
        "payout.processing",
        "payout.completed",
        "payout.failed",
        "payment.credited",
    ]
    assert listed.json() == [{k: v for k, v in body.items() if k != "secret"}]
    stored = Endpoint.objects.get()
    assert body["secret"] not in stored.secret_sealed  # sealed at rest
    assert signing.unseal(stored.secret_sealed) == body["secret"]


def test_a_developer_may_manage_endpoints_but_a_viewer_may_not(make_merchant):
    merchant = make_merchant()

    developer = signed_in(merchant, role="developer").post(
        "/api/v1/webhook-endpoints", {"url": "https://localhost/a"}, format="json"
    )
    viewer = signed_in(merchant, role="viewer").get("/api/v1/webhook-endpoints")

    assert developer.status_code == 201
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"


def test_every_role_learns_from_its_session_how_many_endpoints_are_disabled_but_only_its_merchants(make_merchant):
    merchant, other = make_merchant(), make_merchant()
    owner = signed_in(merchant)
    ids = [
        owner.post("/api/v1/webhook-endpoints", {"url": f"https://localhost/{n}"}, format="json").json()["id"]
        for n in range(3)
    ]
    owner.patch(f"/api/v1/webhook-endpoints/{ids[0]}", {"status": "disabled"}, format="json")
    owner.patch(f"/api/v1/webhook-endpoints/{ids[1]}", {"status": "disabled"}, format="json")
    owner.delete(f"/api/v1/webhook-endpoints/{ids[1]}")  # deleted: no longer counts
    other_owner = signed_in(other)
    other_id = other_owner.post("/api/v1/webhook-endpoints", {"url": "https://localhost/x"}, format="json").json()["id"]
    other_owner.patch(f"/api/v1/webhook-endpoints/{other_id}", {"status": "disabled"}, format="json")

    viewer = signed_in(merchant, role="viewer").get("/api/v1/auth/session")
    developer = signed_in(merchant, role="developer").get("/api/v1/auth/session")
    fresh = signed_in(make_merchant(), role="viewer").get("/api/v1/auth/session")

    assert viewer.status_code == 200 and viewer.json()["webhook_endpoints_disabled"] == 1
    assert developer.json()["webhook_endpoints_disabled"] == 1
    assert fresh.json()["webhook_endpoints_disabled"] == 0
    assert "url" not in viewer.content.decode()  # the count, never the endpoints themselves


def test_an_api_key_may_read_events_but_not_manage_endpoints(make_merchant):
    merchant = make_merchant(credit_paise=500)

    endpoints = merchant.api.request("POST", "/webhook-endpoints", body={"url": "https://localhost/hooks"})
    events = merchant.api.get("/events")

    assert endpoints.status == 403 and endpoints.error_code == "forbidden"
    assert events.status == 200 and [e["type"] for e in events.json["results"]] == ["payment.credited"]
    assert Endpoint.objects.count() == 0


def test_patch_delete_and_rotate(make_merchant):
    merchant = make_merchant()
    client = signed_in(merchant)
    endpoint_id = client.post("/api/v1/webhook-endpoints", {"url": "https://localhost/a"}, format="json").json()["id"]

    patched = client.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        {"enabled_events": ["payout.failed"], "status": "disabled"},
        format="json",
    )
    rotated = client.post(f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
    deleted = client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}")
    after = client.get(f"/api/v1/webhook-endpoints/{endpoint_id}")

    assert patched.status_code == 200
    assert patched.json()["enabled_events"] == ["payout.failed"] and patched.json()["status"] == "disabled"
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
    assert deleted.status_code == 204
    assert after.status_code == 404 and after.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "ftp://example.com"}, "invalid_url", "url"),
        ({"url": "https://localhost", "enabled_events": ["payout.sent"]}, "invalid_enabled_events", "enabled_events"),
        ({"url": "https://localhost", "enabled_events": []}, "invalid_enabled_events", "enabled_events"),
        ({}, "invalid_url", "url"),
        ([1], "invalid_body", None),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(make_merchant, body, code, field):
    merchant = make_merchant()

    reply = signed_in(merchant).post("/api/v1/webhook-endpoints", body, format="json")

    assert reply.status_code == 400
    assert (reply.json()["error"]["code"], reply.json()["error"]["field"]) == (code, field)
    assert Endpoint.objects.count() == 0


def test_another_merchants_endpoint_is_not_found(make_merchant):
    mine, theirs = make_merchant(), make_merchant()
    theirs_id = services.endpoint_create(merchant_id=theirs.id, url="https://localhost/x").endpoint.pk

    reply = signed_in(mine).patch(f"/api/v1/webhook-endpoints/{theirs_id}", {"status": "disabled"}, format="json")

    assert reply.status_code == 404
    assert Endpoint.objects.get(pk=theirs_id).status == "enabled"


def test_events_newest_first_filtered_and_one_by_id(make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=1_000)
    client = signed_in(merchant)

    everything = client.get("/api/v1/events").json()["results"]
    created = client.get("/api/v1/events", {"type": "payout.created"}).json()["results"]
    one = client.get(f"/api/v1/events/{created[0]['id']}")
    since = client.get("/api/v1/events", {"created_gte": created[0]["created_at"]}).json()["results"]
    before = client.get("/api/v1/events", {"created_lt": created[0]["created_at"]}).json()["results"]
    bad = client.get("/api/v1/events", {"created_gte": "yesterday"})
    bad_type = client.get("/api/v1/events", {"type": "payout.sent"})
    far_offset = client.get("/api/v1/events", {"created_gte": "2999-01-01T00:00:00-23:27"})
    year_one = client.get("/api/v1/events", {"created_lt": "0001-01-01T00:00:00+01:00"})

    assert [e["type"] for e in everything] == ["payout.created", "payment.credited"]
    assert [e["type"] for e in created] == ["payout.created"]
    assert one.status_code == 200 and one.json() == created[0]
    assert [e["type"] for e in since] == ["payout.created"]
    assert [e["type"] for e in before] == ["payment.credited"]
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "created_gte"
    assert bad_type.status_code == 400 and bad_type.json()["error"]["field"] == "type"
    assert far_offset.status_code == 200 and far_offset.json()["results"] == []
    assert year_one.status_code == 400 and year_one.json()["error"]["field"] == "created_lt"


def test_payout_created_carries_the_201_body_and_a_refused_payout_has_no_event(make_merchant):
    merchant = make_merchant(credit_paise=1_000)

    accepted = merchant.api.create_payout(600, merchant.bank_account_id)
    refused = merchant.api.create_payout(600, merchant.bank_account_id)

    assert (accepted.status, refused.status) == (201, 422)
    (event,) = Event.objects.filter(type="payout.created")
    assert event.data == accepted.text
    assert Event.objects.count() == 2  # the opening credit and this payout


def test_an_event_of_another_merchant_is_not_found(make_merchant):
    mine, theirs = make_merchant(), make_merchant(credit_paise=100)
    event_id = Event.objects.get(merchant_id=theirs.id).public_id

    assert signed_in(mine).get(f"/api/v1/events/{event_id}").status_code == 404
    assert signed_in(mine).post(f"/api/v1/events/{event_id}/redeliver").status_code == 404


def test_deliveries_are_listed_and_an_event_redelivered(make_merchant, receiver):
    merchant = make_merchant()
    r = receiver(lambda got: (500, 0, {}))
    client = signed_in(merchant)
    endpoint_id = client.post("/api/v1/webhook-endpoints", {"url": r.url}, format="json").json()["id"]
    merchants.merchant_credit(merchant_id=merchant.id, amount_paise=100, description="x")
    deliver_due()
    event_id = Event.objects.get().public_id

    redelivered = client.post(f"/api/v1/events/{event_id}/redeliver", {"endpoint_id": endpoint_id}, format="json")
    r.answer = None  # 200 from now on
    deliver_due()
    deliveries = client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").json()["results"]

    assert redelivered.status_code == 202 and redelivered.json() == {"deliveries": 1}
    assert [(d["event_id"], d["attempt"], d["status_code"], d["error"]) for d in deliveries] == [
        (event_id, 2, 200, None),
        (event_id, 1, 500, "HTTP 500"),
    ]
    assert json.loads(deliveries[0]["response_body"]) == {"ok": True}
    assert all(isinstance(d["duration_ms"], int) for d in deliveries)
