"""The named locks. Every money transaction takes exactly one: its merchant's.

Lock order, everywhere: the merchant row first, then any payout row of that
merchant. The merchant lock is ``SELECT ... FOR NO KEY UPDATE``: it excludes
every other balance change of the merchant (they take the same lock, and so do
the balance triggers' UPDATEs), while inserts of rows that reference the
merchant, which take ``FOR KEY SHARE`` on it, go on unblocked. Reads never
lock.
"""

from __future__ import annotations

from django.db import connection

from payouts.models import Merchant


def merchant_lock(*, merchant_id: int) -> Merchant:
    """Lock the merchant's row for the rest of the transaction and return it fresh.

    Must be called inside ``transaction.atomic`` and before any other write of
    the transaction. The query runs here (``get`` evaluates it), so the lock is
    held when this returns; the balances it returns are the committed ones.
    """
    assert connection.in_atomic_block, "merchant_lock needs an open transaction"
    return (
        Merchant.objects.select_for_update(no_key=True).only("id", "available_paise", "held_paise").get(pk=merchant_id)
    )
