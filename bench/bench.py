"""The payout engine's benchmark (`make bench`, `bench/run.sh`; see bench/README.md).

Runs the stack as in production (gunicorn with sync workers, DEBUG off, no rate
limit, the Huey consumer as separate processes) against a database created for
this run, then:

1. POST /payouts through the API with wrk: one hot merchant, and 1000 merchants
   drawn at random per request, at each client count;
2. the same transaction in raw SQL with pgbench, interleaved with step 1 so both
   see the same tables: the ceiling the API is measured against;
3. the p50 of POST /payouts and GET /balance as a merchant's ledger grows;
4. how fast 1, 2 and 4 `run_huey` consumers drain a backlog of pending payouts;
5. webhook delivery lag: payouts at a steady rate with a consumer running, and
   the time from each payout.created event to its arrival at a real HTTP
   receiver in this process (every event must arrive, correctly signed);
6. correctness after all of it; any failure makes the exit status non-zero.

Prints one table and writes bench/results/<timestamp>.json and .png.
bench/run.sh provides the environment: DATABASE_URL and REDIS_URL of a running
server (embedded ones if the caller had none), BENCH_PGBENCH, and matplotlib.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import psycopg2.extras
from cryptography.fernet import Fernet

# scripts/stack.py: the scratch stack (databases, gunicorn, consumers) the scripts and tests share.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import stack

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BACKEND = REPO / "backend"
PY = str(REPO / ".venv" / "bin" / "python")
GUNICORN_CONF = BACKEND / "config" / "gunicorn_conf.py"
RESULTS = BENCH_DIR / "results"
WRK_SCRIPT = BENCH_DIR / "wrk" / "api.lua"
PGBENCH_SCRIPT = BENCH_DIR / "pgbench" / "payout_create.sql"

# Every merchant gets this much, so no request ever meets insufficient funds.
CREDIT_PAISE = 10**15


@dataclass(frozen=True)
class Plan:
    smoke: bool
    seconds: int  # per wrk / pgbench case in the ceiling comparison
    clients: tuple[int, ...]
    many: int  # merchants in the "many merchants" case
    growth_sizes: tuple[int, ...]  # ledger entries loaded before each growth measurement
    growth_seconds: int
    growth_rounds: int  # each size is measured this many times; the lowest p50 counts
    drain_payouts: int
    drain_consumers: tuple[int, ...]
    drain_outcomes: tuple[str, ...]
    drain_timeout: int
    webhook_rate: int  # payouts per second while webhook delivery lag is measured
    webhook_seconds: int
    webhook_wait: int  # seconds after the last payout for every event to arrive
    scrape_seconds: int = 15  # per POST run in the scrape-cost comparison
    scrape_rounds: int = 2  # A B A B: each setting runs this many times, interleaved


FULL = Plan(
    smoke=False,
    seconds=10,
    clients=(4, 16, 64),
    many=1000,
    growth_sizes=(0, 100_000, 1_000_000),
    growth_seconds=3,
    growth_rounds=2,
    drain_payouts=5000,
    drain_consumers=(1, 2, 4),
    drain_outcomes=("success", "random"),
    drain_timeout=150,
    webhook_rate=50,
    webhook_seconds=20,
    webhook_wait=60,
)
SMOKE = Plan(
    smoke=True,
    seconds=2,
    clients=(4, 16),
    many=1000,
    growth_sizes=(0, 10_000),
    growth_seconds=2,
    growth_rounds=1,
    drain_payouts=300,
    drain_consumers=(1,),
    drain_outcomes=("success",),
    drain_timeout=60,
    webhook_rate=20,
    webhook_seconds=5,
    webhook_wait=30,
    scrape_seconds=3,
)

# What the team optimises against (the brief of the benchmark).
TARGETS = {
    "hot_ratio_at_16": 0.50,
    "many_ratio_at_16": 0.30,
    "p99_ms_at_16": 50.0,
    "growth_p50_ratio": 1.10,
    "drain_per_consumer_success": 200.0,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(
    argv: list[str], env: dict, cwd: Path = REPO, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}... exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


# --- CPU accounting --------------------------------------------------------------------
# Which processes used the cores during a case tells whether the API, the
# database or the load generator is the bottleneck, and whether something else
# on the machine disturbed the run. Linux only; empty elsewhere.

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Our processes by command name; the rest of our tree is "worker".
ROLES = {"gunicorn": "api", "wrk": "load", "pgbench": "load"}
# The PostgreSQL server's postmaster, when it runs on this machine (set by Bench.setup).
POSTMASTER: list[int] = []


def _processes() -> dict[int, tuple[str, int, int]]:
    """pid -> (command, parent pid, CPU ticks so far)."""
    found = {}
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else []:
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited while we looked
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        found[int(entry.name)] = (comm, int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
    return found


def _tree(processes: dict[int, tuple[str, int, int]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in processes.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = set(), [root]
    while stack:
        pid = stack.pop()
        found.add(pid)
        stack.extend(children.get(pid, []))
    return found


@contextmanager
def cpu_split(into: dict, interval: float = 0.5):
    """Cores used per role while the block runs.

    Roles: api (our gunicorn), load (wrk, pgbench), worker (run_huey and the
    other processes this benchmark started), bench (this driver), postgres (the
    server we use, all of its backends), redis, and other: everything else on
    the machine, a sign that the run was disturbed.

    Sampled in a thread, because wrk, pgbench and pgbench's database backends
    exit before the block ends and would otherwise go uncounted.
    """
    first = _processes()
    last = dict(first)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            last.update(_processes())

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.monotonic()
    sampler.start()
    try:
        yield
    finally:
        done.set()
        sampler.join()
        last.update(_processes())
        elapsed = time.monotonic() - started
        ours = _tree(last, os.getpid())
        database = _tree(last, POSTMASTER[0]) if POSTMASTER else set()
        used: dict[str, float] = {}
        for pid, (comm, _, ticks) in last.items():
            delta = ticks - first.get(pid, (comm, 0, 0))[2]
            if delta <= 0:
                continue
            if pid in database:
                role = "postgres"
            elif pid == os.getpid():
                role = "bench"
            elif pid in ours:
                role = ROLES.get(comm, "worker")
            else:
                role = "redis" if comm == "redis-server" else "other"
            used[role] = used.get(role, 0.0) + delta / CLK_TCK / elapsed
        into.update({role: round(cores, 2) for role, cores in sorted(used.items(), key=lambda kv: -kv[1])})


def source_version() -> str:
    """The commit measured, "+changes" when backend/ differs from it (results are only comparable per commit)."""
    try:
        commit = run(["git", "rev-parse", "--short", "HEAD"], env=os.environ).stdout.strip()
        changed = run(["git", "status", "--porcelain", "--", "backend"], env=os.environ).stdout.strip()
    except (OSError, RuntimeError):
        return "unknown commit"
    return commit + ("+changes" if changed else "")


def find_postmaster(db_url: str) -> int | None:
    """The pid of the server's postmaster if it runs here (the parent of our backend)."""
    backend = query_one(db_url, "SELECT pg_backend_pid()")[0]
    try:
        stat = Path(f"/proc/{backend}/stat").read_text()
    except OSError:
        return None  # a server on another machine, or no /proc
    if "(postgres)" not in stat:
        return None  # the same pid in another namespace (a container): not our backend
    return int(stat[stat.rindex(")") + 2 :].split()[1])


# --- the database ----------------------------------------------------------------------


def libpq_env(url: str) -> dict:
    """PG* variables for pgbench, from a URL that may name a Unix socket directory."""
    dsn = psycopg2.extensions.parse_dsn(url)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}
    return {env: str(dsn[key]) for key, env in names.items() if dsn.get(key)}


@dataclass
class Merchant:
    id: int
    api_key: str
    account_id: int


def create_merchants(db_url: str, label: str, count: int, *, encryption_key: str) -> list[Merchant]:
    """Merchants with a key, a bank account and one customer payment, in plain SQL.

    Done in SQL because 2000 merchants through the services take a minute. It
    respects the engine's rules: merchants start at zero and are credited by a
    `payment` ledger entry (the balance trigger does the rest); keys are stored
    as their SHA-256; bank accounts are verified, their numbers encrypted with
    the engine's key.
    """
    box = Fernet(encryption_key.encode())
    keys = ["sk_bench_" + secrets.token_urlsafe(24) for _ in range(count)]
    with closing(psycopg2.connect(db_url)) as conn, conn, conn.cursor() as cur:
        names = [(f"bench {label} {n:04d}",) for n in range(count)]
        ids = [
            row[0]
            for row in psycopg2.extras.execute_values(
                cur,
                "INSERT INTO merchants_merchant (name, is_demo, available_paise, held_paise, created_at) "
                "VALUES %s RETURNING id",
                names,
                template="(%s, false, 0, 0, now())",
                page_size=count,
                fetch=True,
            )
        ]
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO merchants_apikey (merchant_id, name, key_hash, prefix, created_at) VALUES %s",
            [(mid, hashlib.sha256(key.encode()).hexdigest(), key[:12]) for mid, key in zip(ids, keys, strict=True)],
            template="(%s, 'Benchmark', %s, %s, now())",
            page_size=count,
        )
        accounts = [
            row[0]
            for row in psycopg2.extras.execute_values(
                cur,
                "INSERT INTO merchants_bankaccount (merchant_id, holder_name, ifsc, account_number_encrypted,"
                " account_last4, status, registered_name, verification_requests, decided_at, created_at) "
                "VALUES %s RETURNING id",
                [
                    (mid, name, "HDFC0000001", box.encrypt(number.encode()).decode(), number[-4:], name)
                    for mid, name, number in ((mid, f"Bench {label} {mid}", f"{100000000000 + mid}") for mid in ids)
                ],
                # Verified, as create_merchant makes them: payouts go to verified accounts only.
                template="(%s, %s, %s, %s, %s, 'verified', upper(%s), 0, now(), now())",
                page_size=count,
                fetch=True,
            )
        ]
        cur.execute(
            "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at) "
            "SELECT unnest(%s::bigint[]), 'payment', %s, 'Opening customer payment', NULL, now()",
            [ids, CREDIT_PAISE],
        )
    return [Merchant(mid, key, acct) for mid, key, acct in zip(ids, keys, accounts, strict=True)]


def write_lua_merchants(path: Path, merchants: list[Merchant]) -> Path:
    rows = ",\n".join(f'  {{"{m.api_key}", {m.account_id}}}' for m in merchants)
    path.write_text(f"return {{\n{rows}\n}}\n")
    return path


def query_one(db_url: str, sql: str, params=None):
    with closing(psycopg2.connect(db_url)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def query_all(db_url: str, sql: str, params=None):
    with closing(psycopg2.connect(db_url)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


# --- load generators -------------------------------------------------------------------


@dataclass
class Measurement:
    tool: str  # "wrk" or "pgbench"
    mode: str  # "post" (POST /payouts), "get" (GET /balance) or "sql" (pgbench)
    case: str  # "hot", "many", "growth" or "warmup"
    clients: int
    seconds: float
    rate: float  # requests or transactions per second
    p50_ms: float
    p99_ms: float
    count: int
    errors: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)


def wrk(
    base_url: str, mode: str, merchants_file: Path, clients: int, seconds: int, case: str, log_dir: Path
) -> Measurement:
    salt = secrets.token_hex(4)
    argv = [
        "wrk",
        f"-t{min(2, clients)}",
        f"-c{clients}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        base_url,
        "--",
        mode,
        str(merchants_file),
        salt,
    ]
    cpu: dict = {}
    with cpu_split(cpu):
        result = run(argv, env=os.environ.copy(), timeout=seconds + 60)
    (log_dir / f"wrk-{mode}-{case}-c{clients}-{salt}.txt").write_text(result.stdout + result.stderr)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    duration = data["duration_us"] / 1e6
    errors = {
        k: data[k]
        for k in (
            "non_2xx_3xx",
            "status_4xx",
            "status_5xx",
            "replayed",
            "connect_errors",
            "read_errors",
            "write_errors",
            "timeouts",
        )
    }
    errors["status_2xx"] = data["status_2xx"]
    return Measurement(
        "wrk",
        mode,
        case,
        clients,
        duration,
        data["requests"] / duration,
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
        data["requests"],
        errors,
        cpu,
    )


def pgbench(
    db_url: str, case: str, merchants: list[Merchant], clients: int, seconds: int, log_dir: Path
) -> Measurement:
    offsets = {m.account_id - m.id for m in merchants}
    if len(offsets) != 1:
        raise RuntimeError("bank account ids are not a constant offset from merchant ids; pgbench cannot derive them")
    prefix = log_dir / f"pgbench-transactions-{case}-c{clients}"
    argv = [
        os.environ.get("BENCH_PGBENCH", "pgbench"),
        "-n",
        "-c",
        str(clients),
        "-j",
        str(min(2, clients)),
        "-T",
        str(seconds),
        "-f",
        str(PGBENCH_SCRIPT),
        "-D",
        f"mlo={merchants[0].id}",
        "-D",
        f"mhi={merchants[-1].id}",
        "-D",
        f"acct_off={offsets.pop()}",
        "-l",
        f"--log-prefix={prefix}",
    ]
    if [m.id for m in merchants] != list(range(merchants[0].id, merchants[-1].id + 1)):
        raise RuntimeError("merchant ids are not contiguous; pgbench draws from a range")
    cpu: dict = {}
    with cpu_split(cpu):
        result = run(argv, env={**os.environ, **libpq_env(db_url)}, check=False, timeout=seconds + 60)
    (log_dir / f"pgbench-{case}-c{clients}.txt").write_text(result.stdout + result.stderr)
    processed = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if not processed or not tps:
        raise RuntimeError(f"pgbench did not run:\n{result.stdout}\n{result.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    latencies = []  # per-transaction log: client, transaction no, latency in microseconds, ...
    for path in log_dir.glob(f"{prefix.name}.[0-9]*"):  # one file per pgbench thread
        with open(path) as handle:
            latencies.extend(int(line.split()[2]) for line in handle if line.strip())
        path.unlink()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0] * 99
    errors = {"exit_status": result.returncode, "failed": int(failed.group(1)) if failed else 0}
    if result.returncode != 0:
        errors["stderr"] = result.stderr[-2000:]
    return Measurement(
        "pgbench", "sql", case, clients, seconds, float(tps.group(1)), q[49] / 1000, q[98] / 1000,
        int(processed.group(1)), errors, cpu,
    )  # fmt: skip


# --- the run ---------------------------------------------------------------------------


class Bench:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.started = datetime.now(UTC)
        self.stamp = self.started.strftime("%Y%m%dT%H%M%SZ") + ("-smoke" if plan.smoke else "")
        self.log_dir = REPO / ".data" / "bench" / "logs" / self.stamp
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.server_url = os.environ["DATABASE_URL"]
        self.db_url = stack.database_url(self.server_url, "payouts_bench")
        self.drain_db_url = stack.database_url(self.server_url, "payouts_bench_drain")
        self.workers = int(os.environ.get("BENCH_GUNICORN_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
        self.huey_name = f"bench-{self.stamp}-{os.getpid()}"
        # One environment for every engine process: production settings, no rate limit.
        self.env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "DEBUG": "false",
            "DEMO_MODE": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "BANK_ACCOUNT_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "PAYOUT_RATE_LIMIT": "off",
            "READ_RATE_LIMIT": "off",
            "HUEY_NAME": self.huey_name,
            # GET /metrics answers (the scrape-cost phase scrapes it as Prometheus would).
            "METRICS_TOKEN": secrets.token_urlsafe(24),
            # Logged as start.sh logs in production (to files under the log directory here).
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),
        }
        # The drain runs in its own database and queue: the API phases leave
        # tens of thousands of pending payouts (and their tasks) behind, on purpose.
        self.drain_env = {**self.env, "DATABASE_URL": self.drain_db_url, "HUEY_NAME": self.huey_name + "-drain"}
        self.procs = stack.Processes(self.log_dir, self.env)
        self.measurements: list[Measurement] = []
        self.growth: list[dict] = []
        self.drains: list[dict] = []
        self.webhooks: dict = {}
        self.checks: list[dict] = []
        self.scrapes: list[dict] = []
        self.info: dict = {}

    # --- setup

    def setup(self) -> None:
        server = psycopg2.extensions.parse_dsn(self.db_url).get("host", "the default socket")
        log(f"databases payouts_bench and payouts_bench_drain on {server}")
        for name in ("payouts_bench", "payouts_bench_drain"):
            stack.create_database(self.server_url, name)  # kept afterwards, for inspection

        def migrate(env: dict) -> None:
            stack.migrate(env)
            # The engine runs as the application role, as in production; setup and pgbench as the owner.
            env.update(stack.app_role(env))

        with ThreadPoolExecutor() as pool:
            list(pool.map(migrate, (self.env, self.drain_env)))
        # Separate merchants for the API and for pgbench, so each side's payouts
        # can be counted against what its client saw.
        self.api_hot = create_merchants(
            self.db_url, "api-hot", 1, encryption_key=self.env["BANK_ACCOUNT_ENCRYPTION_KEY"]
        )
        self.api_many = create_merchants(
            self.db_url, "api-many", self.plan.many, encryption_key=self.env["BANK_ACCOUNT_ENCRYPTION_KEY"]
        )
        self.pg_hot = create_merchants(self.db_url, "pg-hot", 1, encryption_key=self.env["BANK_ACCOUNT_ENCRYPTION_KEY"])
        self.pg_many = create_merchants(
            self.db_url, "pg-many", self.plan.many, encryption_key=self.env["BANK_ACCOUNT_ENCRYPTION_KEY"]
        )
        self.growth_merchant = create_merchants(
            self.db_url, "growth", 1, encryption_key=self.env["BANK_ACCOUNT_ENCRYPTION_KEY"]
        )
        create_merchants(self.drain_db_url, "drain", 100, encryption_key=self.env["BANK_ACCOUNT_ENCRYPTION_KEY"])
        self.lua = {
            "hot": write_lua_merchants(self.log_dir / "merchants-hot.lua", self.api_hot),
            "many": write_lua_merchants(self.log_dir / "merchants-many.lua", self.api_many),
            "growth": write_lua_merchants(self.log_dir / "merchants-growth.lua", self.growth_merchant),
        }
        postmaster = find_postmaster(self.db_url)
        POSTMASTER[:] = [postmaster] if postmaster else []
        self.info.update(
            cores=os.cpu_count(),
            gunicorn_workers=self.workers,
            postgres=query_one(self.db_url, "SHOW server_version")[0],
            pgbench=run([os.environ.get("BENCH_PGBENCH", "pgbench"), "--version"], env=os.environ).stdout.strip(),
            wrk=(run(["wrk", "-v"], env=os.environ, check=False).stdout.splitlines() or [""])[0],
            commit=source_version(),
            huey_name=self.huey_name,
            logs=str(self.log_dir.relative_to(REPO)),
        )

    def start_api(self) -> None:
        self.port = stack.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        log(
            f"gunicorn config.wsgi on 127.0.0.1:{self.port} with {self.workers} sync workers "
            f"(2 x {os.cpu_count()} cores + 1)"
        )
        # production's logging and settings, as start.sh uses them
        options = ["--config", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else []
        self.api = self.procs.gunicorn(self.port, workers=self.workers, args=options)
        stack.wait_until_serving(self.port, timeout=60, process=self.api, log=self.procs.log_path("gunicorn"))

    # --- 1 and 2: API against the pgbench ceiling

    def ceiling(self) -> None:
        # Warm every worker's database connection and code paths; not reported.
        self.api_load("post", "many", 16, 1 if self.plan.smoke else 2, case="warmup")
        for case, pg_merchants in (("hot", self.pg_hot), ("many", self.pg_many)):
            for clients in self.plan.clients:
                api = self.api_load("post", case, clients, self.plan.seconds)
                ceiling = self.record(
                    pgbench(self.db_url, case, pg_merchants, clients, self.plan.seconds, self.log_dir)
                )
                log(
                    f"POST {case:4} c={clients:<3} API {api.rate:7.0f}/s p50 {api.p50_ms:6.1f} ms p99 "
                    f"{api.p99_ms:6.1f} ms | pgbench {ceiling.rate:7.0f}/s p50 {ceiling.p50_ms:5.1f} ms "
                    f"| ratio {api.rate / ceiling.rate:.2f}"
                )

    def api_load(self, mode: str, merchants: str, clients: int, seconds: int, case: str | None = None) -> Measurement:
        """wrk against the API for the named merchant set; recorded under `case` (default: the set's name)."""
        measurement = wrk(self.base_url, mode, self.lua[merchants], clients, seconds, case or merchants, self.log_dir)
        return self.record(measurement)

    def record(self, measurement: Measurement) -> Measurement:
        self.measurements.append(measurement)
        return measurement

    # --- 2b: what scraping /metrics costs the API

    def scrape_cost(self) -> None:
        """POST /payouts (many merchants, 16 connections) without a scraper, with one every 5 s, and every 1 s.

        The settings alternate (none, 5 s, 1 s, then 1 s, 5 s, none, ...) so a steady drift of the
        machine's load falls on each alike; the spread between runs of the same setting is the noise.
        The scraper asks at the start of each run and then every interval, with the bearer token, and
        checks each answer (200, Prometheus text with payouts_created_total).
        """
        settings: tuple[float | None, ...] = (None, 5.0, 1.0)
        for round_ in range(1, self.plan.scrape_rounds + 1):
            # none, 5 s, 1 s, then 1 s, 5 s, none, ...: a load that drifts steadily falls on each alike.
            for interval in settings if round_ % 2 else tuple(reversed(settings)):
                scraper = Scraper(self.base_url, self.env["METRICS_TOKEN"], interval)
                with scraper:
                    api = self.api_load("post", "many", 16, self.plan.scrape_seconds, case=scraper.case)
                self.scrapes.append(
                    {
                        "round": round_,
                        "interval_seconds": interval,
                        "rate": api.rate,
                        "p99_ms": api.p99_ms,
                        "scrapes": scraper.count,
                        "bad_scrapes": scraper.bad,
                        "scrape_ms": scraper.durations_ms,
                        "cpu": api.cpu,
                        "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                )
                label = "no scraper " if interval is None else f"scrape {interval:g} s"
                log(
                    f"scrape-cost round {round_} {label:11}: API {api.rate:7.0f}/s p99 {api.p99_ms:6.1f} ms, "
                    f"{scraper.count} scrapes ({len(scraper.bad)} bad), "
                    f"scrape p50 {statistics.median(scraper.durations_ms or [0]):.1f} ms"
                )
        self.scrape_verdict()

    def scrape_verdict(self) -> None:
        base = [s["rate"] for s in self.scrapes if s["interval_seconds"] is None]
        bad = [b for s in self.scrapes for b in s["bad_scrapes"]]
        scraped = sum(s["scrapes"] for s in self.scrapes)
        self.check(
            "every /metrics scrape answered",
            not bad and scraped >= len(self.scrapes) - len(base),
            f"{scraped} scrapes, {len(bad)} bad{': ' + '; '.join(bad[:3]) if bad else ''}",
        )
        mean_base = statistics.mean(base)
        # How far apart runs without a scraper land: the noise a difference must exceed to mean anything.
        noise = 100 * (max(base) - min(base)) / mean_base
        summary = {"base_rate": mean_base, "runs": [round(r) for r in base], "noise_percent": noise}
        for interval in (5.0, 1.0):
            rates = [s["rate"] for s in self.scrapes if s["interval_seconds"] == interval]
            mean = statistics.mean(rates)
            summary[f"every_{interval:g}s"] = {
                "rate": mean,
                "runs": [round(r) for r in rates],
                "cost_percent": 100 * (mean_base - mean) / mean_base,
            }
        self.info["scrape_cost"] = summary
        cost5 = summary["every_5s"]["cost_percent"]
        verdict = "met" if cost5 < 2 else "NOT met"
        if noise >= 2:
            verdict += f" (but runs without a scraper differ by {noise:.0f}%: noise, see the raw runs)"
        log(
            f"scrape cost: every 5 s {cost5:+.1f}%, every 1 s {summary['every_1s']['cost_percent']:+.1f}% of POST "
            f"throughput ({mean_base:.0f}/s without); target < 2% at 5 s: {verdict}"
        )

    # --- 3: cost growth with the ledger's length

    def cost_growth(self) -> None:
        merchant = self.growth_merchant[0]
        # The API phases left autovacuum work behind (tens of thousands of new rows);
        # doing it now keeps it from landing inside one of these short measurements.
        self.vacuum()
        loaded = 0
        for size in self.plan.growth_sizes:
            if size > loaded:
                started = time.monotonic()
                with closing(psycopg2.connect(self.db_url)) as conn, conn, conn.cursor() as cur:
                    # One statement: the balance trigger is per statement, so this is one UPDATE of the merchant.
                    cur.execute(
                        "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, created_at) "
                        "SELECT %s, 'payment', 100, 'load', now() FROM generate_series(1, %s)",
                        [merchant.id, size - loaded],
                    )
                log(f"loaded {size:,} ledger entries for merchant {merchant.id} in {time.monotonic() - started:.1f}s")
                # What autovacuum would do to a table that grew this much, within a minute.
                self.vacuum("ledger_ledgerentry")
                loaded = size
            entries = query_one(
                self.db_url, "SELECT count(*) FROM ledger_ledgerentry WHERE merchant_id = %s", [merchant.id]
            )[0]
            # Short runs on a shared machine: the best of a few rounds is the cost, the rest is interference.
            gets, posts = [], []
            for _ in range(self.plan.growth_rounds):
                for mode, into in (("get", gets), ("post", posts)):
                    into.append(self.api_load(mode, "growth", 4, self.plan.growth_seconds))
            balance, post = min(gets, key=lambda m: m.p50_ms), min(posts, key=lambda m: m.p50_ms)
            self.growth.append(
                {
                    "loaded_entries": size,
                    "entries_at_start": entries,
                    "get_balance_p50_ms": balance.p50_ms,
                    "get_balance_rate": balance.rate,
                    "post_payout_p50_ms": post.p50_ms,
                    "post_payout_rate": post.rate,
                    "rounds_get_p50_ms": [round(m.p50_ms, 2) for m in gets],
                    "rounds_post_p50_ms": [round(m.p50_ms, 2) for m in posts],
                    # The worse of the two runs that count, for the disturbance note.
                    "cpu": max(balance.cpu, post.cpu, key=lambda cpu: cpu.get("other", 0.0)),
                }
            )
            log(
                f"growth {size:>9,} entries: GET /balance p50 {balance.p50_ms:.1f} ms, "
                f"POST /payouts p50 {post.p50_ms:.1f} ms (best of {self.plan.growth_rounds})"
            )

    def vacuum(self, table: str = "") -> None:
        with closing(psycopg2.connect(self.db_url)) as conn:
            conn.autocommit = True
            conn.cursor().execute(f"VACUUM ANALYZE {table}")

    # --- 4: draining a backlog with N consumers

    def drain(self) -> None:
        for outcome in self.plan.drain_outcomes:
            env = {
                **self.drain_env,
                "BANK_SIMULATOR_OUTCOME": outcome,
                # Short enough that hung attempts time out, retry and finish inside the run.
                "PAYOUT_PROCESSING_TIMEOUT_SECONDS": "2",
                "PAYOUT_RETRY_BACKOFF_SECONDS": "1",
            }
            for consumers in self.plan.drain_consumers:
                self.drains.append(self.drain_once(env, outcome, consumers))

    def drain_once(self, env: dict, outcome: str, consumers: int) -> dict:
        count = self.plan.drain_payouts
        run([PY, str(BENCH_DIR / "django_side.py"), "flush-huey"], env=env)
        first_id = query_one(self.drain_db_url, "SELECT coalesce(max(id), 0) + 1 FROM payouts_payout")[0]
        # The consumers are stopped, so every payout's task waits in Redis, as after a worker outage.
        created = create_payouts_in_parallel(env, count)
        started = time.monotonic()
        workers = [self.procs.consumer(f"huey-{outcome}-{consumers}-{n}", env=env) for n in range(consumers)]
        first_pass = all_done = None
        samples = []
        cpu: dict = {}
        with cpu_split(cpu), closing(psycopg2.connect(self.drain_db_url)) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                while time.monotonic() - started < self.plan.drain_timeout:
                    cur.execute(
                        "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) "
                        "FROM payouts_payout WHERE status IN ('pending', 'processing') AND id >= %s",
                        [first_id],
                    )
                    pending, in_flight = cur.fetchone()
                    elapsed = time.monotonic() - started
                    samples.append((round(elapsed, 2), pending, in_flight))
                    if pending == 0 and first_pass is None:
                        first_pass = elapsed
                    if in_flight == 0:
                        all_done = elapsed
                        break
                    if any(w.poll() is not None for w in workers):
                        raise RuntimeError(f"a run_huey consumer exited; see {self.log_dir}")
                    time.sleep(0.1)
        # SIGTERM, not Huey's graceful SIGINT: the work is done, and a graceful stop
        # would wait for the periodic sweep, which sleeps for up to a minute.
        self.procs.stop(*workers, grace=15)
        statuses = dict(
            query_all(
                self.drain_db_url,
                "SELECT status, count(*) FROM payouts_payout WHERE id >= %s GROUP BY status",
                [first_id],
            )
        )
        steady = steady_rate(samples, count)
        result = {
            "outcome": outcome,
            "consumers": consumers,
            "payouts": count,
            "create_seconds": round(created, 2),
            "all_terminal_seconds": round(all_done, 2) if all_done is not None else None,
            "rate": round(count / all_done, 1) if all_done else None,
            "rate_per_consumer": round(count / all_done / consumers, 1) if all_done else None,
            # Every payout had its first answer (or hung): the rate without the retry tail.
            "first_pass_seconds": round(first_pass, 2) if first_pass is not None else None,
            "first_pass_rate": round(count / first_pass, 1) if first_pass else None,
            "steady_rate": round(steady, 1) if steady else None,
            "statuses": statuses,
            "cpu": cpu,
            "progress": samples[:: max(1, len(samples) // 50)],
        }
        log(
            f"drain {outcome:7} x{consumers}: {count} payouts terminal in {result['all_terminal_seconds']}s "
            f"({result['rate']}/s; steady {result['steady_rate']}/s; first pass {result['first_pass_seconds']}s)"
        )
        return result

    # --- 5: webhook delivery lag

    def webhook_lag(self) -> None:
        """Payouts at a steady rate to one merchant with one webhook endpoint; one consumer running.

        The endpoint takes payout.created (BENCH_WEBHOOK_EVENTS=all: every type,
        three deliveries per payout). The lag of a payout.created event is from
        its created_at (the database's clock, in the payout's own transaction)
        to its arrival at the receiver. Runs in the drain's database, whose
        payouts are all terminal by now.
        """
        plan = self.plan
        every = os.environ.get("BENCH_WEBHOOK_EVENTS", "").lower() == "all"
        events = [] if every else ["payout.created"]
        env = {
            **self.drain_env,
            "BANK_SIMULATOR_OUTCOME": "success",
            # The receiver is this process, on 127.0.0.1 over plain http (as under make run).
            "WEBHOOKS_ALLOW_HTTP": "true",
            "WEBHOOKS_ALLOW_PRIVATE": "true",
        }
        receiver = Receiver()
        try:
            merchant = create_merchants(
                self.drain_db_url, "webhooks", 1, encryption_key=self.env["BANK_ACCOUNT_ENCRYPTION_KEY"]
            )[0]
            side = str(BENCH_DIR / "django_side.py")
            endpoint = json.loads(
                run([PY, side, "webhook-endpoint", str(merchant.id), receiver.url, *events[:1]], env=env).stdout
            )
            receiver.secret = endpoint["secret"]
            consumer = self.procs.consumer("huey-webhooks", env=env)
            paced = [PY, side, "paced-payouts", str(merchant.id), str(merchant.account_id)]
            # One payout first, delivered before the clock starts: the consumer is up and the path is warm.
            warmup = json.loads(run([*paced, "1", "1"], env=env).stdout)["payout_ids"]
            self._wait_for_created(receiver, warmup, timeout=60, consumer=consumer)
            skip = len(receiver.received)
            cpu: dict = {}
            with cpu_split(cpu):
                made = json.loads(run([*paced, str(plan.webhook_rate), str(plan.webhook_seconds)], env=env).stdout)
                ids = made["payout_ids"]
                waited = self._wait_for_created(receiver, ids, timeout=plan.webhook_wait, consumer=consumer)
            self.procs.stop(consumer, grace=15)
        finally:
            receiver.close()
        deliveries = receiver.received[skip:]
        created = {}
        measured = set(ids)
        for delivery in deliveries:
            event = delivery["event"]
            if event["type"] == "payout.created" and event["data"]["id"] in measured:
                created.setdefault(event["id"], delivery)  # a retry or duplicate counts once, at its first arrival
        in_order = [d["received_at"] - d["event_created_at"] for d in sorted(created.values(), key=_created_order)]
        lags = sorted(in_order)
        tenth = max(1, len(in_order) // 10)
        arrivals = sorted(d["received_at"] for d in deliveries)
        span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
        by_type: dict[str, int] = {}
        for delivery in deliveries:
            by_type[delivery["event"]["type"]] = by_type.get(delivery["event"]["type"], 0) + 1
        bad = [d for d in deliveries if not d["signed"]]
        self.webhooks = {
            "enabled_events": "every type" if every else "payout.created",
            "rate": plan.webhook_rate,
            "seconds": plan.webhook_seconds,
            "payouts": len(ids),
            "create_seconds": round(made["seconds"], 2),
            "creator_max_behind_seconds": made["max_behind_seconds"],
            "expected_created": len(ids),
            "received_created": len(created),
            "duplicates": sum(1 for d in deliveries if d["event"]["type"] == "payout.created") - len(created),
            "received_by_type": by_type,
            "bad_signatures": len(bad),
            "p50_ms": round(percentile(lags, 50) * 1000, 1) if lags else None,
            "p99_ms": round(percentile(lags, 99) * 1000, 1) if lags else None,
            "max_ms": round(lags[-1] * 1000, 1) if lags else None,
            # A lag that grows from the first tenth of the payouts to the last: deliveries fall behind.
            "first_tenth_p50_ms": round(statistics.median(in_order[:tenth]) * 1000, 1) if in_order else None,
            "last_tenth_p50_ms": round(statistics.median(in_order[-tenth:]) * 1000, 1) if in_order else None,
            "deliveries_per_second": round((len(arrivals) - 1) / span, 1) if span else None,
            "last_arrival_after_last_payout_s": round(waited, 2),
            "cpu": cpu,
        }
        w = self.webhooks
        log(
            f"webhooks: {w['received_created']}/{w['expected_created']} payout.created received; "
            f"lag p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, max {w['max_ms']} ms "
            f"(first tenth {w['first_tenth_p50_ms']} ms, last {w['last_tenth_p50_ms']} ms); "
            f"{w['deliveries_per_second']} deliveries/s; received {by_type}"
        )

    def _wait_for_created(self, receiver: Receiver, ids: list[int], *, timeout: float, consumer) -> float:
        """Until a payout.created of each payout arrived (or timeout); seconds waited."""
        wanted = set(ids)
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            arrived = {
                d["event"]["data"]["id"] for d in list(receiver.received) if d["event"]["type"] == "payout.created"
            }
            if wanted <= arrived:
                break
            if consumer.poll() is not None:
                raise RuntimeError(f"the run_huey consumer exited; see {self.log_dir}")
            time.sleep(0.05)
        return time.monotonic() - started

    def verify_webhooks(self) -> None:
        w = self.webhooks
        if not w:
            self.check("every payout.created delivered", False, "the webhook phase did not run")
            return
        self.check(
            "every payout.created delivered",
            w["received_created"] == w["expected_created"],
            f"{w['received_created']} of {w['expected_created']} arrived within {self.plan.webhook_wait}s "
            "of the last payout",
        )
        self.check(
            "every delivery signed (Standard Webhooks)",
            w["bad_signatures"] == 0,
            f"{w['bad_signatures']} of {sum(w['received_by_type'].values())} deliveries with no valid signature",
        )

    # --- 6: correctness

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})
        log(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")

    def verify_api_database(self) -> None:
        api_runs = [m for m in self.measurements if m.tool == "wrk"]
        post_runs = [m for m in api_runs if m.mode == "post"]
        status_5xx = sum(m.errors["status_5xx"] for m in api_runs)
        self.check(
            "no 5xx", status_5xx == 0, f"{status_5xx} responses 5xx over {sum(m.count for m in api_runs)} requests"
        )
        non_2xx = sum(m.errors["non_2xx_3xx"] for m in api_runs)
        self.check("every API answer 2xx", non_2xx == 0, f"{non_2xx} non-2xx responses (none is expected)")
        socket_errors = sum(
            m.errors[k] for m in api_runs for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        )
        replayed = sum(m.errors["replayed"] for m in api_runs)
        self.check("no replays of fresh keys", replayed == 0, f"{replayed} responses with Idempotent-Replayed")

        duplicates = query_all(
            self.db_url,
            "SELECT merchant_id, key FROM payouts_idempotencyrecord GROUP BY merchant_id, key HAVING count(*) > 1",
        )
        self.check("one idempotency record per (merchant, key)", not duplicates, f"{len(duplicates)} duplicated keys")
        payouts, records_201, distinct_payouts = query_one(
            self.db_url,
            "SELECT (SELECT count(*) FROM payouts_payout), "
            "(SELECT count(*) FROM payouts_idempotencyrecord WHERE response_status = 201), "
            "(SELECT count(DISTINCT payout_id) FROM payouts_idempotencyrecord WHERE response_status = 201)",
        )
        self.check(
            "one payout per remembered 201",
            payouts == records_201 == distinct_payouts,
            f"{payouts} payouts, {records_201} stored 201 responses naming {distinct_payouts} distinct payouts",
        )

        api_ids = [m.id for m in self.api_hot + self.api_many + self.growth_merchant]
        api_payouts = query_one(
            self.db_url, "SELECT count(*) FROM payouts_payout WHERE merchant_id = ANY(%s)", [api_ids]
        )[0]
        seen_201 = sum(m.errors["status_2xx"] for m in post_runs)
        # wrk stops with requests in flight; the server completes them but nobody
        # counts their 201. At most one per open connection (plus any timed out).
        in_flight_at_stop = sum(m.clients for m in post_runs) + socket_errors
        self.check(
            "API payouts == 201 responses",
            0 <= api_payouts - seen_201 <= in_flight_at_stop,
            f"{api_payouts} payouts in the database, {seen_201} 201s counted by wrk; "
            f"{api_payouts - seen_201} completed after wrk stopped (at most {in_flight_at_stop} can be)",
        )
        pg_runs = [m for m in self.measurements if m.tool == "pgbench"]
        pg_ids = [m.id for m in self.pg_hot + self.pg_many]
        pg_payouts = query_one(
            self.db_url, "SELECT count(*) FROM payouts_payout WHERE merchant_id = ANY(%s)", [pg_ids]
        )[0]
        pg_done = sum(m.count for m in pg_runs)
        pg_bad = [m for m in pg_runs if m.errors["exit_status"] or m.errors["failed"]]
        self.check(
            "pgbench ran clean",
            not pg_bad and pg_payouts == pg_done,
            f"{pg_done} transactions reported, {pg_payouts} payouts in the database, {len(pg_bad)} runs with errors",
        )
        self.check_ledger("check_ledger after the API load", self.env)

    def verify_drain_database(self) -> None:
        unfinished = [d for d in self.drains if d["all_terminal_seconds"] is None]
        self.check(
            "every drain reached all-terminal",
            not unfinished,
            f"{len(self.drains) - len(unfinished)}/{len(self.drains)} runs finished within {self.plan.drain_timeout}s",
        )
        self.check_ledger("check_ledger after the drains", self.drain_env)

    def check_ledger(self, name: str, env: dict) -> None:
        result = run([PY, "manage.py", "check_ledger"], env=env, cwd=BACKEND, check=False)
        summary = (result.stdout.splitlines() or [""])[0]
        self.check(name, result.returncode == 0, f"exit {result.returncode}: {summary} {result.stderr.strip()[-500:]}")

    def cleanup(self) -> None:
        self.procs.stop(grace=15)
        # Leave nothing in a shared Redis: the API phases enqueued a task per payout.
        for env in (self.env, self.drain_env):
            run([PY, str(BENCH_DIR / "django_side.py"), "flush-huey"], env=env, check=False)


class Receiver:
    """A webhook receiver in this process (a real HTTP server on 127.0.0.1): answers 204, keeps what came.

    Each delivery is checked per Standard Webhooks after it is recorded: an
    HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" keyed with the
    secret's decoded base64 part, among the `v1,` signatures of the header.
    """

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.secret = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # http.server's name
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.record(arrived, dict(self.headers.items()), body)

            def log_message(self, format, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self.thread.start()

    def record(self, arrived: float, headers: dict, body: bytes) -> None:
        headers = {k.lower(): v for k, v in headers.items()}
        event = json.loads(body)
        self.received.append(
            {
                "received_at": arrived,
                "event_created_at": datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp(),
                "event": event,
                "signed": self.signed(headers, body) and headers.get("webhook-id") == event["id"],
            }
        )

    def signed(self, headers: dict, body: bytes) -> bool:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        content = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
        expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        given = [part.removeprefix("v1,") for part in headers.get("webhook-signature", "").split()]
        return any(hmac.compare_digest(expected, signature) for signature in given)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _created_order(delivery: dict) -> float:
    return delivery["event_created_at"]


def percentile(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return sorted_values[int(rank) - 1]


class Scraper:
    """GET /api/v1/metrics with the bearer token at once and then every `interval` seconds, in a thread."""

    def __init__(self, base_url: str, token: str, interval: float | None) -> None:
        self.address = base_url.removeprefix("http://").rsplit(":", 1)
        self.token = token
        self.interval = interval
        self.case = "scrape-none" if interval is None else f"scrape-{interval:g}s"
        self.count = 0
        self.bad: list[str] = []
        self.durations_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Scraper:
        if self.interval is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        assert self.interval is not None
        while True:
            started = time.monotonic()
            conn = http.client.HTTPConnection(self.address[0], int(self.address[1]), timeout=10)
            try:
                conn.request("GET", "/api/v1/metrics", headers={"Authorization": f"Bearer {self.token}"})
                response = conn.getresponse()
                body = response.read().decode()
                if response.status != 200 or "payouts_created_total" not in body:
                    self.bad.append(f"status {response.status}, {len(body)} bytes")
            except (OSError, http.client.HTTPException) as exc:
                self.bad.append(f"{type(exc).__name__}: {exc}")
            finally:
                conn.close()
            self.count += 1
            self.durations_ms.append((time.monotonic() - started) * 1000)
            if self._stop.wait(max(0.0, self.interval - (time.monotonic() - started))):
                return


def create_payouts_in_parallel(env: dict, count: int) -> float:
    """Create `count` payouts through the services, one process per core; returns the seconds it took."""
    parts = max(1, min(2, os.cpu_count() or 1))
    started = time.monotonic()
    helpers = [
        subprocess.Popen(
            [PY, str(BENCH_DIR / "django_side.py"), "create-payouts", str(count // parts + (part < count % parts)),
             str(part), str(parts)],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for part in range(parts)
    ]  # fmt: skip
    created = 0
    for helper in helpers:
        out, err = helper.communicate(timeout=300)
        if helper.returncode != 0:
            raise RuntimeError(f"create-payouts failed:\n{err}")
        created += json.loads(out)["created"]
    if created != count:
        raise RuntimeError(f"expected {count} payouts, created {created}")
    return time.monotonic() - started


def steady_rate(samples: list[tuple[float, int, int]], count: int) -> float | None:
    """Payouts per second between 10% and 80% terminal: no consumer start-up, no retry tail."""
    t10 = next((t for t, _, in_flight in samples if count - in_flight >= 0.1 * count), None)
    t80 = next((t for t, _, in_flight in samples if count - in_flight >= 0.8 * count), None)
    if t10 is None or t80 is None or t80 <= t10:
        return None
    return 0.7 * count / (t80 - t10)


# --- report ------------------------------------------------------------------------------


def find(bench: Bench, tool: str, case: str, clients: int) -> Measurement | None:
    return next((m for m in bench.measurements if m.tool == tool and m.case == case and m.clients == clients), None)


# Cores used by processes outside the benchmark beyond which a result is flagged.
DISTURBED_CORES = 0.25


def disturbance(*cpus: dict) -> str:
    """A note for results measured while other work ran on the machine, else ""."""
    other = max((cpu.get("other", 0.0) for cpu in cpus), default=0.0)
    return f" (disturbed: other processes used {other:.2f} cores)" if other >= DISTURBED_CORES else ""


def evaluate_targets(bench: Bench) -> list[dict]:
    targets = []
    at = 16 if 16 in bench.plan.clients else bench.plan.clients[-1]
    for case, key in (("hot", "hot_ratio_at_16"), ("many", "many_ratio_at_16")):
        api, pg = find(bench, "wrk", case, at), find(bench, "pgbench", case, at)
        ratio = api.rate / pg.rate if api and pg and pg.rate else None
        targets.append(
            {
                "target": f"{case} @{at}: API >= {TARGETS[key]:.0%} of pgbench",
                "value": f"{ratio:.0%}" + disturbance(api.cpu, pg.cpu) if ratio is not None else "n/a",
                "met": ratio is not None and ratio >= TARGETS[key],
            }
        )
    for case in ("hot", "many"):
        api = find(bench, "wrk", case, at)
        targets.append(
            {
                "target": f"{case} @{at}: API p99 < {TARGETS['p99_ms_at_16']:.0f} ms",
                "value": f"{api.p99_ms:.1f} ms" + disturbance(api.cpu) if api else "n/a",
                "met": api is not None and api.p99_ms < TARGETS["p99_ms_at_16"],
            }
        )
    if len(bench.growth) >= 2:
        first, last = bench.growth[0], bench.growth[-1]
        for label, key in (("POST /payouts", "post_payout_p50_ms"), ("GET /balance", "get_balance_p50_ms")):
            ratio = last[key] / first[key] if first[key] else None
            targets.append(
                {
                    "target": f"{label} p50 at {last['loaded_entries']:,} entries "
                    f"<= {TARGETS['growth_p50_ratio']}x at 0",
                    "value": f"{ratio:.2f}x ({first[key]:.1f} -> {last[key]:.1f} ms)"
                    + disturbance(*(g["cpu"] for g in bench.growth))
                    if ratio
                    else "n/a",
                    "met": ratio is not None and ratio <= TARGETS["growth_p50_ratio"],
                }
            )
    for d in bench.drains:
        if d["outcome"] == "success":
            targets.append(
                {
                    "target": f"drain (success) x{d['consumers']}: "
                    f">= {TARGETS['drain_per_consumer_success']:.0f}/s per consumer",
                    "value": f"{d['rate_per_consumer']}/s" + disturbance(d["cpu"])
                    if d["rate_per_consumer"]
                    else "unfinished",
                    "met": bool(d["rate_per_consumer"])
                    and d["rate_per_consumer"] >= TARGETS["drain_per_consumer_success"],
                }
            )
    return targets


def _num(value, fmt: str) -> str:
    """`value` formatted as `fmt` (">11.1f"), or a dash as wide when there is none."""
    return format(value, fmt) if value is not None else "-".rjust(int(re.match(r">(\d+)", fmt).group(1)))


def _cores(cpu: dict, roles: tuple[str, ...]) -> str:
    return "/".join(f"{cpu.get(role, 0):.1f}" for role in roles)


def table(bench: Bench, targets: list[dict]) -> str:
    lines: list[str] = []
    w = lines.append
    title = "Payout engine benchmark" + (" (smoke)" if bench.plan.smoke else "")
    w(
        f"{title} - {bench.started:%Y-%m-%d %H:%M} UTC - {bench.info.get('cores')} cores, "
        f"PostgreSQL {bench.info.get('postgres')}, gunicorn {bench.workers} sync workers, {bench.info.get('commit')}"
    )
    w("")
    w("POST /payouts: the API (wrk) against the same transaction in SQL (pgbench); cores used during each run")
    header = (
        f"{'merchants':<10}{'clients':>8}{'API req/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>8}"
        f"{'SQL tx/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'API/SQL':>8}  {'api/pg/load/other':<19}{'pg/load/other':<14}"
    )
    w(header)
    w("-" * len(header))
    for case in ("hot", "many"):
        for clients in bench.plan.clients:
            api, pg = find(bench, "wrk", case, clients), find(bench, "pgbench", case, clients)
            if not api or not pg:
                continue
            label = "1 (hot)" if case == "hot" else str(bench.plan.many)
            w(
                f"{label:<10}{clients:>8}{api.rate:>10.0f}{api.p50_ms:>8.1f}{api.p99_ms:>8.1f}"
                f"{api.errors['non_2xx_3xx']:>8}{pg.rate:>9.0f}{pg.p50_ms:>8.1f}{pg.p99_ms:>8.1f}"
                f"{api.rate / pg.rate:>8.0%}  {_cores(api.cpu, ('api', 'postgres', 'load', 'other')):<19}"
                f"{_cores(pg.cpu, ('postgres', 'load', 'other')):<14}"
            )
    w("")
    w("Cost growth: p50 as one merchant's ledger grows (wrk -c4; x = against the first row)")
    header = f"{'entries':>10}{'GET /balance ms':>17}{'x':>7}{'POST /payouts ms':>18}{'x':>7}{'other cores':>13}"
    w(header)
    w("-" * len(header))
    for g in bench.growth:
        base = bench.growth[0]
        w(
            f"{g['loaded_entries']:>10,}{g['get_balance_p50_ms']:>17.1f}"
            f"{g['get_balance_p50_ms'] / base['get_balance_p50_ms']:>7.2f}"
            f"{g['post_payout_p50_ms']:>18.1f}{g['post_payout_p50_ms'] / base['post_payout_p50_ms']:>7.2f}"
            f"{g['cpu'].get('other', 0.0):>13.1f}"
        )
    w("")
    w("Worker drain: pending payouts to all terminal, with N run_huey consumers (time includes their start-up)")
    header = (
        f"{'bank':<9}{'consumers':>10}{'payouts':>9}{'all done s':>11}{'per s':>8}{'per s/cons.':>12}"
        f"{'steady/s':>10}  {'worker/pg/other':<17}final statuses"
    )
    w(header)
    w("-" * len(header))
    for d in bench.drains:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(d["statuses"].items()))
        w(
            f"{d['outcome']:<9}{d['consumers']:>10}{d['payouts']:>9}{_num(d['all_terminal_seconds'], '>11.1f')}"
            f"{_num(d['rate'], '>8.0f')}{_num(d['rate_per_consumer'], '>12.0f')}{_num(d['steady_rate'], '>10.0f')}"
            f"  {_cores(d['cpu'], ('worker', 'postgres', 'other')):<17}{statuses}"
        )
    w("  steady/s: between 10% and 80% terminal, without start-up and retry tail")
    w("")
    if bench.webhooks:
        wh = bench.webhooks
        w(
            f"Webhook delivery lag: {wh['payouts']} payouts at {wh['rate']}/s for {wh['seconds']} s, one consumer, "
            f"one endpoint taking {wh['enabled_events']}"
        )
        header = (
            f"{'payout.created':>15}{'received':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'1st/last 10% p50':>18}{'deliv./s':>9}{'bad sig.':>9}  {'worker/pg/other':<17}received"
        )
        w(header)
        w("-" * len(header))
        events = ", ".join(f"{k} {v}" for k, v in sorted(wh["received_by_type"].items()))
        w(
            f"{wh['expected_created']:>15}{wh['received_created']:>10}{_num(wh['p50_ms'], '>9.1f')}"
            f"{_num(wh['p99_ms'], '>9.1f')}{_num(wh['max_ms'], '>9.1f')}"
            f"{_num(wh['first_tenth_p50_ms'], '>9.0f')}/{_num(wh['last_tenth_p50_ms'], '>8.0f')}"
            f"{_num(wh['deliveries_per_second'], '>9.1f')}{wh['bad_signatures']:>9}"
            f"  {_cores(wh['cpu'], ('worker', 'postgres', 'other')):<17}{events}"
        )
        w("  lag: from the event's created_at (in the payout's transaction) to its arrival at the receiver")
    if bench.scrapes:
        w(
            f"Scraping GET /metrics: POST /payouts, many merchants, c=16, "
            f"{bench.plan.scrape_seconds} s runs, interleaved"
        )
        header = f"{'round':<7}{'scraper':<12}{'req/s':>8}{'p99 ms':>9}{'scrapes':>9}{'scrape p50 ms':>15}"
        header += "  cores api/pg/load/other"
        w(header)
        w("-" * len(header))
        for r in bench.scrapes:
            label = "none" if r["interval_seconds"] is None else f"every {r['interval_seconds']:g} s"
            p50 = statistics.median(r["scrape_ms"]) if r["scrape_ms"] else None
            w(
                f"{r['round']:<7}{label:<12}{r['rate']:>8.0f}{r['p99_ms']:>9.1f}{r['scrapes']:>9}{_num(p50, '>15.1f')}"
                f"  {_cores(r['cpu'], ('api', 'postgres', 'load', 'other'))}"
            )
        cost = bench.info.get("scrape_cost")
        if cost:
            for interval in ("5", "1"):
                c = cost[f"every_{interval}s"]
                w(
                    f"  every {interval} s: {c['rate']:.0f}/s against {cost['base_rate']:.0f}/s without: "
                    f"{c['cost_percent']:+.1f}% of throughput" + (" (target < 2%)" if interval == "5" else "")
                )
            w(f"  runs without a scraper differ by {cost['noise_percent']:.1f}% (the noise of this machine)")
        w("")
    w("Correctness")
    for c in bench.checks:
        w(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['check']}: {c['detail']}")
    w("")
    w("Targets")
    for t in targets:
        w(f"  {'met   ' if t['met'] else 'MISSED'}  {t['target']}: {t['value']}")
    return "\n".join(lines)


def chart(bench: Bench, path: Path) -> None:
    """Throughput, p99 and the API's share of the ceiling, each against concurrent clients."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = bench.plan.clients
    fig, (rate, p99, share) = plt.subplots(1, 3, figsize=(16, 4.8))
    series = (
        ("wrk", "hot", "API, hot merchant", "tab:blue", "-"),
        ("wrk", "many", f"API, {bench.plan.many} merchants", "tab:orange", "-"),
        ("pgbench", "hot", "pgbench, hot merchant", "tab:blue", "--"),
        ("pgbench", "many", f"pgbench, {bench.plan.many} merchants", "tab:orange", "--"),
    )
    for tool, case, label, color, style in series:
        points = {c: p for c in clients if (p := find(bench, tool, case, c))}
        rate.plot(list(points), [p.rate for p in points.values()], style, marker="o", color=color, label=label)
        p99.plot(list(points), [p.p99_ms for p in points.values()], style, marker="o", color=color, label=label)
    for case, color, target in (("hot", "tab:blue", "hot_ratio_at_16"), ("many", "tab:orange", "many_ratio_at_16")):
        pairs = {c: (find(bench, "wrk", case, c), find(bench, "pgbench", case, c)) for c in clients}
        ratios = {c: api.rate / sql.rate * 100 for c, (api, sql) in pairs.items() if api and sql and sql.rate}
        label = "hot merchant" if case == "hot" else f"{bench.plan.many} merchants"
        share.plot(list(ratios), list(ratios.values()), "-", marker="o", color=color, label=label)
        share.axhline(TARGETS[target] * 100, color=color, linewidth=0.8, linestyle=":")
    for axis, title, ylabel in (
        (rate, "POST /payouts throughput", "payouts created per second"),
        (p99, "POST /payouts p99 latency (target dotted)", "p99 latency (ms)"),
        (share, "API as % of pgbench (targets dotted)", "% of the SQL ceiling"),
    ):
        axis.set_xscale("log", base=2)
        axis.set_xticks(clients, [str(c) for c in clients])
        axis.set_xlabel("concurrent clients")
        axis.set_ylabel(ylabel)
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    rate.set_ylim(bottom=0)
    share.set_ylim(bottom=0)
    p99.set_yscale("log")
    p99.axhline(TARGETS["p99_ms_at_16"], color="grey", linewidth=0.8, linestyle=":")
    rate.legend(fontsize=8)
    share.legend(fontsize=8)
    fig.suptitle(
        f"Payout engine, {bench.info.get('cores')} cores, {bench.workers} gunicorn workers, "
        f"{bench.info.get('commit', '')}, {bench.started:%Y-%m-%d %H:%M} UTC"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a short run (under a minute) for CI")
    args = parser.parse_args()
    smoke = args.smoke or os.environ.get("BENCH_SMOKE", "").lower() in {"1", "true", "yes"}
    bench = Bench(SMOKE if smoke else FULL)
    failure = None

    def interrupted(signum, frame):
        raise KeyboardInterrupt  # so that the processes started so far are stopped on the way out

    signal.signal(signal.SIGTERM, interrupted)
    try:
        bench.setup()
        bench.start_api()
        bench.ceiling()
        bench.scrape_cost()
        bench.cost_growth()
        bench.procs.stop(bench.api, grace=15)
        bench.verify_api_database()
        bench.drain()
        bench.verify_drain_database()
        bench.webhook_lag()
        bench.verify_webhooks()
    except Exception as exc:  # still report what was measured
        failure = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        log(f"ERROR {failure}")
        bench.check("benchmark ran to the end", False, failure)
    finally:
        bench.cleanup()

    targets = evaluate_targets(bench)
    RESULTS.mkdir(exist_ok=True)
    report = {
        "started_at": bench.started.isoformat(),
        "smoke": bench.plan.smoke,
        "plan": asdict(bench.plan),
        "info": bench.info,
        "measurements": [asdict(m) for m in bench.measurements],
        "growth": bench.growth,
        "drain": bench.drains,
        "webhooks": bench.webhooks,
        "scrape_cost": bench.scrapes,
        "checks": bench.checks,
        "targets": targets,
        "targets_definition": TARGETS,
    }
    json_path = RESULTS / f"{bench.stamp}.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    png_path = RESULTS / f"{bench.stamp}.png"
    if any(m.case in ("hot", "many") for m in bench.measurements):
        chart(bench, png_path)
    print(table(bench, targets))
    print(
        f"\nwrote {json_path.relative_to(REPO)}" + (f" and {png_path.relative_to(REPO)}" if png_path.exists() else "")
    )
    print(f"logs in {bench.log_dir.relative_to(REPO)}")
    ok = failure is None and all(c["ok"] for c in bench.checks)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
