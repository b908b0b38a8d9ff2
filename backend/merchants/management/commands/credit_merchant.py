"""Credit a customer payment to a merchant, once per reference (CONTRACT §7, "Money in").

Prints the credit as one JSON object, with ``"created": true`` the first time
and ``false`` for a reference already credited (then nothing changes). A
reference credited with another merchant or amount, bad input or an unknown
merchant: a message and exit code 2 (CommandError).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from common.errors import PayoutError
from merchants import services


class Command(BaseCommand):
    help = "Credit a customer payment to a merchant (idempotent on --reference); prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True, help="the merchant's id")
        parser.add_argument("--amount-paise", type=int, required=True, help="the payment, in paise (1 or more)")
        parser.add_argument("--reference", required=True, help="the payment's own reference: 1-64 of A-Za-z0-9_-.:/")
        parser.add_argument("--description", help="shown on the ledger entry (default: Customer payment <ref>)")

    def handle(self, *args, merchant, amount_paise, reference, description=None, **options):
        try:
            credit = services.payment_credit(
                merchant_id=merchant, amount_paise=amount_paise, reference=reference, description=description
            )
        except PayoutError as exc:
            option = {"merchant_id": "merchant", "amount_paise": "amount-paise"}.get(exc.field or "", exc.field)
            raise CommandError(f"--{option}: {exc.message}" if option else exc.message, returncode=2) from exc
        self.stdout.write(json.dumps(services.payment_credit_data(credit.payment) | {"created": credit.created}))
