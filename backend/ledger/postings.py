"""The ledger's postings: the only code that writes ``ledger_ledgerentry``.

A merchant's money is the ledger: ``payment`` credits (+) from its customers,
a ``payout`` debit (-) when a payout is requested (the funds are held from
then on), and a ``reversal`` credit (+) when a payout fails. Rows are never
updated or deleted (a trigger refuses it), so history is the audit. The
invariants this keeps are stated once, in ``ledger.audit``.

``Merchant.available_paise`` is the running sum, maintained by a trigger on
insert in the same transaction, so reading a balance costs one row however
long the history is. Posting requires the merchant lock
(``merchants.locks.merchant_lock``): the balance check and the posting must
see the same balance.

Three postings, and nothing else writes an entry (``grep ledger_``):

* ``ledger_payment_credit``: a customer paid the merchant (+);
* ``ledger_payout_hold``: a payout's funds are held when it is requested (-);
* ``ledger_payout_return``: a failed payout's funds come back (+).

The two payout postings are steps of the single statement that changes the
payout (``payout_create``, ``payout_fail`` in payouts/services.py), so a
payout and its money move together, in one round trip under the merchant lock.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from ledger.models import LedgerEntry

# The largest amount a posting may carry: PostgreSQL's bigint.
MAX_AMOUNT_PAISE = 2**63 - 1


def ledger_payment_credit(*, merchant_id: int, amount_paise: int, description: str, now: datetime) -> LedgerEntry:
    """A customer's payment to the merchant: a ``payment`` credit. Caller holds ``merchant_lock(merchant_id)``."""
    return _post(
        merchant_id=merchant_id,
        kind=LedgerEntry.Kind.PAYMENT,
        amount_paise=amount_paise,
        description=description,
        now=now,
    )


def ledger_payout_hold(*, payout: str) -> str:
    """The debit that holds a payout's funds, as a step of the statement that creates the payout.

    ``payout`` names the statement's step that inserted it and returns its
    ``id, merchant_id, amount_paise, reference, created_at``. Caller holds the
    merchant lock and has checked the available balance; the trigger refuses
    the debit anyway if it would overdraw.
    """
    return f"""debit AS (
    INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at)
    SELECT merchant_id, 'payout', -amount_paise, 'Payout ' || reference, id, created_at FROM {payout}
)"""


def ledger_payout_return(*, payout: str, when: str) -> str:
    """The credit that returns a failed payout's funds, as a step of the statement that fails it.

    ``payout`` names the step that updated it and returns ``id, merchant_id,
    amount_paise, reference, now``; ``when`` is the SQL condition under which
    it failed. Caller holds the merchant lock.
    """
    return f"""reversal AS (
    INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at)
    SELECT merchant_id, 'reversal', amount_paise, 'Payout ' || reference || ' failed; funds returned', id, now
      FROM {payout}
     WHERE {when}
)"""


def _post(
    *,
    merchant_id: int,
    kind: str,
    amount_paise: int,
    description: str,
    now: datetime,
    payout_id: int | None = None,
) -> LedgerEntry:
    """Append one entry. Caller holds ``merchant_lock(merchant_id)``.

    The database adds ``amount_paise`` to the merchant's available balance in
    the same statement and refuses it if that would go below zero.
    """
    assert connection.in_atomic_block, "ledger postings happen inside the caller's transaction"
    return LedgerEntry.objects.create(
        merchant_id=merchant_id,
        kind=kind,
        amount_paise=amount_paise,
        description=description,
        payout_id=payout_id,
        created_at=now,
    )
