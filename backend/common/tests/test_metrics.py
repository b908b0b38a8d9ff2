"""GET /api/v1/metrics: who may read it, what it counts, and that it adds up every process."""

from __future__ import annotations

import http.client
import re
import secrets
import shutil
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from bank import gateway as bank
from common import metrics
from conftest import Api
from merchants.locks import merchant_lock
from ops import tasks as ops_tasks
from payouts import services, tasks
from payouts.models import Payout
from stack import free_port
from tests.test_faults import clean_queue, processes, wait_until  # noqa: F401  (fixtures)

TOKEN = "metrics-token-for-tests"
BACKEND = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def scrape(api: Api, token: str = TOKEN) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: {(name, sorted labels): value}."""
    reply = api.get("/metrics", headers={"Authorization": f"Bearer {token}", "Accept": "text/plain"})
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` carrying these labels (and any others)."""
    return sum(v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items())


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    metrics.DATABASE_GAUGES.invalidate()
    yield TOKEN
    metrics.DATABASE_GAUGES.invalidate()


def test_metrics_answer_404_while_no_token_is_configured(api, settings):
    settings.METRICS_TOKEN = ""
    reply = api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status == 404
    assert reply.error_code == "not_found"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", TOKEN])
def test_metrics_answer_401_without_the_right_token(api, token, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    reply = api.get("/metrics", headers=headers)
    assert reply.status == 401
    assert reply.error_code == "unauthenticated"
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_metrics_name_every_contracted_series_with_valid_names(api, token):
    reply = api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status == 200
    families = {family.name: family for family in text_string_to_metric_families(reply.text)}
    for name in (
        "payouts_created",
        "payouts_finished",
        "payouts_in_flight",
        "payout_oldest_in_flight_seconds",
        "payouts_waiting_on_cancellation",
        "bank_requests",
        "bank_request_seconds",
        "webhook_deliveries",
        "webhook_delivery_lag_seconds",
        "ledger_check_violations",
        "reconciliation_incidents",
        "http_requests",
        "http_request_seconds",
    ):
        assert name in families, f"{name} missing from /metrics"
    names = {sample.name for family in families.values() for sample in family.samples}
    assert {"payouts_created_total", "webhook_deliveries_total", "webhook_delivery_lag_seconds_count"} <= names
    for name in names:
        assert re.fullmatch(r"[a-z_:][a-z0-9_:]*", name), name


def test_created_and_finished_payouts_move_the_counters_by_exactly_their_number(api, token, make_merchant):
    merchant = make_merchant(credit_paise=100_000)
    before = scrape(api)
    ids = []
    for _ in range(3):
        reply = merchant.api.create_payout(1_000, merchant.bank_account_id)
        assert reply.status == 201, reply.text
        ids.append(reply.json["id"])
    # A replay is the same payout: not counted again.
    key = str(uuid.uuid4())
    first = merchant.api.create_payout(500, merchant.bank_account_id, key=key)
    again = merchant.api.create_payout(500, merchant.bank_account_id, key=key)
    assert again.headers.get("idempotent-replayed") == "true"
    ids.append(first.json["id"])

    metrics.DATABASE_GAUGES.invalidate()
    during = scrape(api)
    assert value(during, "payouts_in_flight") == Payout.objects.filter(status__in=["pending", "processing"]).count()
    assert value(during, "payouts_in_flight") >= 4
    assert value(during, "payout_oldest_in_flight_seconds") > 0

    success, failure = bank.SimulatedBank(outcome="success"), bank.SimulatedBank(outcome="failure")
    for payout_id, gateway in zip(ids, [success, success, failure], strict=False):
        assert services.payout_process(payout_id=payout_id, gateway=gateway) is None
    # Applying the same answer again changes nothing and counts nothing.
    answer = bank.Answer(bank.SETTLED, amount_paise=1_000)
    assert services.payout_apply_answer(payout_id=ids[0], answer=answer) is False

    metrics.DATABASE_GAUGES.invalidate()
    after = scrape(api)
    assert value(after, "payouts_created_total") - value(before, "payouts_created_total") == 4
    delta = value(after, "payouts_finished_total", status="completed") - value(
        before, "payouts_finished_total", status="completed"
    )
    assert delta == 2
    delta = value(after, "payouts_finished_total", status="failed") - value(
        before, "payouts_finished_total", status="failed"
    )
    assert delta == 1
    delta = value(after, "bank_requests_total", request="send", outcome="settled") - value(
        before, "bank_requests_total", request="send", outcome="settled"
    )
    assert delta == 2
    assert (
        value(after, "bank_request_seconds_count", request="send")
        - value(before, "bank_request_seconds_count", request="send")
        == 3
    )
    assert value(after, "payouts_in_flight") == Payout.objects.filter(status__in=["pending", "processing"]).count()
    assert value(after, "payouts_in_flight") == value(during, "payouts_in_flight") - 3
    # Requests by route name, never by raw path.
    assert (
        value(after, "http_requests_total", route="payouts", method="POST", status="201")
        - value(before, "http_requests_total", route="payouts", method="POST", status="201")
        == 5
    )
    assert not any(str(payout_id) in dict(labels).get("route", "") for _, labels in after for payout_id in ids)


def test_a_rolled_back_finish_counts_nothing(api, token, make_merchant):
    merchant = make_merchant(credit_paise=10_000)
    payout_id = merchant.api.create_payout(1_000, merchant.bank_account_id).json["id"]
    assert services.payout_start_attempt(payout_id=payout_id) is not None
    before = value(scrape(api), "payouts_finished_total", status="completed")
    with pytest.raises(RuntimeError), transaction.atomic():
        merchant_lock(merchant_id=merchant.id)
        assert services.payout_complete(payout_id=payout_id, answer=bank.Answer(bank.SETTLED), reason="settled")
        raise RuntimeError("rolled back after the update")
    assert Payout.objects.get(pk=payout_id).status == "processing"
    assert value(scrape(api), "payouts_finished_total", status="completed") == before


def test_the_ledger_audit_sets_its_violations_gauge(api, token, make_merchant):
    make_merchant(credit_paise=10_000)
    metrics.LEDGER_CHECK_VIOLATIONS.set(7)
    assert value(scrape(api), "ledger_check_violations") == 7
    assert ops_tasks.ledger_audit_run() == 0
    assert value(scrape(api), "ledger_check_violations") == 0


def test_the_database_gauges_are_read_at_most_once_per_ttl(api, token, make_merchant, django_assert_max_num_queries):
    merchant = make_merchant(credit_paise=10_000)
    gauges = metrics.DatabaseGauges(ttl=60)
    assert gauges.values()[0] == 0
    merchant.api.create_payout(1_000, merchant.bank_account_id)
    with django_assert_max_num_queries(0):
        assert gauges.values()[0] == 0  # cached
    gauges.invalidate()
    assert gauges.values()[0] == 1


def _per_process_counts(directory: Path, route: str) -> dict[str, float]:
    """http_requests_total for ``route`` in each process's own file."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        alone = directory.parent / f"alone-{path.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[path.stem] = sum(
            sample.value
            for family in registry.collect()
            if family.name == "http_requests"
            for sample in family.samples
            if sample.name == "http_requests_total" and sample.labels.get("route") == route
        )
        shutil.rmtree(alone)
    return counts


@pytest.mark.slow
def test_metrics_add_up_every_gunicorn_worker_and_the_worker_process(
    make_merchant,
    processes,  # noqa: F811
    clean_queue,  # noqa: F811
    tmp_path,
):
    """Two gunicorn workers and a run_huey consumer share one directory; any worker's scrape counts them all."""
    merchant = make_merchant(credit_paise=100_000)
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "METRICS_TOKEN": TOKEN,
        "BANK_SIMULATOR_OUTCOME": "success",
        "PAYOUT_RATE_LIMIT": "off",
        "READ_RATE_LIMIT": "off",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "BANK_ACCOUNT_ENCRYPTION_KEY": ",".join(settings.BANK_ACCOUNT_ENCRYPTION_KEYS),
    }
    port = free_port()
    command = [str(BIN / "gunicorn"), "config.wsgi", "--chdir", str(BACKEND), "--config"]
    command += [str(BACKEND / "config" / "gunicorn_conf.py"), "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    gunicorn = processes._spawn(command, "gunicorn", **env)
    processes.consumer(**env)
    api = Api(f"http://127.0.0.1:{port}")

    def up() -> bool:
        assert gunicorn.poll() is None, processes.output()
        try:
            return api.get("/health/live").status == 200
        except OSError:
            return False

    assert wait_until(up, timeout=30), processes.output()
    assert wait_until(lambda: len(list(directory.glob("counter_*.db"))) >= 3, timeout=30), processes.output()
    sent = 1  # the probe above

    # Requests in concurrent batches until both gunicorn workers have served some.
    def live(_: int) -> int:
        return api.get("/health/live").status

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(20):
            statuses = list(pool.map(live, range(40)))
            assert statuses == [200] * 40
            sent += 40
            if sum(1 for n in _per_process_counts(directory, "health-live").values() if n > 0) >= 2:
                break
    served = _per_process_counts(directory, "health-live")
    assert sum(1 for n in served.values() if n > 0) >= 2, served
    assert sum(served.values()) == sent

    payout = Api(f"http://127.0.0.1:{port}", merchant.api_key).create_payout(1_000, merchant.bank_account_id)
    assert payout.status == 201, payout.text
    assert wait_until(lambda: Payout.objects.get(pk=payout.json["id"]).status == "completed", timeout=30), (
        processes.output()
    )

    for _ in range(4):  # whichever worker answers, the same totals
        samples = scrape(api)
        assert total(samples, "http_requests_total", route="health-live") == sent
        assert value(samples, "payouts_created_total") == 1
        assert value(samples, "payouts_finished_total", status="completed") == 1  # counted in run_huey
        assert value(samples, "bank_requests_total", request="send", outcome="settled") == 1


@pytest.mark.slow
def test_a_worker_only_host_serves_its_own_metrics_on_worker_metrics_port(
    make_merchant,
    processes,  # noqa: F811
    clean_queue,  # noqa: F811
    tmp_path,
):
    """run_huey with WORKER_METRICS_PORT: its counters, behind the same token, without an API process."""
    merchant = make_merchant(credit_paise=10_000)
    payout = merchant.api.create_payout(1_000, merchant.bank_account_id)
    assert payout.status == 201
    port = free_port()
    processes.consumer(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        METRICS_TOKEN=TOKEN,
        WORKER_METRICS_PORT=str(port),
        BANK_SIMULATOR_OUTCOME="success",
        PAYOUT_SWEEP_GRACE_SECONDS="0",
    )
    assert wait_until(lambda: Payout.objects.get(pk=payout.json["id"]).status == "completed", timeout=30), (
        processes.output()
    )

    def get(authorization: str | None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/metrics", headers={"Authorization": authorization} if authorization else {})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    assert get(None)[0] == 401
    assert get("Bearer wrong")[0] == 401
    status, text = get(f"Bearer {TOKEN}")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert value(samples, "payouts_finished_total", status="completed") == 1
    assert value(samples, "bank_requests_total", request="send", outcome="settled") == 1
    assert "payouts_in_flight" not in {name for name, _ in samples}  # the API exports the database gauges


def test_the_merchant_lock_wait_is_observed_once_per_lock_and_includes_the_wait(api, token, make_merchant):
    from conftest import owner_connect

    merchant = make_merchant(credit_paise=100_000)
    before = scrape(api)
    for _ in range(3):
        assert merchant.api.create_payout(1_000, merchant.bank_account_id).status == 201
    after = scrape(api)
    name = "payouts_merchant_lock_wait_seconds"
    assert value(after, f"{name}_count") - value(before, f"{name}_count") == 3

    # A lock held elsewhere for 0.6 s: the wait behind it is what the histogram records.
    holder = owner_connect()
    holder.autocommit = False
    with holder.cursor() as cursor:
        cursor.execute("SELECT 1 FROM merchants_merchant WHERE id = %s FOR UPDATE", [merchant.id])
    with ThreadPoolExecutor(max_workers=1) as pool:
        released = pool.submit(lambda: (time.sleep(0.6), holder.commit(), holder.close()))
        with transaction.atomic():
            merchant_lock(merchant_id=merchant.id)
        released.result()
    waited = scrape(api)
    assert value(waited, f"{name}_count") - value(after, f"{name}_count") == 1
    assert value(waited, f"{name}_sum") - value(after, f"{name}_sum") >= 0.5
    assert value(waited, f"{name}_bucket", le="0.5") == value(after, f"{name}_bucket", le="0.5")
    assert value(waited, f"{name}_bucket", le="+Inf") - value(after, f"{name}_bucket", le="+Inf") == 1


def test_a_sweep_sets_the_worker_heartbeat_timestamp(api, token):
    from huey.contrib.djhuey import HUEY

    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)
    metrics.WORKER_HEARTBEAT_TIMESTAMP.set(0)
    started = time.time()
    tasks.sweep_round("heartbeat-metric-test")
    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)
    stamp = value(scrape(api), "worker_heartbeat_timestamp_seconds")
    assert started <= stamp <= time.time()
    assert float(HUEY.storage.conn.get(tasks.WORKER_HEARTBEAT_KEY)) == stamp
