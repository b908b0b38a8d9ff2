"""Configuration is checked when a process starts: a bad value stops it, naming the variable.

Each case runs ``manage.py check`` in a fresh process with one variable set, as an
operator's deploy would, and reads its exit status and stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[1]


def manage_check(name: str, value: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BACKEND / "manage.py"), "check"],
        env={**os.environ, name: value},
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


BAD = [
    ("PAYOUT_RATE_LIMIT", "100/0s"),  # a zero-length window: every POST /payouts was a 500
    ("PAYOUT_RATE_LIMIT", "abc"),
    ("PAYOUT_RATE_LIMIT", "0/s"),  # zero requests allowed: "off" says that clearly
    ("PAYOUT_RATE_LIMIT", "-1/s"),
    ("PAYOUT_RATE_LIMIT", "100"),
    ("PAYOUT_RATE_LIMIT", "1.5/s"),
    ("PAYOUT_RATE_LIMIT", "100/fortnight"),
    ("READ_RATE_LIMIT", "0/m"),
    ("READ_RATE_LIMIT", "plenty"),
    ("AUTH_FAILURE_RATE_LIMIT", "20/0m"),
    ("AUTH_FAILURE_RATE_LIMIT", "-5/m"),
    ("TRUSTED_PROXIES", "-1"),
    ("TRUSTED_PROXIES", "one"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_a_bad_value_stops_the_process_at_start_naming_the_variable(name, value):
    result = manage_check(name, value)

    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr
    assert repr(value) in result.stderr


GOOD = [
    ("PAYOUT_RATE_LIMIT", "100/s"),
    ("PAYOUT_RATE_LIMIT", "5/10s"),
    ("PAYOUT_RATE_LIMIT", "off"),
    ("PAYOUT_RATE_LIMIT", "1000 / min"),
    ("READ_RATE_LIMIT", "OFF"),
    ("AUTH_FAILURE_RATE_LIMIT", "20/m"),
    ("TRUSTED_PROXIES", "2"),
]


@pytest.mark.parametrize(("name", "value"), GOOD, ids=[f"{n}={v}" for n, v in GOOD])
def test_a_good_value_starts(name, value):
    result = manage_check(name, value)

    assert result.returncode == 0, result.stderr


def test_a_short_internal_token_stops_the_process_without_printing_it():
    short = "tooshort-internal-token-31-chars"[:31]

    result = manage_check("INTERNAL_API_TOKEN", short)
    long_enough = manage_check("INTERNAL_API_TOKEN", short + "x")

    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert "INTERNAL_API_TOKEN must be at least 32 characters" in result.stderr
    assert short not in result.stderr  # a secret, even a bad one, stays out of the logs
    assert long_enough.returncode == 0, long_enough.stderr


# --- the key that encrypts bank account numbers ----------------------------------------------

FERNET_KEY = "Hm4Vb0cD5m7c2vE3G0Xzq1l9kTQ8R6bYyW2pNf4uJsA="


def _started(command: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "BANK_ACCOUNT_ENCRYPTION_KEY"}
    return subprocess.run(
        command,
        env={**clean, "SECRET_KEY": "a-test-secret-key-that-is-long-enough-0123456789", **env},
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("value", ["not-a-key", "c2hvcnQ=", f"{FERNET_KEY},tooshort"])
def test_a_bad_encryption_key_stops_the_process_naming_the_variable_but_not_the_value(value):
    result = manage_check("BANK_ACCOUNT_ENCRYPTION_KEY", value)

    assert result.returncode != 0, result.stdout
    assert "BANK_ACCOUNT_ENCRYPTION_KEY must be one or more Fernet keys" in result.stderr
    assert value not in result.stderr  # a key, even a broken one, is never printed


def test_the_api_refuses_to_start_with_debug_off_and_no_encryption_key_and_starts_with_one():
    load = [sys.executable, "-c", "import config.wsgi"]

    refused = _started(load, DEBUG="false")
    started = _started(load, DEBUG="false", BANK_ACCOUNT_ENCRYPTION_KEY=FERNET_KEY)
    debug = _started(load, DEBUG="true")

    assert refused.returncode != 0
    assert "BANK_ACCOUNT_ENCRYPTION_KEY must be set when DEBUG is off" in refused.stderr
    assert started.returncode == 0, started.stderr
    assert debug.returncode == 0, debug.stderr  # DEBUG: the key generated under .data/ is used


def test_the_worker_refuses_to_start_with_debug_off_and_no_encryption_key():
    refused = _started([sys.executable, "manage.py", "run_huey", "--help"], DEBUG="false")

    assert refused.returncode != 0
    assert "BANK_ACCOUNT_ENCRYPTION_KEY must be set when DEBUG is off" in refused.stderr
