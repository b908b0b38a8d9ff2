"""Rate limits, counted in Redis and shared by every API process.

Three policies, each a fixed window (``config.rates``):

- ``payouts``: ``POST /payouts`` per API key (``PAYOUT_RATE_LIMIT``, 100/s);
- ``reads``: every authenticated ``GET`` per API key (``READ_RATE_LIMIT``, 1000/m);
- ``auth``: wrong API keys per client address (``AUTH_FAILURE_RATE_LIMIT``, 20/m).
  Once an address has used its budget, every request from it that carries a
  key is refused until the window ends, the right key included, so guessing
  keys gains nothing from speed and a right guess is not told apart.

Beyond a limit: 429 ``rate_limited`` with ``Retry-After``. Every response a
policy counted also says the policy and what is left, in the ``RateLimit-Policy``
and ``RateLimit`` fields of draft-ietf-httpapi-ratelimit-headers-10 (September
2025): ``RateLimit-Policy: "payouts";q=100;w=1`` and ``RateLimit: "payouts";r=97;t=1``.

If Redis is unreachable nothing is enforced (fail open): taking payouts matters
more than counting them, and the merchant lock still serialises each merchant.
After a failure the limiters leave Redis alone for a few seconds, so an outage
costs one request its connection attempts (with retries, seconds) rather than
every request.

The client address is ``REMOTE_ADDR``. Behind reverse proxies, ``TRUSTED_PROXIES``
says how many: the address is then the one the outermost trusted proxy appended
to ``X-Forwarded-For`` (anything a client wrote there itself comes before it).
IPv6 clients are counted by their /64, the block one subscriber holds.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from huey.contrib.djhuey import HUEY
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from common.clients import client_address
from config.rates import Rate, parse_rate
from merchants.keys import api_key_hash

logger = logging.getLogger(__name__)

REDIS_PAUSE_SECONDS = 5.0
_redis_paused_until = 0.0  # time.monotonic(); limiters fail open without calling Redis until then


@dataclass(frozen=True)
class Window:
    """One policy's count in its current window, as the RateLimit fields report it."""

    policy: str
    rate: Rate
    used: int
    resets_in: float  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(self.rate.limit - self.used, 0)

    @property
    def reset_seconds(self) -> int:
        return max(math.ceil(self.resets_in), 1)


def _rate(setting: str) -> Rate | None:
    return parse_rate(getattr(settings, setting), setting)


def _window(policy: str, subject: str, rate: Rate, *, count: bool) -> Window | None:
    """Count one request against ``subject`` (or only read the count); None when Redis is unreachable."""
    global _redis_paused_until
    if time.monotonic() < _redis_paused_until:
        return None
    now = time.time()
    index = int(now // rate.period)
    key = f"{HUEY.name}:rate:{policy}:{subject}:{index}"
    try:
        conn = HUEY.storage.conn
        if count:
            pipe = conn.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, rate.period + 1)
            used = int(pipe.execute()[0])
        else:
            used = int(conn.get(key) or 0)
    except Exception:
        _redis_paused_until = time.monotonic() + REDIS_PAUSE_SECONDS
        logger.warning("rate limits not enforced for %ss: Redis unreachable", REDIS_PAUSE_SECONDS, exc_info=True)
        return None
    return Window(policy, rate, used, (index + 1) * rate.period - now)


def _remember(request, window: Window) -> None:
    """Keep the window on the request; ``add_headers`` puts it on the response."""
    windows = getattr(request, "rate_limit_windows", None)
    if windows is None:
        windows = []
        request.rate_limit_windows = windows
    windows.append(window)


def add_headers(request, response) -> None:
    """RateLimit-Policy and RateLimit for each policy that counted this request."""
    windows = getattr(request, "rate_limit_windows", None)
    if not windows:
        return
    response["RateLimit-Policy"] = ", ".join(f'"{w.policy}";q={w.rate.limit};w={w.rate.period}' for w in windows)
    response["RateLimit"] = ", ".join(f'"{w.policy}";r={w.remaining};t={w.reset_seconds}' for w in windows)


class _PerKeyThrottle(BaseThrottle):
    policy: str
    setting: str

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request, view) -> bool:
        rate = _rate(self.setting)
        if rate is None or request.auth is None:
            return True
        window = _window(self.policy, api_key_hash(request.auth)[:32], rate, count=True)
        if window is None:
            return True
        _remember(request, window)
        if window.used <= rate.limit:
            return True
        self._wait = window.reset_seconds
        return False

    def wait(self) -> int | None:
        return self._wait


class PayoutRateThrottle(_PerKeyThrottle):
    policy = "payouts"
    setting = "PAYOUT_RATE_LIMIT"


class ReadRateThrottle(_PerKeyThrottle):
    policy = "reads"
    setting = "READ_RATE_LIMIT"


# --- wrong API keys per client address ---

AUTH_POLICY = "auth"
_AUTH_SETTING = "AUTH_FAILURE_RATE_LIMIT"


def _address_subject(request) -> str:
    return hashlib.sha256(client_address(request).encode()).hexdigest()[:32]


def auth_attempt_allowed(request) -> None:
    """Before a key is looked up: refuse (429) when this address has used up its budget of wrong keys."""
    rate = _rate(_AUTH_SETTING)
    if rate is None:
        return
    window = _window(AUTH_POLICY, _address_subject(request), rate, count=False)
    if window is not None and window.used >= rate.limit:
        _remember(request, window)
        raise Throttled(wait=window.reset_seconds)


def auth_failure(request) -> None:
    """Count a wrong key from this address; 429 instead of 401 if it went over the budget."""
    rate = _rate(_AUTH_SETTING)
    if rate is None:
        return
    window = _window(AUTH_POLICY, _address_subject(request), rate, count=True)
    if window is None:
        return
    _remember(request, window)
    if window.used > rate.limit:  # requests that raced past auth_attempt_allowed
        raise Throttled(wait=window.reset_seconds)
