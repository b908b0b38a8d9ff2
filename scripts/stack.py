"""A scratch stack of the payout engine: database, API, consumers, and a clean stop.

Used by `make chaos` (scripts/chaos.py), scripts/drain.py, scripts/e2e.sh, the
benchmark (bench/bench.py) and the tests that start the stack for real
(`import stack`: scripts/ is on pytest's pythonpath; bench.py adds it to
sys.path). It imports nothing of Django, only psycopg2 (and redis, in
scratch_queue) beyond the standard library, and runs the engine's processes
with this interpreter's virtualenv.

* free_port(): a free loopback port.
* scratch_database(server_url, name): creates the database as the server
  URL's role (its owner), yields its URL, and drops it WITH (FORCE) at the
  end, with the application role `<name>_app` that `manage.py app_role`
  makes for it. create_database() / drop_database() do either half.
* scratch_queue(redis_url, prefix): a Huey queue name of its own, its keys
  deleted from Redis at the end.
* migrate(env) and app_role(env): run as the owner; app_role returns the
  variables (DATABASE_OWNER_URL, DATABASE_URL) that make the engine's
  processes connect as the application role, as in production.
* Processes(log_dir, env): starts gunicorn and `run_huey` consumers (or any
  command) in process groups of their own, each logging to
  <log_dir>/<name>.log; stop() sends SIGTERM to the group and SIGKILL after
  a grace.
* wait_until_serving(port): until GET /api/v1/health answers 200.

From a shell script (DATABASE_URL names the server and its owner):

    stack.py free-port [N]              N free loopback ports, one a line
    stack.py db create SUFFIX           a fresh database <name>_<SUFFIX> beside
                                        DATABASE_URL's; prints its URL
    stack.py db drop SUFFIX             drops it and its application role
    stack.py serve --port P [--workers W] [--consumers C] --logs DIR
                                        gunicorn and C consumers with this
                                        environment, until SIGTERM or SIGINT
                                        (then stopped cleanly); exits 1 as soon
                                        as one of them dies
    stack.py wait URL... [--timeout S]  until every URL answers 200
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

REPO = Path(__file__).resolve().parent.parent
BACKEND = REPO / "backend"
BIN = Path(sys.executable).parent
PY = sys.executable
GUNICORN = str(BIN / "gunicorn")
STOP_GRACE_SECONDS = 10.0


def free_port() -> int:
    """A loopback port that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the database --------------------------------------------------------------------------


def postgres_url(
    *, user: str | None, password: str | None, host: str | None, port: str | int | None, database: str
) -> str:
    """A URL from Django-style settings; host may be a Unix socket directory."""
    auth = quote(user or "", safe="") + (f":{quote(password, safe='')}" if password else "")
    location = quote(host or "", safe="") + (f":{port}" if port else "")
    return f"postgres://{auth}@{location}/{quote(database, safe='')}"


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the same server, as the same role."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def app_role_name(database: str) -> str:
    """The role `manage.py app_role` makes for a database when not told which."""
    return f"{database}_app"[:63]


def _admin(server_url: str, *statements: sql.Composable) -> None:
    with contextlib.closing(psycopg2.connect(database_url(server_url, "postgres"))) as admin:
        admin.autocommit = True
        with admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def create_database(server_url: str, name: str) -> str:
    """A fresh, empty database `name` (dropped first if it exists), owned by the server URL's role; its URL."""
    database = sql.Identifier(name)
    _admin(
        server_url,
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database),
        sql.SQL("CREATE DATABASE {}").format(database),
    )
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name`, whoever is connected, and the application role made for it."""
    _admin(
        server_url,
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(app_role_name(name))),
    )


@contextlib.contextmanager
def scratch_database(server_url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database for the block; yields the owner's URL. Dropped at the end unless `keep`."""
    url = create_database(server_url, name)
    try:
        yield url
    finally:
        if not keep:
            drop_database(server_url, name)


@contextlib.contextmanager
def scratch_queue(redis_url: str, prefix: str) -> Iterator[str]:
    """A Huey queue name of its own (HUEY_NAME) for the block; its keys are deleted from Redis at the end."""
    import redis  # only the callers that use a shared Redis need it

    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        connection = redis.Redis.from_url(redis_url)
        keys = list(connection.scan_iter(match=f"*{name}*"))
        if keys:
            connection.delete(*keys)


def parse_exports(text: str) -> dict[str, str]:
    """`export NAME=value` lines (shell-quoted values), as embedded.py and app_role --env print them."""
    found = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0] if value else ""
    return found


def embedded_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with DATABASE_URL and REDIS_URL of the embedded servers for whichever of them it lacks."""
    out = subprocess.run(
        [PY, str(BACKEND / "config" / "embedded.py"), "env"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return {**env, **parse_exports(out)}


def manage(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`manage.py ARGS` with `env`; its output captured as text; the caller checks the exit status."""
    return subprocess.run(
        [PY, "manage.py", *args],
        cwd=BACKEND,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _checked(result: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        raise RuntimeError(f"{what} exited {result.returncode}: {(result.stdout + result.stderr)[-800:]}")
    return result


def migrate(env: Mapping[str, str], timeout: float = 180) -> None:
    """Migrate the database of env's DATABASE_URL (its owner)."""
    _checked(manage(env, "migrate", "--noinput", "-v0", timeout=timeout), "migrate")


def app_role(env: Mapping[str, str]) -> dict[str, str]:
    """Make the application role, as the owner; the variables that make a process use it.

    Returns DATABASE_OWNER_URL (the owner's URL) and DATABASE_URL (the role's).
    """
    return parse_exports(_checked(manage(env, "app_role", "--env"), "app_role").stdout)


# --- processes -----------------------------------------------------------------------------


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process group a child leads (gunicorn's workers with their master), if it still runs."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)


def stop(processes: Sequence[subprocess.Popen], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to each group at once; SIGKILL to those still running `grace` seconds later."""
    for process in processes:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        kill(process)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the group; waits (bounded) until the child has exited."""
    signal_group(process, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


class Processes:
    """The long-running children of one run, each in a process group of its own.

    Every child gets `env` as it is when the child starts (with the call's
    extra variables over it) and appends its output to <log_dir>/<name>.log.
    """

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.env = dict(os.environ) if env is None else env  # not copied: later changes count
        self.running: list[subprocess.Popen] = []

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path = BACKEND
    ) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as out:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append(process)
        return process

    def gunicorn(
        self,
        port: int,
        *,
        workers: int,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        name: str = "gunicorn",
    ) -> subprocess.Popen:
        """`gunicorn config.wsgi` with sync workers on 127.0.0.1:port; `args` are more of gunicorn's options."""
        argv = [GUNICORN, "config.wsgi", "--chdir", str(BACKEND), "--bind", f"127.0.0.1:{port}"]
        argv += ["--workers", str(workers), "--worker-class", "sync", *args]
        return self.start(name, argv, env=env)

    def consumer(self, name: str = "huey", *, env: Mapping[str, str] | None = None) -> subprocess.Popen:
        """One `manage.py run_huey` consumer."""
        return self.start(name, [PY, "manage.py", "run_huey"], env=env)

    def stop(self, *processes: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop these children (all of them when none is named): SIGTERM, then SIGKILL after `grace`."""
        chosen = list(processes) if processes else list(self.running)
        stop(chosen, grace)
        self.running = [p for p in self.running if p not in chosen]

    def kill(self, process: subprocess.Popen) -> None:
        kill(process)
        self.running = [p for p in self.running if p is not process]

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --- serving -------------------------------------------------------------------------------


def http_status(
    port: int, path: str, *, method: str = "GET", timeout: float = 2, host: str = "127.0.0.1"
) -> int | None:
    """The status of one request to host:port, or None when the transport failed."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_until_serving(
    port: int,
    *,
    path: str = "/api/v1/health",
    timeout: float = 60,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    """Until GET path answers 200; RuntimeError after `timeout` or as soon as `process` has exited."""
    deadline = time.monotonic() + timeout
    while http_status(port, path) != 200:
        problem = None
        if process is not None and process.poll() is not None:
            problem = f"the process exited with status {process.returncode}"
        elif time.monotonic() > deadline:
            problem = f"no 200 within {timeout:.0f}s"
        if problem:
            raise RuntimeError(f"GET {path} on port {port}: {problem}" + (f"; see {log}" if log else ""))
        time.sleep(0.2)


def wait_for_urls(urls: Sequence[str], timeout: float) -> bool:
    """Until GET of every http:// URL answers 200; False (and says which) after `timeout`."""
    deadline = time.monotonic() + timeout
    for url in urls:
        parts = urlsplit(url)
        while http_status(parts.port or 80, parts.path or "/", host=parts.hostname or "127.0.0.1") != 200:
            if time.monotonic() > deadline:
                print(f"stack.py: {url} did not answer 200 within {timeout:.0f}s", file=sys.stderr)
                return False
            time.sleep(0.2)
    return True


# --- the command line ----------------------------------------------------------------------


def serve(port: int, workers: int, consumers: int, logs: Path) -> int:
    """gunicorn and the consumers with this environment until SIGTERM or SIGINT."""

    def stopped(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    with Processes(logs) as processes:
        children = [processes.gunicorn(port, workers=workers, name="api")]
        children += [processes.consumer("worker" if n == 0 else f"worker-{n + 1}") for n in range(consumers)]
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        print(f"stack.py serve: a process exited; logs in {logs}", file=sys.stderr)
        return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stack.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ports = commands.add_parser("free-port", help="free loopback ports, one a line")
    ports.add_argument("count", nargs="?", type=int, default=1)
    db = commands.add_parser("db", help="create or drop <DATABASE_URL's database>_<SUFFIX>")
    db.add_argument("action", choices=["create", "drop"])
    db.add_argument("suffix")
    serving = commands.add_parser("serve", help="gunicorn and consumers until SIGTERM")
    serving.add_argument("--port", type=int, required=True)
    serving.add_argument("--workers", type=int, default=2)
    serving.add_argument("--consumers", type=int, default=1)
    serving.add_argument("--logs", type=Path, required=True)
    waiting = commands.add_parser("wait", help="until every URL answers 200")
    waiting.add_argument("urls", nargs="+")
    waiting.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)

    if args.command == "free-port":
        # Held open until all are chosen, so that N ports are N different ones.
        probes = []
        for _ in range(args.count):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            probes.append(probe)
        for probe in probes:
            print(probe.getsockname()[1])
            probe.close()
        return 0
    if args.command == "db":
        server_url = os.environ["DATABASE_URL"]
        name = f"{database_name(server_url)}_{args.suffix}"
        if args.action == "create":
            print(create_database(server_url, name))
        else:
            drop_database(server_url, name)
        return 0
    if args.command == "serve":
        return serve(args.port, args.workers, args.consumers, args.logs)
    return 0 if wait_for_urls(args.urls, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
