"""Give a staff user a TOTP device for the admin's second factor; print its otpauth:// URI once.

    manage.py totp_enroll --email ops@example.com [--replace]

Add the URI to an authenticator app (paste it, or make a QR code of it
offline); the app then shows the six-digit code the admin's sign-in asks for
when DEBUG is off. A user that already has a device keeps it unless
``--replace`` is given (a lost phone): then its devices are removed first.
Only staff without a merchant can be enrolled.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import User


class Command(BaseCommand):
    help = "Enroll a staff user's TOTP device for the admin and print its otpauth:// URI."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--replace", action="store_true", help="remove the user's devices first")

    def handle(self, *args, email: str, replace: bool, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"no user with the email {email!r} (manage.py createsuperuser makes one)")
        if not user.is_staff or user.merchant_id is not None:
            raise CommandError(f"{user.email} is not staff: only staff without a merchant use the admin")
        with transaction.atomic():
            devices = TOTPDevice.objects.select_for_update().filter(user=user)
            if devices.exists():
                if not replace:
                    raise CommandError(f"{user.email} already has a TOTP device; --replace removes it first")
                devices.delete()
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        self.stdout.write(device.config_url)
