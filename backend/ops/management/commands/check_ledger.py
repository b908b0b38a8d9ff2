"""Verify every money invariant (stated in ledger/audit.py) and reconcile with the bank; exit 1 on any violation."""

from django.core.management.base import BaseCommand, CommandError

from bank import gateway as bank
from ledger.audit import invariants, ledger_audit
from payouts.reconciliation import bank_reconcile


class Command(BaseCommand):
    help = "Verify the money invariants and reconcile with the bank; exits non-zero on any violation."

    def handle(self, *args, **options):
        audit = ledger_audit()
        audit.violations.extend(bank_reconcile(bank.default_gateway()))
        self.stdout.write(
            f"checked {audit.merchants} merchants, {audit.entries} ledger entries, {audit.payouts} payouts:\n"
            + "\n".join(f"  {invariant}" for invariant in invariants())
        )
        if audit.violations:
            for violation in audit.violations:
                self.stderr.write(f"VIOLATION {violation}")
            raise CommandError(f"{len(audit.violations)} invariant violation(s)")
        self.stdout.write("all invariants hold")
