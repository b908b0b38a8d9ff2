"""The periodic audit in the worker: ``ledger_audit_task``."""

from __future__ import annotations

from bank import gateway as bank
from ops import tasks
from payouts import services
from payouts.models import Payout

FAILURE = bank.SimulatedBank(outcome="failure")


def test_the_worker_audits_the_ledger_and_the_bank_and_logs_each_violation_at_error(payout, owner_sql, caplog):
    merchant, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=FAILURE)
    assert tasks.ledger_audit_run() == 0
    owner_sql(
        "UPDATE bank_simulatedtransfer SET state = 'settled' WHERE reference = %s",
        [Payout.objects.get(pk=payout_id).reference],
    )

    assert tasks.ledger_audit_run() == 1

    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and "ledger check" in r.getMessage()]
    assert len(errors) == 1
    assert f"payout {payout_id} of merchant {merchant.id}" in errors[0] and "(invariant 6)" in errors[0]
