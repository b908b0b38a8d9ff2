"""Signing secrets and Standard Webhooks signatures.

A secret is ``whsec_`` + base64 of 32 random bytes; the HMAC key is the
decoded bytes. A delivery is signed over ``"{id}.{timestamp}.{body}"`` with
HMAC-SHA256 and sent as ``webhook-signature: v1,<base64>`` (one ``v1,…`` per
active secret, space separated, while a rotated secret overlaps the new one).

The signer is these few lines on the standard library on purpose: the tests
verify its output with the ``standardwebhooks`` package, an independent
implementation, so a mistake here cannot hide behind the same code on both
sides.

Secrets at rest: the engine must sign with the secret itself, so it cannot
keep only a hash. It keeps the secret sealed with a key derived from
``SECRET_KEY`` (HMAC-SHA256 in counter mode as the keystream, then an
HMAC-SHA256 tag over nonce and ciphertext: encrypt-then-MAC from the standard
library alone), so a database dump without the application's settings does
not reveal them. Changing ``SECRET_KEY`` makes stored secrets unreadable:
rotate every endpoint's secret after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

PREFIX = "whsec_"
_SEALED_PREFIX = "v1:"


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` for one secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(signature(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_)


# --- sealing secrets at rest -----------------------------------------------------------


def _keys() -> tuple[bytes, bytes]:
    root = hashlib.sha256(b"webhook-secrets:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(root, b"encrypt", hashlib.sha256).digest(), hmac.new(root, b"mac", hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def seal(secret: str) -> str:
    enc_key, mac_key = _keys()
    nonce = secrets.token_bytes(16)
    plain = secret.encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(enc_key, nonce, len(plain)), strict=True))
    tag = hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()
    return _SEALED_PREFIX + base64.b64encode(nonce + tag + cipher).decode()


class SealBroken(Exception):
    """A sealed secret that this SECRET_KEY did not seal, or that was altered."""


def unseal(sealed: str) -> str:
    enc_key, mac_key = _keys()
    raw = base64.b64decode(sealed.removeprefix(_SEALED_PREFIX))
    nonce, tag, cipher = raw[:16], raw[16:48], raw[48:]
    if not hmac.compare_digest(tag, hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()):
        raise SealBroken("the secret was sealed under another SECRET_KEY or altered")
    return bytes(a ^ b for a, b in zip(cipher, _keystream(enc_key, nonce, len(cipher)), strict=True)).decode()
