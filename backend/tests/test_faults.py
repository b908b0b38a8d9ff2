"""Faults of the world around the engine, with real processes and a real network in between.

* A bank that receives a request only after the engine gave up on it.
* Redis that stops answering (packets dropped, not refused) while merchants
  request payouts.
* A database client cut off by the network in the middle of a transaction
  that holds a merchant's lock.
* A merchant's lock held longer than the API's lock timeout.

The network faults go through ``TcpProxy`` (tcp_proxy.py), which keeps every
connection open while it forwards nothing, as a partition does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import redis
from django.conf import settings
from django.db import connections
from huey import RedisHuey
from huey.contrib.djhuey import HUEY

from bank.models import SimulatedTransfer
from conftest import Api, database_url, manage, owner_connect, wait_until
from ledger.models import LedgerEntry
from payouts.models import IdempotencyRecord, Payout, ReconciliationIncident
from payouts.tasks import SWEEP_LOCK_KEY
from tests.tcp_proxy import TcpProxy
from tests.test_start_sh import free_port

BACKEND = Path(__file__).resolve().parents[1]
REPO_ROOT = BACKEND.parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


# --- processes -----------------------------------------------------------------------


def spawn(command: list[str], log_path: Path, **env: str) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_TIMEOUT_SECONDS"}
    environment.update(DATABASE_URL=database_url(), LOG_LEVEL="INFO", **env)
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    """Stop a process this test started, and everything it started."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@pytest.fixture
def processes(tmp_path):
    """Start processes (stopped at the end of the test): ``processes.consumer(**env)``, ``processes.api(**env)``."""

    class Started:
        def __init__(self) -> None:
            self.running: list[subprocess.Popen] = []
            self.logs: list[Path] = []

        def _spawn(self, command: list[str], name: str, **env: str) -> subprocess.Popen:
            log_path = tmp_path / f"{len(self.logs) + 1}-{name}.log"
            process = spawn(command, log_path, **env)
            self.running.append(process)
            self.logs.append(log_path)
            return process

        def consumer(self, **env: str) -> subprocess.Popen:
            defaults = {"HUEY_NAME": HUEY.name, "HUEY_WORKERS": "4", "PAYOUT_SWEEP_GRACE_SECONDS": "2"}
            return self._spawn([sys.executable, str(BACKEND / "manage.py"), "run_huey"], "run_huey", **(defaults | env))

        def api(self, port: int, **env: str) -> subprocess.Popen:
            command = [str(BIN / "gunicorn"), "config.wsgi", "--chdir", str(BACKEND)]
            command += ["--bind", f"127.0.0.1:{port}", "--workers", "1"]
            return self._spawn(command, "gunicorn", **env)

        def output(self) -> str:
            return "\n".join(f"--- {path.name}\n{log_tail(path)}" for path in self.logs)

    started = Started()
    yield started
    for process in started.running:
        stop(process)


@pytest.fixture
def clean_queue():
    """An empty queue and no sweep lock left by an earlier consumer of this queue."""
    HUEY.flush()
    HUEY.storage.conn.delete(SWEEP_LOCK_KEY)
    yield
    HUEY.flush()
    HUEY.storage.conn.delete(SWEEP_LOCK_KEY)


# --- where the services really are ---------------------------------------------------


def redis_target() -> tuple[tuple[str, int] | str, int]:
    """Where the test Redis listens (host and port, or a Unix socket), and the database number."""
    kwargs = redis.ConnectionPool.from_url(settings.REDIS_URL).connection_kwargs
    target = kwargs["path"] if "path" in kwargs else (kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379)))
    return target, int(kwargs.get("db", 0) or 0)


def postgres_target() -> tuple[str, int] | str:
    """Where the test database listens: host and port, or the Unix socket of an embedded server."""
    db = connections["default"].settings_dict
    host, port = db["HOST"] or "/var/run/postgresql", int(db["PORT"] or 5432)
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}"
    return (host, port)


def app_connect(host: str, port: int) -> psycopg2.extensions.connection:
    """A connection as the application's role, with the options the engine's own connections use."""
    db = connections["default"].settings_dict
    return psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=host,
        port=port,
        **db["OPTIONS"],
    )


LOCK_MERCHANT = "SELECT id FROM merchants_merchant WHERE id = %s FOR NO KEY UPDATE"


# --- 1. a request that reaches the bank after the engine gave up -------------------


@pytest.mark.parametrize(("max_attempts", "delay"), [(1, 6), (3, 14), (3, 5)])
def test_a_request_that_reaches_the_bank_late_is_never_both_refunded_and_paid(
    make_merchant, clean_queue, processes, max_attempts, delay
):
    """Every attempt's request reaches the bank `delay` s after it was sent; the sender gives up after 1 s.

    With one attempt of 2 s (or three, stuck at about 2, 5 and 9-10 s with the
    backoff), the last attempt is stuck before the first request lands. An
    engine that trusted silence failed the payout and returned its funds
    there, and the bank settled the late request seconds later: the merchant
    was refunded AND paid, and check_ledger saw nothing wrong. Now the engine
    asks the bank to cancel the reference first: the bank confirms, refuses
    the late requests, and only then is the payout failed. With three attempts
    and a 5 s delay, the first request lands while the engine is still
    retrying, and the inquiry finds it settled: the payout completes.
    """
    merchant = make_merchant(credit_paise=100_000)
    processes.consumer(
        PAYOUT_MAX_ATTEMPTS=str(max_attempts),
        PAYOUT_PROCESSING_TIMEOUT_SECONDS="2",
        PAYOUT_SWEEP_GRACE_SECONDS="2",
        PAYOUT_RETRY_BACKOFF_SECONDS="1",
        BANK_SIMULATOR_OUTCOME="success",
        BANK_SIMULATOR_ACCEPT_DELAY_SECONDS=str(delay),
        BANK_REQUEST_TIMEOUT_SECONDS="1",
    )
    reply = merchant.api.create_payout(60_000, merchant.bank_account_id)
    assert reply.status == 201, reply.text
    payout_id = reply.json["id"]

    def settled_down() -> bool:
        """The payout is final and every request the engine sent has reached the bank."""
        payout = Payout.objects.get(pk=payout_id)
        if payout.status not in (Payout.Status.COMPLETED, Payout.Status.FAILED):
            return False
        transfer = SimulatedTransfer.objects.filter(reference=payout.reference).first()
        return transfer is not None and transfer.requests >= payout.attempts

    assert wait_until(settled_down, timeout=60), processes.output()
    time.sleep(1)  # a late answer, if the engine mishandled one, would show by now

    payout = Payout.objects.get(pk=payout_id)
    transfer = SimulatedTransfer.objects.get(reference=payout.reference)
    reversals = list(LedgerEntry.objects.filter(payout_id=payout_id, kind="reversal").values_list("amount_paise"))
    assert payout.attempts == transfer.requests
    assert 1 <= payout.attempts <= max_attempts
    if payout.status == Payout.Status.COMPLETED:
        assert (transfer.state, transfer.amount_paise) == ("settled", 60_000)
        assert reversals == []
        assert merchant.api.balance() == (40_000, 0)
    else:
        # Failed: only because the bank confirmed it would never pay, and it kept its word.
        assert payout.status == Payout.Status.FAILED
        assert transfer.state == "cancelled", f"failed and refunded, but the bank's record is {transfer.state}"
        assert reversals == [(60_000,)]
        assert merchant.api.balance() == (100_000, 0)
        assert payout.failure_reason.startswith(f"no answer from the bank after {payout.attempts} attempts")
    assert list(ReconciliationIncident.objects.values_list("kind", "reference")) == []
    ledger = manage("check_ledger")
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    assert "all invariants hold" in ledger.stdout


# --- 2. Redis silent: the API still answers at once ----------------------------------


def test_payouts_are_accepted_at_once_while_redis_drops_packets_and_the_sweep_processes_them(
    make_merchant, processes, tmp_path
):
    """Redis unreachable with packets dropped: each POST /payouts answers 201 within a second.

    An enqueue that waited for Redis would cost the request its socket
    timeout: with the API's Redis timeout at the consumer's 5 s, the first
    POST takes 5 s and this test fails (the engine then stops trying Redis for
    a few seconds, so the next POSTs are quick either way). The payouts are
    durable in PostgreSQL; once Redis is back, a consumer's sweep finds and
    processes them, though no task for them ever reached Redis.
    """
    merchant = make_merchant(credit_paise=100_000)
    target, db_number = redis_target()
    queue_name = f"faults{uuid.uuid4().hex[:12]}"
    real_queue = RedisHuey(queue_name, url=settings.REDIS_URL)
    port = free_port()
    with TcpProxy(target) as proxy:
        try:
            gunicorn = processes.api(
                port,
                REDIS_URL=f"redis://127.0.0.1:{proxy.port}/{db_number}",
                HUEY_NAME=queue_name,
                PAYOUT_RATE_LIMIT="off",
                DEBUG="false",
                DEMO_MODE="false",
                ALLOWED_HOSTS="127.0.0.1",
                SECRET_KEY=secrets.token_urlsafe(50),
                BANK_ACCOUNT_ENCRYPTION_KEY=",".join(settings.BANK_ACCOUNT_ENCRYPTION_KEYS),
            )
            api = Api(f"http://127.0.0.1:{port}", merchant.api_key)

            def healthy() -> bool:
                assert gunicorn.poll() is None, processes.output()
                try:
                    return api.get("/health").status == 200
                except OSError:
                    return False

            # Up, with a pooled connection to Redis through the proxy that is about to go silent.
            assert wait_until(healthy, timeout=30), processes.output()
            assert proxy.accepted >= 1

            proxy.cut()
            timings, ids = [], []
            for _ in range(5):
                started = time.monotonic()
                reply = api.create_payout(1_000, merchant.bank_account_id)
                timings.append(time.monotonic() - started)
                assert reply.status == 201, reply.text
                ids.append(reply.json["id"])
            assert max(timings) < 1.0, f"POST /payouts took {timings}s with Redis silent"
            assert proxy.dropped_bytes > 0  # the API did try Redis, and the network swallowed it
            assert Payout.objects.filter(pk__in=ids, status="pending").count() == 5
        finally:
            proxy.restore()

        # Nothing for these payouts is in Redis: only the sweep, which reads PostgreSQL, can find them.
        assert (real_queue.pending_count(), real_queue.scheduled_count()) == (0, 0)
        try:
            processes.consumer(
                REDIS_URL=settings.REDIS_URL,
                HUEY_NAME=queue_name,
                PAYOUT_SWEEP_GRACE_SECONDS="1",
                BANK_SIMULATOR_OUTCOME="success",
            )
            done = wait_until(lambda: Payout.objects.filter(pk__in=ids, status="completed").count() == 5, timeout=30)
            statuses = list(Payout.objects.filter(pk__in=ids).values_list("status", flat=True))
            assert done, f"{statuses}\n{processes.output()}"
        finally:
            keys = list(real_queue.storage.conn.scan_iter(match=f"*{queue_name}*"))
            if keys:
                real_queue.storage.conn.delete(*keys)
    assert merchant.api.balance() == (95_000, 0)
    assert SimulatedTransfer.objects.filter(state="settled").count() == 5


# --- 3. a client cut off mid-transaction ---------------------------------------------


def test_a_client_cut_off_mid_transaction_releases_the_merchant_lock_within_seconds(
    make_merchant, owner_sql, clean_queue
):
    """A client holding the merchant's lock goes silent; the server ends its session and the lock is free.

    The network keeps the connection open (the proxy is alive), so neither
    side's TCP keepalives notice anything: it is the session's
    idle_in_transaction_session_timeout that ends it.
    """
    merchant = make_merchant(credit_paise=100_000)
    idle_seconds = settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000
    assert 0 < idle_seconds < 8, "this test needs the idle-in-transaction timeout on"
    key = str(uuid.uuid4())
    with TcpProxy(postgres_target()) as proxy:
        client = app_connect("127.0.0.1", proxy.port)
        try:
            with client.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (backend_pid,) = cursor.fetchone()
                cursor.execute(LOCK_MERCHANT, [merchant.id])
            proxy.cut()
            cut_at = time.monotonic()

            # The lock is really held by the silent session.
            probe = owner_connect()
            try:
                with pytest.raises(psycopg2.errors.LockNotAvailable), probe.cursor() as cursor:
                    cursor.execute(LOCK_MERCHANT + " NOWAIT", [merchant.id])
            finally:
                probe.close()

            replies = []
            while time.monotonic() - cut_at < 15:
                reply = merchant.api.create_payout(50_000, merchant.bank_account_id, key=key)
                replies.append((reply.status, reply.error_code))
                if reply.status != 503:
                    break
                assert reply.error_code == "database_timeout", reply.text
            waited = time.monotonic() - cut_at
        finally:
            client.close()

    assert replies[-1] == (201, None), replies
    assert set(replies[:-1]) <= {(503, "database_timeout")}
    assert idle_seconds - 0.5 < waited < 10, f"the lock was released after {waited:.1f}s ({replies})"
    assert owner_sql("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend_pid]) == [(0,)]
    assert Payout.objects.filter(merchant_id=merchant.id).count() == 1
    assert merchant.api.balance() == (50_000, 50_000)


# --- 4. a lock held past the API's lock timeout --------------------------------------


@contextlib.contextmanager
def api_lock_timeout(milliseconds: int):
    """A lower lock_timeout for every connection opened from now on, the live server's included.

    The live server opens a connection per request, from these settings. The
    test that uses this checks the time the answer took, which proves that the
    API's connection really had the lower timeout.
    """
    options = connections.settings["default"]["OPTIONS"]
    default = options["options"]
    options["options"] = default.replace(
        f"-c lock_timeout={settings.DB_LOCK_TIMEOUT_MS}", f"-c lock_timeout={milliseconds}"
    )
    assert options["options"] != default
    connections.close_all()
    try:
        yield
    finally:
        options["options"] = default
        connections.close_all()


def test_a_lock_held_past_the_lock_timeout_answers_503_database_timeout_and_changes_nothing(make_merchant, clean_queue):
    merchant = make_merchant(credit_paise=100_000)
    key = str(uuid.uuid4())
    lock_timeout_ms = 1_500  # the default 5 s would make this test slow
    assert lock_timeout_ms / 1000 + 2 < settings.DB_LOCK_TIMEOUT_MS / 1000  # so the timing below tells them apart

    holder = owner_connect()
    try:
        with holder.cursor() as cursor:
            cursor.execute("SET idle_in_transaction_session_timeout = 0")  # hold the lock as long as it takes
            cursor.execute("BEGIN")
            cursor.execute(LOCK_MERCHANT, [merchant.id])
        with api_lock_timeout(lock_timeout_ms):
            started = time.monotonic()
            reply = merchant.api.create_payout(50_000, merchant.bank_account_id, key=key)
            waited = time.monotonic() - started

        assert (reply.status, reply.error_code) == (503, "database_timeout"), reply.text
        error = reply.json["error"]
        assert reply.json == {"error": {"code": "database_timeout", "message": error["message"], "field": None}}
        assert isinstance(error["message"], str) and error["message"]
        assert int(reply.headers["retry-after"]) >= 1
        assert lock_timeout_ms / 1000 - 0.1 < waited < lock_timeout_ms / 1000 + 2, f"answered after {waited:.2f}s"
        assert Payout.objects.filter(merchant_id=merchant.id).count() == 0
        assert IdempotencyRecord.objects.filter(merchant_id=merchant.id).count() == 0
        assert merchant.api.balance() == (100_000, 0)
    finally:
        with holder.cursor() as cursor:
            cursor.execute("ROLLBACK")
        holder.close()

    again = merchant.api.create_payout(50_000, merchant.bank_account_id, key=key)
    assert again.status == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert Payout.objects.filter(merchant_id=merchant.id).count() == 1
    assert merchant.api.balance() == (50_000, 50_000)
