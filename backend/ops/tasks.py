"""Operations' periodic work: the ledger audit in the worker, every 5 minutes."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from bank import gateway as bank
from common import metrics
from ledger.audit import ledger_audit
from payouts.reconciliation import bank_reconcile

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/5"))
def ledger_audit_task() -> int:
    """check_ledger in the worker: every money invariant and the bank's statement, every 5 minutes.

    Each violation is logged at ERROR (a reconciliation difference is also
    recorded as an incident). Returns how many there were.
    """
    return ledger_audit_run()


def ledger_audit_run() -> int:
    audit = ledger_audit()
    violations = [*audit.violations, *bank_reconcile(bank.default_gateway())]
    for violation in violations:
        logger.error("ledger check: VIOLATION %s", violation)
    logger.info(
        "ledger check: %d merchants, %d entries, %d payouts, %d violations",
        audit.merchants,
        audit.entries,
        audit.payouts,
        len(violations),
    )
    metrics.LEDGER_CHECK_VIOLATIONS.set(len(violations))
    return len(violations)
