"""Per-API-key rate limit on POST /payouts (PAYOUT_RATE_LIMIT, e.g. "100/s").

A fixed window counted in Redis, shared by every API process. If Redis is
unreachable the limit is not enforced (fail open): taking payouts matters more
than counting them, and the merchant lock still serialises each merchant.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from huey.contrib.djhuey import HUEY
from rest_framework.throttling import BaseThrottle

from config.rates import parse_rate
from payouts.selectors import api_key_hash

logger = logging.getLogger(__name__)


class PayoutRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        rate = parse_rate(settings.PAYOUT_RATE_LIMIT, "PAYOUT_RATE_LIMIT")
        if rate is None or request.auth is None:
            return True
        limit, period = rate.limit, rate.period
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
