"""WSGI entry point for gunicorn.

The web process is the one that faces the internet, so it refuses to start
with DEBUG off and no SECRET_KEY or BANK_ACCOUNT_ENCRYPTION_KEY configured (a generated key would differ per
host and is not a secret anyone chose).
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (settings are configured by now)

if not settings.DEBUG and settings.SECRET_KEY_GENERATED:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
if not settings.DEBUG and settings.BANK_ACCOUNT_ENCRYPTION_KEY_GENERATED:
    raise ImproperlyConfigured("BANK_ACCOUNT_ENCRYPTION_KEY must be set when DEBUG is off")
