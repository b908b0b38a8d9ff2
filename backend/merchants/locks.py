"""The one lock of money: the merchant's row. Every money transaction takes it, first.

``merchant_lock`` is the helper; ``merchant_lock_for_payout`` is the same lock
for ``payout_create``, returning with it an id for the new payout and the
database's time (one round trip on the hot path). Both live here, below
payouts, so merchant credits and payouts take the lock the same way.

Lock order, everywhere: the merchant row first, then any payout row of that
merchant. The merchant lock is ``SELECT ... FOR NO KEY UPDATE``: it excludes
every other balance change of the merchant (they take the same lock, and so do
the balance triggers' UPDATEs), while inserts of rows that reference the
merchant, which take ``FOR KEY SHARE`` on it, go on unblocked. Reads never
lock.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db import connection

from common.metrics import MERCHANT_LOCK_WAIT_SECONDS
from merchants.models import Merchant


def merchant_lock(*, merchant_id: int) -> Merchant:
    """Lock the merchant's row for the rest of the transaction and return it fresh.

    Must be called inside ``transaction.atomic`` and before any other write of
    the transaction. The query runs here (``get`` evaluates it), so the lock is
    held when this returns; the balances it returns are the committed ones.
    """
    assert connection.in_atomic_block, "merchant_lock needs an open transaction"
    started = time.perf_counter()
    merchant = (
        Merchant.objects.select_for_update(no_key=True).only("id", "available_paise", "held_paise").get(pk=merchant_id)
    )
    MERCHANT_LOCK_WAIT_SECONDS.observe(time.perf_counter() - started)
    return merchant


_LOCK_WITH_NEXT_ID = """
SELECT available_paise, nextval(pg_get_serial_sequence('payouts_payout', 'id')), now()
  FROM merchants_merchant
 WHERE id = %s
   FOR NO KEY UPDATE
"""


def merchant_lock_for_payout(*, merchant_id: int) -> tuple[int, int, datetime]:
    """``merchant_lock`` for ``payout_create``: the same lock, and with it an id for the payout.

    Returns (available_paise, next payout id, the database's time) in one
    round trip. Anything else
    the transaction reads must be read by a later statement: a statement that
    waited for this lock re-reads only the locked row when it gets it, so a
    join here would see other tables as they were before the wait.
    """
    assert connection.in_atomic_block, "merchant_lock_for_payout needs an open transaction"
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(_LOCK_WITH_NEXT_ID, [merchant_id])
        MERCHANT_LOCK_WAIT_SECONDS.observe(time.perf_counter() - started)
        row = cursor.fetchone()
    if row is None:
        raise Merchant.DoesNotExist(f"merchant {merchant_id}")
    return row[0], row[1], row[2]
