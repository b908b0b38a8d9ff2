"""Verify every money invariant (stated in ledger/audit.py) and reconcile with the bank; exit 1 on any violation."""

from django.core.management.base import BaseCommand, CommandError

from bank import gateway as bank
from ledger.audit import ledger_audit
from payouts.reconciliation import bank_reconcile


class Command(BaseCommand):
    help = "Verify the money invariants and reconcile with the bank; exits non-zero on any violation."

    def handle(self, *args, **options):
        audit = ledger_audit()
        audit.violations.extend(bank_reconcile(bank.default_gateway()))
        self.stdout.write(
            f"checked {audit.merchants} merchants, {audit.entries} ledger entries, {audit.payouts} payouts:\n"
            "  1. available = ledger sum >= 0\n"
            "  2. held = sum of pending and processing payouts\n"
            "  3. payments = available + held + completed payouts\n"
            "  4. one debit per payout, one reversal per failed payout, none otherwise\n"
            "  5. append-only, no-truncate and balance triggers installed and enabled\n"
            "  6. the bank agrees: completed payouts settled for their amount, failed ones not settled"
        )
        if audit.violations:
            for violation in audit.violations:
                self.stderr.write(f"VIOLATION {violation}")
            raise CommandError(f"{len(audit.violations)} invariant violation(s)")
        self.stdout.write("all invariants hold")
