"""The audit: every money invariant, checked on one consistent snapshot.

Invariants (stated here once; ``manage.py check_ledger`` and the periodic
``ops.tasks.ledger_audit_task`` run ``ledger_audit``; the triggers of
ledger/migrations/0001_initial.py and payouts/migrations/0001_initial.py make
most of them hold by construction):

1. ``available_paise`` = sum of the merchant's ledger amounts ≥ 0.
2. ``held_paise`` = sum of the amounts of its pending and processing payouts.
3. total payments = available + held + sum of completed payouts.
4. Each payout has one ``payout`` debit; each failed payout one ``reversal``.
5. Entries are never updated, deleted or truncated: the triggers that refuse it,
   and those that keep the balances, are installed and enabled.
6. The bank agrees (``payouts.reconciliation.bank_reconcile``, run by
   ``check_ledger`` too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection, transaction


def invariants() -> list[str]:
    """The numbered invariants of this module's docstring, one line each: what ``check_ledger`` prints."""
    stated: list[str] = []
    for line in (__doc__ or "").splitlines():
        if re.match(r"\d\. ", line):
            stated.append(line.replace("``", ""))
        elif stated and line.startswith("   "):
            stated[-1] += " " + line.strip().replace("``", "")
    return stated


@dataclass
class Audit:
    merchants: int = 0
    entries: int = 0
    payouts: int = 0
    violations: list[str] = field(default_factory=list)


_BALANCES = """
WITH l AS (
    SELECT merchant_id, count(*) AS entries, sum(amount_paise) AS total,
           coalesce(sum(amount_paise) FILTER (WHERE kind = 'payment'), 0) AS payments
      FROM ledger_ledgerentry GROUP BY merchant_id
), p AS (
    SELECT merchant_id, count(*) AS payouts,
           coalesce(sum(amount_paise) FILTER (WHERE status IN ('pending', 'processing')), 0) AS held,
           coalesce(sum(amount_paise) FILTER (WHERE status = 'completed'), 0) AS completed
      FROM payouts_payout GROUP BY merchant_id
)
SELECT m.id, m.available_paise, m.held_paise,
       coalesce(l.entries, 0), coalesce(l.total, 0), coalesce(l.payments, 0),
       coalesce(p.payouts, 0), coalesce(p.held, 0), coalesce(p.completed, 0)
  FROM merchants_merchant m
  LEFT JOIN l ON l.merchant_id = m.id
  LEFT JOIN p ON p.merchant_id = m.id
 ORDER BY m.id
"""

_POSTINGS = """
SELECT p.id, p.merchant_id, p.status,
       count(e.id) FILTER (WHERE e.kind = 'payout' AND e.amount_paise = -p.amount_paise
                             AND e.merchant_id = p.merchant_id) AS debits,
       count(e.id) FILTER (WHERE e.kind = 'reversal' AND e.amount_paise = p.amount_paise
                             AND e.merchant_id = p.merchant_id) AS reversals,
       count(e.id) AS entries
  FROM payouts_payout p
  LEFT JOIN ledger_ledgerentry e ON e.payout_id = p.id
 GROUP BY p.id
HAVING count(e.id) FILTER (WHERE e.kind = 'payout' AND e.amount_paise = -p.amount_paise
                             AND e.merchant_id = p.merchant_id) <> 1
    OR count(e.id) FILTER (WHERE e.kind = 'reversal' AND e.amount_paise = p.amount_paise
                             AND e.merchant_id = p.merchant_id) <> CASE WHEN p.status = 'failed' THEN 1 ELSE 0 END
    OR count(e.id) <> CASE WHEN p.status = 'failed' THEN 2 ELSE 1 END
 ORDER BY p.id
"""

_GUARDS = """
SELECT t.tgname, t.tgenabled
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relname = %s AND t.tgname = ANY(%s)
"""

# The triggers that make invariants 1, 2 and 5 hold by construction.
_REQUIRED_TRIGGERS = {
    "ledger_ledgerentry": [
        "ledger_entry_append_only",
        "ledger_entry_apply",
        "ledger_entry_postings",
        "ledger_entry_no_truncate",
    ],
    "payouts_payout": ["payout_guard", "payout_hold", "payout_postings", "payout_never_deleted", "payout_no_truncate"],
    "payouts_payoutevent": ["payout_event_append_only", "payout_event_no_truncate"],
    "merchants_merchant": ["merchant_balance_guard"],
    # Money in: one credit per reference, append-only (merchants/migrations/0002_payment_credit.py).
    "merchants_paymentcredit": [
        "payment_credit_append_only",
        "payment_credit_no_truncate",
        "payment_credit_matches_entry",
    ],
}


def ledger_audit() -> Audit:
    """Check every money invariant for every merchant, on one consistent snapshot."""
    audit = Audit()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SET LOCAL statement_timeout = 0")  # a full audit of a large ledger may take a while
        cursor.execute(_BALANCES)
        for merchant_id, available, held, entries, total, payments, payouts, in_flight, completed in cursor:
            audit.merchants += 1
            audit.entries += entries
            audit.payouts += payouts
            who = f"merchant {merchant_id}"
            if available != total:
                audit.violations.append(f"{who}: available_paise {available} != ledger sum {total} (invariant 1)")
            if total < 0:
                audit.violations.append(f"{who}: ledger sum {total} is negative (invariant 1)")
            if held != in_flight:
                audit.violations.append(f"{who}: held_paise {held} != in-flight payouts {in_flight} (invariant 2)")
            # As the API shows it: the kept balances, not the sums behind them.
            if payments != available + held + completed:
                audit.violations.append(
                    f"{who}: payments {payments} != available {available} + held {held} "
                    f"+ completed {completed} (invariant 3)"
                )
        cursor.execute(_POSTINGS)
        for payout_id, merchant_id, status, debits, reversals, entries in cursor:
            audit.violations.append(
                f"payout {payout_id} of merchant {merchant_id} ({status}): {debits} debits, "
                f"{reversals} reversals, {entries} entries in all (invariant 4)"
            )
        for table, names in _REQUIRED_TRIGGERS.items():
            cursor.execute(_GUARDS, [table, names])
            enabled = {name for name, state in cursor if state in ("O", "A")}
            for name in names:
                if name not in enabled:
                    audit.violations.append(f"trigger {name} on {table} is missing or disabled (invariant 5)")
    return audit
