"""Create a merchant with one bank account and one customer-payment credit.

Prints {"id", "name", "api_key", "bank_account_ids"} as one JSON object. The
API key is shown only here; the database keeps its hash.
"""

import json
import secrets

from django.core.management.base import BaseCommand, CommandError

from merchants import services


class Command(BaseCommand):
    help = "Create a merchant with a bank account and an opening customer payment; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--credit-paise", type=int, required=True, help="opening customer payment, in paise")

    def handle(self, *args, name, credit_paise, **options):
        name = name.strip()
        if not name or len(name) > 200:
            raise CommandError("--name must be 1 to 200 characters")
        if not 0 <= credit_paise <= services.MAX_AMOUNT_PAISE:
            raise CommandError("--credit-paise must be a whole number of paise, 0 or more")
        created = services.merchant_create(
            name=name,
            bank_accounts=[
                {
                    "holder_name": name,
                    "ifsc": "HDFC0000001",
                    "account_number": str(secrets.randbelow(9 * 10**11) + 10**11),
                }
            ],
        )
        if credit_paise > 0:
            services.merchant_credit(
                merchant_id=created.id, amount_paise=credit_paise, description="Opening customer payment"
            )
        self.stdout.write(
            json.dumps(
                {
                    "id": created.id,
                    "name": created.name,
                    "api_key": created.api_key,
                    "bank_account_ids": created.bank_account_ids,
                }
            )
        )
