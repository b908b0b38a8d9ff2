"""Rate limits written as ``N/period`` ("100/s", "20/m", "5/10s", "1000/h") or ``off``.

Settings parse every rate variable when the process starts, so a value that
cannot be enforced stops the process with a message naming the variable,
instead of failing on each request. Nothing here reads settings or imports the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*")
OFF = {"off", "none"}


@dataclass(frozen=True)
class Rate:
    limit: int  # requests allowed per window, at least 1
    period: int  # the window's length in seconds, at least 1


@lru_cache(maxsize=64)
def parse_rate(value: str, name: str) -> Rate | None:
    """ "100/s" → Rate(100, 1); "5/10s" → Rate(5, 10); "off" → None. Anything else raises, naming ``name``."""
    text = value.strip().lower()
    if text in OFF:
        return None
    match = _RATE.fullmatch(text)
    if match and match.group(3) in _PERIODS:
        limit, multiple = int(match.group(1)), int(match.group(2) or 1)
        if limit >= 1 and multiple >= 1:
            return Rate(limit, multiple * _PERIODS[match.group(3)])
    raise ImproperlyConfigured(
        f"{name} must be a number of requests of at least 1 per period, like 100/s, 20/m, 5/10s or 1000/h,"
        f" or off to disable it; got {value!r}"
    )
