"""Create a user of a merchant, who signs in to the dashboard with an email and a password.

``--role`` is owner (everything), developer (API keys and webhooks, reads) or
viewer (reads only). Without ``--password`` a one-time password is made up and
printed: it is shown only here (the database keeps an Argon2 hash).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from common.errors import PayoutError
from merchants import services
from merchants.models import Role


class Command(BaseCommand):
    help = "Create a user of a merchant with a role; prints JSON (with the one-time password if none was given)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", type=int, required=True, help="the merchant's id")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="default: a one-time password, printed")

    def handle(self, *args, merchant, email, role, password=None, **options):
        try:
            user = services.user_create(merchant_id=merchant, email=email, role=role, password=password)
        except PayoutError as exc:
            raise CommandError(f"--{exc.field or 'email'}: {exc.message}") from exc
        result = {"id": user.id, "email": user.email, "merchant_id": user.merchant_id, "role": user.role}
        if user.password is not None:
            result["password"] = user.password
        self.stdout.write(json.dumps(result))
