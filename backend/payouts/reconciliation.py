"""Reconciliation with the bank: the engine's books against the bank's.

Two ways a difference is found, and neither is ever dropped:

* As it happens: an answer from the bank that contradicts a payout (settled
  for a payout the engine failed, declined for a completed one, another
  amount or account) is recorded by ``incident_record``: stored as a
  ``ReconciliationIncident``, logged at ERROR, listed by
  ``manage.py reconciliation_incidents``.
* By audit: ``bank_reconcile`` compares every payout with the bank's
  statement (invariant 6 of CONTRACT §4, run by ``check_ledger``): every
  completed payout settled at the bank for its amount, no failed payout
  settled, and no settled reference the engine does not know. Each
  difference is a violation, and is recorded as an incident too.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction

from bank import gateway as bank
from common import metrics
from payouts.models import Payout, ReconciliationIncident

logger = logging.getLogger(__name__)

Kind = ReconciliationIncident.Kind

# Every kind's series exists from the start at zero, so alerts see it before the first incident.
for _kind in Kind.values:
    metrics.RECONCILIATION_INCIDENTS.labels(kind=_kind)


def incident_record(
    *,
    kind: str,
    reference: str,
    detail: str,
    payout: Payout | None = None,
    bank_state: str = "",
    bank_amount_paise: int | None = None,
) -> bool:
    """Record an incident once per (reference, kind); returns whether it is new."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO payouts_reconciliationincident
                   (merchant_id, payout_id, reference, kind, detail, bank_state, bank_amount_paise, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (reference, kind) DO NOTHING
            RETURNING id
            """,
            [
                payout.merchant_id if payout else None,
                payout.id if payout else None,
                reference,
                kind,
                detail,
                bank_state,
                bank_amount_paise,
            ],
        )
        new = cursor.fetchone() is not None
    if new:
        logger.error("reconciliation incident %s for %s: %s", kind, reference, detail)
        # Once the incident is committed (at once outside a transaction).
        transaction.on_commit(metrics.RECONCILIATION_INCIDENTS.labels(kind=kind).inc)
    return new


def bank_reconcile(gateway: bank.Gateway) -> list[str]:
    """Compare every final payout with the bank's statement; returns the differences.

    Payouts in flight are left out: the bank may settle or cancel them yet.
    """
    # The payouts first, then the statement: a payout final in this snapshot
    # had its answer from the bank before, so the statement read after shows it.
    payouts = {
        reference: (payout_id, merchant_id, status, amount)
        for payout_id, merchant_id, reference, status, amount in Payout.objects.values_list(
            "id", "merchant_id", "reference", "status", "amount_paise"
        ).iterator(chunk_size=10_000)
    }
    statement = {line.reference: line for line in gateway.statement()}
    differences: list[tuple[str, str, str, int | None]] = []
    for reference, (payout_id, merchant_id, status, amount) in payouts.items():
        line = statement.get(reference)
        settled = line is not None and line.state == bank.SETTLED
        who = f"payout {payout_id} of merchant {merchant_id} ({reference})"
        if status == Payout.Status.COMPLETED and not settled:
            state = line.state if line else "no record"
            differences.append(
                (Kind.NOT_SETTLED_AT_BANK, reference, f"{who} is completed but the bank has {state}", None)
            )
        elif status == Payout.Status.COMPLETED and line is not None and line.amount_paise != amount:
            differences.append(
                (
                    Kind.AMOUNT_MISMATCH,
                    reference,
                    f"{who} completed for {amount} paise; the bank settled {line.amount_paise}",
                    line.amount_paise,
                )
            )
        elif status == Payout.Status.FAILED and settled:
            assert line is not None
            differences.append(
                (
                    Kind.SETTLED_AFTER_FAILURE,
                    reference,
                    f"{who} failed and was refunded, but the bank settled it for {line.amount_paise} paise",
                    line.amount_paise,
                )
            )
    unknown = [ref for ref, line in statement.items() if line.state == bank.SETTLED and ref not in payouts]
    created_since = set(Payout.objects.filter(reference__in=unknown).values_list("reference", flat=True))
    for reference in unknown:
        line = statement[reference]
        if reference not in created_since:
            differences.append(
                (
                    Kind.UNKNOWN_REFERENCE,
                    reference,
                    f"the bank settled {line.amount_paise} paise for {reference}, which is no payout of ours",
                    line.amount_paise,
                )
            )
    violations = []
    for kind, reference, detail, bank_amount in differences:
        violations.append(f"{detail} (invariant 6)")
        known = payouts.get(reference)
        payout = (
            Payout(id=known[0], merchant_id=known[1], reference=reference, status=known[2], amount_paise=known[3])
            if known
            else None
        )
        incident_record(
            kind=kind,
            reference=reference,
            detail=detail,
            payout=payout,
            bank_state=statement[reference].state if reference in statement else "",
            bank_amount_paise=bank_amount,
        )
    return violations
