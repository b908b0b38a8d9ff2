"""Per-API-key rate limit on POST /payouts (PAYOUT_RATE_LIMIT, e.g. "100/s").

A fixed window counted in Redis, shared by every API process. If Redis is
unreachable the limit is not enforced (fail open): taking payouts matters more
than counting them, and the merchant lock still serialises each merchant.
"""

from __future__ import annotations

import logging
import math
import re
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from huey.contrib.djhuey import HUEY
from rest_framework.throttling import BaseThrottle

from payouts.selectors import api_key_hash

logger = logging.getLogger(__name__)
_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int] | None:
    """ "100/s" → (100, 1); "off" → None."""
    if rate.lower() in {"off", "none", "0"}:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*", rate.lower())
    if not match or match.group(3) not in _PERIODS:
        raise ImproperlyConfigured(f"PAYOUT_RATE_LIMIT must look like 100/s or off, not {rate!r}")
    return int(match.group(1)), int(match.group(2) or 1) * _PERIODS[match.group(3)]


class PayoutRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        parsed = parse_rate(settings.PAYOUT_RATE_LIMIT)
        if parsed is None or request.auth is None:
            return True
        limit, period = parsed
        now = time.time()
        window = int(now // period)
        key = f"{HUEY.name}:rate:{api_key_hash(request.auth)[:32]}:{window}"
        try:
            pipe = HUEY.storage.conn.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, period + 1)
            count = pipe.execute()[0]
        except Exception:
            logger.warning("rate limit not enforced: Redis unreachable", exc_info=True)
            return True
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None
