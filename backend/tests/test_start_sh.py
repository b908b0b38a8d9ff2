"""backend/start.sh for real: migrate, seed, serve API and dashboard, pay out, stop.

The script runs as the container would run it (no Docker): against a scratch
database created on the test PostgreSQL server, the test Redis, a free port
and a queue of its own. It must stop the container when either process dies,
and stop both cleanly on SIGTERM.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from conftest import _OWNER
from stack import app_role_name, free_port, postgres_url, scratch_database, scratch_queue

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc"),
]

START_SH = Path(__file__).resolve().parents[1] / "start.sh"
HEALTHCHECK = START_SH.parent / "healthcheck.py"
GRACE_SECONDS = 4
INDEX_HTML = "<!doctype html><title>dashboard under test</title>"


# --- the scratch database and the process --------------------------------------------


@pytest.fixture(scope="module")
def database_urls(django_db_setup):
    """A scratch database: (owner URL, application role URL), as an operator configures them."""
    db = settings.DATABASES["default"]
    server = {"host": db["HOST"], "port": db["PORT"]}
    name = f"start_sh_{uuid.uuid4().hex[:12]}"
    owner = postgres_url(user=_OWNER["USER"], password=_OWNER["PASSWORD"], database="postgres", **server)
    with scratch_database(owner, name) as owner_url:  # dropped at the end with its role <name>_app
        app_url = postgres_url(user=app_role_name(name), password=secrets.token_hex(16), database=name, **server)
        yield owner_url, app_url


@pytest.fixture(scope="module")
def huey_name():
    with scratch_queue(settings.REDIS_URL, "startsh") as name:
        yield name


@pytest.fixture
def frontend_dist(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX_HTML)
    (dist / "assets" / "app-Ab12Cd34.js").write_text("console.log('dashboard');\n")
    return dist


@pytest.fixture
def start(database_urls, huey_name, frontend_dist, tmp_path):
    started: list[Running] = []

    def start(**extra_env: str) -> Running:
        env = {key: value for key, value in os.environ.items() if key not in {"LOG_FORMAT", "START_ROLE", "PORT"}}
        env.update(
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            DATABASE_OWNER_URL=database_urls[0],
            DATABASE_URL=database_urls[1],
            REDIS_URL=settings.REDIS_URL,
            API_PORT=str(free_port()),
            SECRET_KEY=secrets.token_urlsafe(50),
            BANK_ACCOUNT_ENCRYPTION_KEY=",".join(settings.BANK_ACCOUNT_ENCRYPTION_KEYS),
            DEBUG="false",
            DEMO_MODE="true",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            BANK_SIMULATOR_OUTCOME="success",
            HUEY_NAME=huey_name,
            HUEY_WORKERS="4",  # the sweep task holds a thread for up to a minute
            WEB_CONCURRENCY="2",
            GRACEFUL_TIMEOUT=str(GRACE_SECONDS),
            FRONTEND_DIST=str(frontend_dist),
            # Its own metrics directory: start.sh empties the one it is given.
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        )
        env.update(extra_env)
        log_path = tmp_path / f"start-{len(started) + 1}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(START_SH)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        running = Running(process, env, log_path)
        started.append(running)
        running.wait_until_healthy()
        return running

    yield start
    for running in started:  # whatever a failed test left behind
        running.kill_everything()


class Running:
    def __init__(self, process: subprocess.Popen, env: dict[str, str], log_path: Path) -> None:
        self.process, self.env, self.log_path = process, env, log_path
        self.port = int(env["API_PORT"])
        self.seen: set[int] = set()

    def request(self, method: str, path: str, *, key: str | None = None, body=None, headers=None):
        all_headers = dict(headers or {})
        if key:
            all_headers["Authorization"] = f"Bearer {key}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        with contextlib.closing(http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)) as connection:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    def api(self, method: str, path: str, **kwargs):
        status, headers, body = self.request(method, f"/api/v1{path}", **kwargs)
        return status, headers, json.loads(body)

    def wait_until_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"start.sh exited with {self.process.returncode}\n{self.log()}"
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.request("GET", "/api/v1/health")[0] == 200:
                    self.seen |= self.descendants()
                    return
            time.sleep(0.3)
        pytest.fail(f"/api/v1/health did not answer 200 within {timeout}s\n{self.log()}")

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline, f"{text!r} not logged within {timeout}s\n{self.log()}"
            time.sleep(0.2)

    def descendants(self) -> set[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry.name))
        found, todo = set(), [self.process.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.add(child)
                todo.append(child)
        return found

    def child_running(self, command: str) -> int:
        for pid in self.descendants():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if command.encode() in cmdline and _ppid(pid) == self.process.pid:
                    return pid
        raise AssertionError(f"no {command} child of start.sh\n{self.log()}")

    def alive(self, pids: set[int]) -> set[int]:
        alive = set()
        for pid in pids:
            with contextlib.suppress(OSError):
                # A zombie has finished; it only waits for its parent (pytest, here) to reap it.
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
        return alive

    def healthcheck(self) -> int:
        """The image's HEALTHCHECK command, run with the container's environment."""
        return subprocess.run([sys.executable, str(HEALTHCHECK)], env=self.env, capture_output=True).returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def log_entries(self) -> list[dict]:
        lines = [line for line in self.log_path.read_text().splitlines() if line.strip()]
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON log line: {line!r}\n{self.log()}")
        return entries

    def kill_everything(self) -> None:
        for pid in self.alive(self.seen | self.descendants() | {self.process.pid}):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_for_exit(process: subprocess.Popen, timeout: float, log) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"start.sh still running {timeout}s later\n{log()}")


# --- the tests -----------------------------------------------------------------------


def test_serves_api_and_dashboard_pays_out_and_exits_when_the_worker_dies(start):
    running = start()

    status, headers, body = running.api("GET", "/health", headers={"X-Request-ID": "probe-1"})
    assert (status, body | {"worker": "?"}) == (200, {"database": "ok", "redis": "ok", "worker": "?"})
    assert body["worker"] in ("ok", "stale")  # stale until the worker's first sweep
    assert headers["x-request-id"] == "probe-1"
    status, headers, _ = running.api("GET", "/health", headers={"X-Request-ID": "<script>bad id</script>"})
    assert status == 200
    assert headers["x-request-id"] != "<script>bad id</script>" and len(headers["x-request-id"]) == 32

    assert running.healthcheck() == 0, running.log()

    # The dashboard from the same origin; the API keeps its paths.
    status, headers, body = running.request("GET", "/")
    assert (status, body.decode()) == (200, INDEX_HTML)
    assert headers["content-type"].startswith("text/html")
    assert headers["x-frame-options"] == "DENY"
    status, headers, _ = running.request("GET", "/assets/app-Ab12Cd34.js")
    assert status == 200 and "immutable" in headers["cache-control"]

    # A payout, created over HTTP, reaches completed through the worker.
    status, _, merchants = running.api("GET", "/demo/merchants")
    assert status == 200 and len(merchants) == 3, merchants
    key = merchants[0]["api_key"]
    status, _, accounts = running.api("GET", "/bank-accounts", key=key)
    assert status == 200 and accounts, accounts
    request_id = f"start-sh-{uuid.uuid4().hex}"
    status, headers, payout = running.api(
        "POST",
        "/payouts",
        key=key,
        body={"amount_paise": 100, "bank_account_id": accounts[0]["id"]},
        headers={"Idempotency-Key": str(uuid.uuid4()), "X-Request-ID": request_id},
    )
    assert status == 201, payout
    assert headers["x-request-id"] == request_id
    deadline = time.monotonic() + 30
    while payout["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.3)
        _, _, payout = running.api("GET", f"/payouts/{payout['id']}", key=key)
    assert payout["status"] == "completed", f"{payout}\n{running.log()}"

    # Killing the worker stops the container, with a failure status, promptly.
    everything = running.descendants()
    worker = running.child_running("run_huey")
    os.kill(worker, signal.SIGKILL)
    code = wait_for_exit(running.process, 5, running.log)
    assert code != 0, running.log()
    assert not running.alive(everything), f"left running: {running.alive(everything)}\n{running.log()}"

    # Every line is JSON; the access line of the payout request carries its id.
    entries = running.log_entries()
    assert all({"time", "level", "logger", "message", "request_id"} <= entry.keys() for entry in entries)
    access = [e for e in entries if e["logger"] == "gunicorn.access" and e.get("path") == "/api/v1/payouts"]
    assert [(e["request_id"], e["status"]) for e in access] == [(request_id, 201)], access


def test_sigterm_stops_both_processes_cleanly(start):
    # A second start on the same database (migrations and demo data already there),
    # with the production redirect to HTTPS on and a public host name first.
    running = start(SECURE_SSL_REDIRECT="true", ALLOWED_HOSTS="payouts.example.com,127.0.0.1")
    assert running.healthcheck() == 0, running.log()  # plain HTTP to /health is exempt from the redirect
    status, headers, _ = running.request("GET", "/api/v1/demo/merchants")
    assert status == 301 and headers["location"].startswith("https://"), (status, headers)
    status, headers, merchants = running.api("GET", "/demo/merchants", headers={"X-Forwarded-Proto": "https"})
    assert status == 200 and len(merchants) == 3, merchants
    assert headers["strict-transport-security"].startswith("max-age=")
    running.wait_for_log("Huey consumer started")
    running.child_running("run_huey")
    everything = running.descendants()
    assert len(everything) >= 4, everything  # gunicorn, its 2 workers, run_huey

    running.process.send_signal(signal.SIGTERM)
    code = wait_for_exit(running.process, GRACE_SECONDS + 10, running.log)

    assert code == 0, running.log()
    assert not running.alive(everything), f"left running: {running.alive(everything)}\n{running.log()}"
    messages = [entry["message"] for entry in running.log_entries() if entry["logger"] == "start.sh"]
    assert "api stopped with status 0" in messages and "worker stopped with status 0" in messages, messages
    assert running.healthcheck() == 1
