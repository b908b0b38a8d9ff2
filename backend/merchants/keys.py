"""API keys: stored as their SHA-256 only, so a database dump reveals no usable key."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def demo_api_key(*, merchant_id: int) -> str:
    """The API key of a demo merchant, derived from SECRET_KEY so none is stored in clear."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-merchant:{merchant_id}".encode(), hashlib.sha256)
    return "sk_demo_" + digest.hexdigest()[:40]
