from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class PayoutsConfig(AppConfig):
    name = "payouts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The worker decrypts bank account numbers to send them to the bank: with a
        # key generated on this host it could read none of those the API wrote.
        if settings.COMMAND == "run_huey" and not settings.DEBUG and settings.BANK_ACCOUNT_ENCRYPTION_KEY_GENERATED:
            raise ImproperlyConfigured("BANK_ACCOUNT_ENCRYPTION_KEY must be set when DEBUG is off")
