"""The read endpoints and the framework's own errors, over HTTP."""

from __future__ import annotations

import pytest


def test_a_host_header_not_allowed_gets_the_error_envelope(api):
    reply = api.get("/health", headers={"Host": "evil.example"})

    assert reply.status == 400
    assert reply.json == {"error": {"code": "bad_request", "message": reply.json["error"]["message"], "field": None}}


@pytest.mark.parametrize("path", ["/nope", "/payouts/abc", "/payouts/1/nope"])
def test_an_unknown_path_is_404_in_the_envelope(api, path):
    reply = api.get(path)

    assert reply.status == 404
    assert reply.error_code == "not_found"


def test_health_names_both_dependencies_and_a_stale_worker(api):
    from huey.contrib.djhuey import HUEY

    from payouts import tasks

    HUEY.storage.conn.delete(tasks.WORKER_HEARTBEAT_KEY)

    reply = api.get("/health")

    assert reply.status == 200  # a stale worker never changes the status code
    assert reply.json == {"database": "ok", "redis": "ok", "worker": "stale"}


def test_health_says_the_worker_is_ok_after_a_sweep_and_stale_three_sweeps_later(api, settings):
    from huey.contrib.djhuey import HUEY

    from payouts import tasks

    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)
    tasks.sweep_round("health-test")
    assert api.get("/health").json["worker"] == "ok"
    assert 0 < HUEY.storage.conn.ttl(tasks.WORKER_HEARTBEAT_KEY) <= 3 * tasks.SWEEP_EVERY_SECONDS

    HUEY.storage.conn.delete(tasks.WORKER_HEARTBEAT_KEY)  # what the expiry does three intervals on
    assert api.get("/health").json["worker"] == "stale"
    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)


def test_liveness_touches_no_dependency(api, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def no_database(*args, **kwargs):
        raise AssertionError("liveness must not query the database")

    monkeypatch.setattr(CursorWrapper, "execute", no_database)

    reply = api.get("/health/live")

    assert (reply.status, reply.json) == (200, {"status": "ok"})


def test_readiness_is_the_database_only_redis_down_keeps_the_api_ready(api, monkeypatch):
    import redis
    from huey.contrib.djhuey import HUEY

    def down():
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(HUEY.storage.conn, "ping", down)

    assert (api.get("/health/ready").status, api.get("/health/ready").json) == (200, {"database": "ok"})
    assert api.get("/health").status == 503


def test_readiness_answers_503_when_the_database_does_not(api, monkeypatch):
    from api import views

    monkeypatch.setattr(views, "_database_answers", lambda: False)

    reply = api.get("/health/ready")

    assert reply.status == 503
    assert reply.json["error"]["code"] == "dependency_unavailable"
    assert (reply.json["error"]["field"], reply.json["database"]) == ("database", "unavailable")


def test_health_answers_503_naming_redis_when_it_is_down(api, monkeypatch):
    import redis
    from huey.contrib.djhuey import HUEY

    def down():
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(HUEY.storage.conn, "ping", down)

    reply = api.get("/health")

    assert reply.status == 503
    assert reply.json["database"] == "ok"
    assert reply.json["redis"] == "unavailable"
    assert reply.json["error"]["code"] == "dependency_unavailable"
    assert reply.json["error"]["field"] == "redis"


def test_me_and_balance(make_merchant):
    merchant = make_merchant(credit_paise=123_456, name="Meera Textiles")

    assert merchant.api.get("/me").json == {"id": merchant.id, "name": "Meera Textiles"}
    assert merchant.api.get("/balance").json == {"available_paise": 123_456, "held_paise": 0, "currency": "INR"}


def test_the_ledger_pages_newest_first_with_a_cursor(make_merchant):
    from merchants import services as merchants

    merchant = make_merchant()
    for amount in range(1, 8):
        merchants.merchant_credit(merchant_id=merchant.id, amount_paise=amount, description=f"payment {amount}")

    first = merchant.api.get("/ledger?limit=3").json
    second = merchant.api.get(first["next"].split("/api/v1", 1)[1]).json

    assert [e["amount_paise"] for e in first["results"]] == [7, 6, 5]
    assert [e["amount_paise"] for e in second["results"]] == [4, 3, 2]
    assert first["previous"] is None and second["previous"] is not None
    entry = first["results"][0]
    assert set(entry) == {"id", "kind", "amount_paise", "description", "payout_id", "created_at"}
    assert (entry["kind"], entry["description"], entry["payout_id"]) == ("payment", "payment 7", None)


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5"])
def test_a_bad_limit_is_400(make_merchant, limit):
    merchant = make_merchant()

    reply = merchant.api.get(f"/ledger?limit={limit}")

    assert reply.status == 400
    assert reply.error_code == "invalid_limit"


def test_a_limit_above_100_is_capped(make_merchant):
    from merchants import services as merchants

    merchant = make_merchant()
    for _ in range(105):
        merchants.merchant_credit(merchant_id=merchant.id, amount_paise=1, description="p")

    assert len(merchant.api.get("/ledger?limit=1000").json["results"]) == 100


def test_a_forged_cursor_is_400(make_merchant):
    reply = make_merchant().api.get("/payouts?cursor=garbage")

    assert reply.status == 400
    assert reply.error_code == "invalid_cursor"


def test_payouts_list_newest_first_and_filter_by_status(make_merchant):
    from bank import gateway as bank
    from payouts import services

    merchant = make_merchant(credit_paise=10_000)
    ids = [merchant.api.create_payout(100 * (i + 1), merchant.bank_account_id).json["id"] for i in range(3)]
    services.payout_process(payout_id=ids[0], gateway=bank.SimulatedBank(outcome="success"))

    everything = merchant.api.get("/payouts").json["results"]
    pending = merchant.api.get("/payouts?status=pending").json["results"]
    completed = merchant.api.get("/payouts?status=completed").json["results"]

    assert [p["id"] for p in everything] == ids[::-1]
    assert [p["id"] for p in pending] == ids[:0:-1]
    assert [p["id"] for p in completed] == [ids[0]]
    assert merchant.api.get(f"/payouts/{ids[0]}").json == completed[0]


def test_an_unknown_status_filter_is_400(make_merchant):
    reply = make_merchant().api.get("/payouts?status=done")

    assert reply.status == 400
    assert reply.error_code == "invalid_status"


def test_bank_accounts_show_only_the_last_four_digits(make_merchant):
    merchant = make_merchant()

    accounts = merchant.api.get("/bank-accounts").json

    assert accounts == [
        {
            "id": merchant.bank_account_id,
            "holder_name": "Asha Rao",
            "ifsc": "HDFC0000001",
            "account_last4": "9012",
            "status": "verified",
            "registered_name": "ASHA RAO",
            "rejection_reason": None,
            "created_at": accounts[0]["created_at"],
        }
    ]


def test_another_merchants_payout_and_its_events_are_404(make_merchant):
    alice, bob = make_merchant(credit_paise=10_000), make_merchant(credit_paise=10_000)
    payout_id = alice.api.create_payout(1_000, alice.bank_account_id).json["id"]

    assert bob.api.get(f"/payouts/{payout_id}").status == 404
    assert bob.api.get(f"/payouts/{payout_id}/events").status == 404
    assert bob.api.get("/payouts").json["results"] == []


def test_demo_merchants_are_404_unless_demo_mode_is_on(api, settings):
    settings.DEMO_MODE = False
    assert api.get("/demo/merchants").status == 404
    settings.DEMO_MODE = True
    assert api.get("/demo/merchants").json == []


def test_the_schema_and_its_docs_are_served(api):
    schema = api.get("/schema", headers={"Accept": "application/vnd.oai.openapi+json"})
    docs = api.request("GET", "/docs", headers={"Accept": "text/html"})

    assert schema.status == 200
    assert schema.json["openapi"].startswith("3.")
    assert {"/api/v1/payouts", "/api/v1/payouts/{payout_id}/events", "/api/v1/balance"} <= set(schema.json["paths"])
    assert docs.status == 200
    assert "<html" in docs.text.lower()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_in_the_envelope(make_merchant, method):
    reply = make_merchant().api.request(method, "/payouts")

    assert reply.status == 405
    assert reply.error_code == "method_not_allowed"
