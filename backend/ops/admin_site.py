"""The operators' admin site: staff only, with a TOTP second factor when ``DEBUG`` is off.

Who gets in (``has_permission``, checked on every admin page):

* an active staff user (``is_staff``) that belongs to no merchant: a
  merchant's user never enters, whatever flags it carries;
* when ``DEBUG`` is off, only a session verified with one of the user's
  confirmed TOTP devices (django-otp; ``manage.py totp_enroll --email E``
  registers one and prints its ``otpauth://`` URI). The sign-in form then
  asks for the code; a staff user without a device cannot sign in at all.

With ``DEBUG`` on (development), the password alone is enough and the code is
not asked for. The session is Django's, with the same cookie settings as the
dashboard's (HttpOnly, SameSite=Lax, Secure when ``DEBUG`` is off).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class OperatorsAdminSite(OTPAdminSite):
    site_header = "Payout engine operations"
    site_title = "Payout engine operations"
    index_title = "Operations"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    @staticmethod
    def second_factor_required() -> bool:
        return not settings.DEBUG

    @property
    def login_form(self):
        return OTPAdminAuthenticationForm if self.second_factor_required() else AdminAuthenticationForm

    @property
    def login_template(self):
        return "otp/admin111/login.html" if self.second_factor_required() else None

    # Plurals Django would spell "entrys": the index and the breadcrumbs say these instead.
    PLURALS = {"LedgerEntry": "Ledger entries", "Delivery": "Deliveries", "ApiKey": "API keys"}

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            for model in app["models"]:
                model["name"] = self.PLURALS.get(model["object_name"], model["name"])
        return app_list

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff) or getattr(user, "merchant_id", None) is not None:
            return False
        return not self.second_factor_required() or user.is_verified()
