"""Bank account numbers at rest: Fernet-encrypted (AES-128-CBC with HMAC-SHA256), never stored in clear.

A dump of the database, a backup or a read replica shows a token and the last
four digits, nothing more. The key is ``BANK_ACCOUNT_ENCRYPTION_KEY``
(several, comma separated, during a rotation: the first encrypts, any one
decrypts). Only the worker decrypts, to send a transfer to the bank and to
check the bank's answer against it, outside any lock.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@cache
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _box(tuple(settings.BANK_ACCOUNT_ENCRYPTION_KEYS))


def account_number_encrypt(account_number: str) -> str:
    """The token stored for the number (a different one each time: equal numbers do not show)."""
    return _current().encrypt(account_number.encode()).decode()


def account_number_decrypt(token: str) -> str:
    """The number in clear. Raises ``cryptography.fernet.InvalidToken`` if no configured key opened it."""
    return _current().decrypt(token.encode()).decode()
