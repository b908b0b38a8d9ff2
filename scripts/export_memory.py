#!/usr/bin/env python
"""The CSV export's memory, measured: one merchant's long ledger exported through gunicorn.

    DATABASE_URL=postgres://… .venv/bin/python scripts/export_memory.py [--rows 1000000]

Makes a scratch database beside DATABASE_URL's (embedded servers when it is
unset), loads ``--rows`` ledger entries for one merchant in SQL (one
statement, as bench/bench.py loads a long ledger), starts gunicorn with one
sync worker, and downloads GET /api/v1/ledger/export.csv. It reads the
worker's VmRSS while the file streams and its VmHWM (peak resident set)
before and after, from /proc (Linux), checks that every row arrived, and
prints the numbers as JSON. Too slow for `make test`: the test suite exports
10 000 rows in process (api/tests/test_api_filters_exports.py).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def _worker_of(master: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def _get(port: int, path: str, api_key: str, on_chunk=None) -> tuple[int, int, int]:
    """GET path; (status, bytes, lines), reading the body 64 kB at a time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {api_key}", "Accept": "text/csv"})
        response = conn.getresponse()
        size = lines = 0
        while chunk := response.read(65536):
            size += len(chunk)
            lines += chunk.count(b"\n")
            if on_chunk is not None:
                on_chunk()
        return response.status, size, lines
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("needs Linux /proc to read a process's memory", file=sys.stderr)
        return 2

    env = stack.embedded_env(dict(os.environ))
    tag = uuid.uuid4().hex[:8]
    with (
        stack.scratch_database(env["DATABASE_URL"], f"exportmem{tag}") as db_url,
        tempfile.TemporaryDirectory() as logs,
    ):
        run_env = {
            **env,
            "DATABASE_URL": db_url,
            "DEBUG": "false",
            "DEMO_MODE": "false",
            "SECRET_KEY": f"export-memory-{tag}-not-secret",
            "BANK_ACCOUNT_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "READ_RATE_LIMIT": "off",
            "HUEY_NAME": f"export-memory-{tag}",
            "LOG_LEVEL": "WARNING",
        }
        stack.migrate(run_env)
        created = stack.manage(run_env, "create_merchant", "--name", "Export Memory", "--credit-paise", "100")
        if created.returncode != 0:
            raise RuntimeError(created.stdout + created.stderr)
        merchant = json.loads(created.stdout.strip().splitlines()[-1])
        started = time.monotonic()
        with closing(psycopg2.connect(db_url)) as conn, conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, created_at) "
                "SELECT %s, 'payment', 100, 'load ' || n, now() FROM generate_series(1, %s) AS n",
                [merchant["id"], args.rows],
            )
        with closing(psycopg2.connect(db_url)) as conn:
            conn.autocommit = True
            conn.cursor().execute("VACUUM ANALYZE ledger_ledgerentry")
        loaded_seconds = time.monotonic() - started

        port = stack.free_port()
        with stack.Processes(Path(logs), run_env) as processes:
            master = processes.gunicorn(port, workers=1, args=["--timeout", "900"])
            stack.wait_until_serving(port, process=master, log=Path(logs, "gunicorn.log"))
            worker = _worker_of(master.pid)
            # Warm the worker: imports, the connection, a small export.
            _get(port, "/api/v1/ledger?limit=1", merchant["api_key"])
            _get(port, "/api/v1/ledger/export.csv?kind=reversal", merchant["api_key"])
            before = _status(worker)
            peak_rss = before["VmRSS"]

            def sample() -> None:
                nonlocal peak_rss
                peak_rss = max(peak_rss, _status(worker)["VmRSS"])

            started = time.monotonic()
            status, size, lines = _get(port, "/api/v1/ledger/export.csv", merchant["api_key"], on_chunk=sample)
            seconds = time.monotonic() - started
            after = _status(worker)

    expected_lines = 1 + args.rows + 1  # the header, the loaded rows, the merchant's first credit
    result = {
        "rows_loaded": args.rows,
        "load_seconds": round(loaded_seconds, 1),
        "status": status,
        "csv_lines": lines,
        "csv_bytes": size,
        "export_seconds": round(seconds, 1),
        "rows_per_second": round(args.rows / seconds),
        "worker_rss_before_kb": before["VmRSS"],
        "worker_rss_peak_during_kb": peak_rss,
        "worker_hwm_before_kb": before["VmHWM"],
        "worker_hwm_after_kb": after["VmHWM"],
        "worker_hwm_growth_kb": after["VmHWM"] - before["VmHWM"],
    }
    print(json.dumps(result, indent=2))
    if status != 200 or lines != expected_lines:
        print(f"FAIL: expected 200 and {expected_lines} lines", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
