"""Create a merchant with one bank account and one customer-payment credit.

Prints {"id", "name", "api_key", "bank_account_ids"} as one JSON object. The
API key is shown only here; the database keeps its hash. With ``--owner-email``
the merchant also gets its owner, who signs in to the dashboard; without
``--owner-password`` a one-time password is made up and printed in the JSON
(``owner_password``).
"""

import json
import secrets

from django.core.management.base import BaseCommand, CommandError

from common.errors import PayoutError
from merchants import services


class Command(BaseCommand):
    help = "Create a merchant with a bank account and an opening customer payment; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--credit-paise", type=int, required=True, help="opening customer payment, in paise")
        parser.add_argument("--owner-email", help="the email the merchant's owner signs in with")
        parser.add_argument("--owner-password", help="the owner's password (default: a one-time one, printed)")

    def handle(self, *args, name, credit_paise, owner_email=None, owner_password=None, **options):
        name = name.strip()
        if not name or len(name) > 200:
            raise CommandError("--name must be 1 to 200 characters")
        if not 0 <= credit_paise <= services.MAX_AMOUNT_PAISE:
            raise CommandError("--credit-paise must be a whole number of paise, 0 or more")
        if owner_password is not None and owner_email is None:
            raise CommandError("--owner-password needs --owner-email")
        one_time = None
        if owner_email is not None and owner_password is None:
            owner_password = one_time = secrets.token_urlsafe(15)
        try:
            created = self._create(name, owner_email, owner_password)
        except PayoutError as exc:
            raise CommandError(f"--owner-{exc.field or 'email'}: {exc.message}") from exc
        if credit_paise > 0:
            services.merchant_credit(
                merchant_id=created.id, amount_paise=credit_paise, description="Opening customer payment"
            )
        result = {
            "id": created.id,
            "name": created.name,
            "api_key": created.api_key,
            "bank_account_ids": created.bank_account_ids,
        }
        if owner_email is not None:
            result |= {"owner_id": created.owner_id, "owner_email": owner_email.strip().lower()}
        if one_time is not None:
            result["owner_password"] = one_time
        self.stdout.write(json.dumps(result))

    @staticmethod
    def _create(name: str, owner_email: str | None, owner_password: str | None) -> services.NewMerchant:
        return services.merchant_create(
            name=name,
            owner_email=owner_email,
            owner_password=owner_password,
            bank_accounts=[
                {
                    "holder_name": name,
                    "ifsc": "HDFC0000001",
                    "account_number": str(secrets.randbelow(9 * 10**11) + 10**11),
                }
            ],
        )
