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

Failed sign-ins (a wrong password or a wrong code) are recorded as the API's
are (``login_failed`` security events) and share its throttle: more than
``LOGIN_MAX_FAILURES`` for one email or one client address within the window,
and the admin answers 429 until enough of them have aged out.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpResponse
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from common.clients import client_address
from merchants.models import SecurityEvent, User
from merchants.selectors import login_retry_after
from merchants.services import security_event_record

# Form errors that only ask for the second step of a right password: not a failed guess.
_NEXT_STEP = {"token_required", "device_required"}


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

    def login(self, request, extra_context=None):
        if request.method != "POST":
            return super().login(request, extra_context)
        email = str(request.POST.get("username", "")).strip().lower()[:254]
        address = client_address(request)
        wait = login_retry_after(
            email=email,
            client_address=address,
            max_failures=settings.LOGIN_MAX_FAILURES,
            window_seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS,
        )
        if wait is not None:
            response = HttpResponse("Too many failed sign-ins: try again later.\n", status=429)
            response["Content-Type"] = "text/plain; charset=utf-8"
            response["Retry-After"] = str(wait)
            return response
        response = super().login(request, extra_context)
        form = getattr(response, "context_data", {}).get("form") if response.status_code == 200 else None
        if form is not None and form.errors:
            codes = {error.code for errors in form.errors.as_data().values() for error in errors}
            if codes - _NEXT_STEP:
                known = User.objects.filter(email=email).values_list("merchant_id", flat=True).first()
                security_event_record(
                    kind=SecurityEvent.Kind.LOGIN_FAILED,
                    merchant_id=known,
                    email=email,
                    client_address=address,
                    description="Admin sign-in refused: wrong email, password or code",
                )
        return response

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff) or getattr(user, "merchant_id", None) is not None:
            return False
        return not self.second_factor_required() or user.is_verified()
