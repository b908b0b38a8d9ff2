"""Prometheus metrics of the engine, one definition each (exposed at /api/v1/metrics).

Multi-process: every process writes its own samples to memory-mapped files in
PROMETHEUS_MULTIPROC_DIR (set by settings before this module is imported; see
config/metrics_dir.py), and the API process answering a scrape adds up the
files of every API and worker process sharing that directory. An increment
is an in-memory write: no database or Redis round trip.

Counters are incremented where the event happens, once: a payout created
when ``payout_create`` returned a fresh 201 (the view), finished when its
transaction committed (``transaction.on_commit``), so a rolled back
transaction counts nothing.

The gauges that come from the database (payouts in flight, the oldest one's
age, those waiting on a bank cancellation) are not in the files: the process
answering a scrape computes them with one query on the partial index
``payout_in_flight``, at most every ``DB_GAUGES_TTL_SECONDS``
(``DatabaseGauges``).

Webhooks do not exist yet: their metrics are registered (zero, no samples) so
that dashboards and alerts can name them today.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.db import connection
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DB_GAUGES_TTL_SECONDS = 5.0

# Seconds: bank calls and HTTP requests are mostly milliseconds; the bank's timeout is 10 s.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

PAYOUTS_CREATED = Counter("payouts_created", "Payouts created (a fresh 201 from POST /payouts; replays not counted).")
PAYOUTS_FINISHED = Counter(
    "payouts_finished", "Payouts that became final, counted when the transaction committed.", ["status"]
)
BANK_REQUESTS = Counter(
    "bank_requests",
    "Requests to the bank by kind (send, inquire, cancel) and outcome (the bank's answer, or error).",
    ["request", "outcome"],
)
BANK_REQUEST_SECONDS = Histogram(
    "bank_request_seconds", "Time a request to the bank took, by kind.", ["request"], buckets=_LATENCY_BUCKETS
)
WEBHOOK_DELIVERIES = Counter("webhook_deliveries", "Webhook delivery attempts by result.", ["result"])
WEBHOOK_DELIVERY_LAG_SECONDS = Histogram(
    "webhook_delivery_lag_seconds",
    "Time from an event to its successful delivery.",
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
# Set by the periodic audit in a worker. "mostrecent": the value of the latest
# audit, whichever process ran it and whether or not it still lives (a sum or
# max over processes would keep an old audit's violations after a new clean one).
LEDGER_CHECK_VIOLATIONS = Gauge(
    "ledger_check_violations",
    "Violations found by the latest periodic ledger audit (check_ledger and the bank reconciliation).",
    multiprocess_mode="mostrecent",
)
RECONCILIATION_INCIDENTS = Counter(
    "reconciliation_incidents", "Reconciliation incidents recorded (new ones only), by kind.", ["kind"]
)
# Time the lock statement of a money transaction took (locks.py): mostly the wait
# behind the merchant's other balance changes, plus one round trip.
MERCHANT_LOCK_WAIT_SECONDS = Histogram(
    "payouts_merchant_lock_wait_seconds",
    "Time taken to get a merchant's row lock (the lock statement, wait included).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
# Set by the sweep that wrote the worker heartbeat (tasks.WORKER_HEARTBEAT_KEY);
# "max": the latest sweep of any consumer, so its age grows once none sweeps.
WORKER_HEARTBEAT_TIMESTAMP = Gauge(
    "worker_heartbeat_timestamp_seconds",
    "Unix time of the latest worker sweep (the heartbeat /health reads).",
    multiprocess_mode="max",
)
# Its series (one per kind, at zero) are created by payouts.reconciliation, which owns the kinds.
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests by route (the URL pattern's name), method and status.",
    ["route", "method", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "http_request_seconds", "HTTP request latency by route and method.", ["route", "method"], buckets=_LATENCY_BUCKETS
)

# Series that exist from the start at zero, so rates and alerts see them before the first event.
for _status in ("completed", "failed"):
    PAYOUTS_FINISHED.labels(status=_status)
for _request, _outcomes in {
    "send": ("settled", "declined", "no_answer", "error"),
    "inquire": ("settled", "declined", "cancelled", "unknown", "error"),
    "cancel": ("cancelled", "declined", "settled", "no_answer", "error"),
}.items():
    BANK_REQUEST_SECONDS.labels(request=_request)
    for _outcome in _outcomes:
        BANK_REQUESTS.labels(request=_request, outcome=_outcome)
for _result in ("delivered", "failed"):
    WEBHOOK_DELIVERIES.labels(result=_result)


class BankTimer:
    """Times one bank request and counts it by outcome: ``with BankTimer("send") as t: t.outcome = ...``."""

    def __init__(self, request: str) -> None:
        self.request = request
        self.outcome = "error"  # unless the caller records the answer

    def __enter__(self) -> BankTimer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        BANK_REQUEST_SECONDS.labels(request=self.request).observe(time.perf_counter() - self.started)
        BANK_REQUESTS.labels(request=self.request, outcome=self.outcome).inc()


# Payouts in flight: status pending or processing, the partial index's predicate.
_IN_FLIGHT = """
SELECT count(*),
       coalesce(extract(epoch FROM now() - min(created_at)), 0),
       count(*) FILTER (WHERE cancel_requested_at IS NOT NULL)
  FROM payouts_payout
 WHERE status IN ('pending', 'processing')
"""


class DatabaseGauges(Collector):
    """Gauges read from the database at scrape time, at most once per TTL in this process."""

    def __init__(self, ttl: float = DB_GAUGES_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._values: tuple[int, float, int] | None = None
        self._read_at = 0.0

    def values(self) -> tuple[int, float, int]:
        with self._lock:
            if self._values is None or time.monotonic() - self._read_at >= self.ttl:
                with connection.cursor() as cursor:
                    cursor.execute(_IN_FLIGHT)
                    count, oldest, cancelling = cursor.fetchone()
                self._values = (int(count), float(oldest), int(cancelling))
                self._read_at = time.monotonic()
            return self._values

    def invalidate(self) -> None:
        with self._lock:
            self._values = None

    def collect(self) -> Iterator[Metric]:
        in_flight, oldest, cancelling = self.values()
        yield GaugeMetricFamily("payouts_in_flight", "Payouts pending or processing (from the database).", in_flight)
        yield GaugeMetricFamily(
            "payout_oldest_in_flight_seconds",
            "Age of the oldest payout pending or processing, 0 when none (from the database).",
            oldest,
        )
        yield GaugeMetricFamily(
            "payouts_waiting_on_cancellation",
            "Payouts whose cancellation was asked of the bank and not yet confirmed (from the database).",
            cancelling,
        )


DATABASE_GAUGES = DatabaseGauges()


def metrics_render(*, database: bool = True) -> bytes:
    """The text exposition: every process's samples (multiprocess mode), plus the database gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:  # single process (a directory was never configured): this process's own samples
        registry.register(_Forward(REGISTRY))
    if database:
        registry.register(DATABASE_GAUGES)
    return generate_latest(registry)


def bearer_matches(authorization: str, token: str) -> bool:
    """Whether an Authorization header carries ``Bearer <token>``, compared in constant time."""
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def worker_metrics_serve(*, port: int, token: str) -> WSGIServer:
    """Serve this host's metric files at ``http://0.0.0.0:<port>/metrics`` from a daemon thread.

    For worker-only containers, whose files no API process reads. The same
    bearer token as the API's /metrics (404 when it is unset, 401 when
    wrong); no database gauges (the API exports them).
    """

    def app(environ, start_response):
        def answer(status: str, body: bytes, content_type: str, *extra: tuple[str, str]) -> list[bytes]:
            start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra])
            return [body]

        def error(status: str, code: str, message: str, *extra: tuple[str, str]) -> list[bytes]:
            body = json.dumps({"error": {"code": code, "message": message, "field": None}}).encode()
            return answer(status, body, "application/json", *extra)

        if not token or environ.get("PATH_INFO", "").rstrip("/") != "/metrics":
            return error("404 Not Found", "not_found", "Not found.")
        if not bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            return error(
                "401 Unauthorized",
                "unauthenticated",
                "A valid metrics bearer token is required.",
                ("WWW-Authenticate", 'Bearer realm="metrics"'),
            )
        return answer("200 OK", metrics_render(database=False), CONTENT_TYPE)

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    # Every interface: Prometheus scrapes the container from outside it.
    server = make_server("0.0.0.0", port, app, server_class=_ThreadingServer, handler_class=_Quiet)  # noqa: S104
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
